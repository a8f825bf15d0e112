"""PDF attachments of an application, judged by their content (never by name or declared type)."""

from __future__ import annotations

import hashlib
import io
import logging
import unicodedata
from dataclasses import dataclass

from pypdf import PdfReader

from convergence.core.errors import Invalid
from convergence.core.i18n import N_

MAX_FILES = 5
# The whole request body is capped at the upload limit (app.py); each file and all of them together fit in it.
MAX_BYTES = 5 * 1024 * 1024
FILENAME_MAX = 200

# pypdf logs every repair it makes on a damaged file; a refused upload is the user's business, not the log's.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass
class Upload:
    filename: str
    content: bytes


@dataclass
class CheckedAttachment:
    filename: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def is_pdf(content: bytes) -> bool:
    """A real PDF: the `%PDF-` header, and a cross-reference table and trailer that a PDF reader can follow to
    at least one page (a renamed text file or a truncated download fails)."""
    if not content.startswith(b"%PDF-"):
        return False
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        return reader.trailer is not None and len(reader.pages) > 0
    except Exception:  # pypdf raises many kinds on a broken file; every one of them means "not a PDF"
        return False


def clean_filename(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip() or "document.pdf"
    return name[-FILENAME_MAX:]


def check(uploads: list[Upload]) -> list[CheckedAttachment]:
    """The attachments as stored, or 422 on the `attachments` field with the first problem."""
    uploads = [u for u in uploads if u.content or u.filename]
    if len(uploads) > MAX_FILES:
        raise Invalid("At most 5 attachments can be filed.", code="too_many_attachments",
                      fields={"attachments": N_("At most 5 attachments can be filed.")})
    if sum(len(u.content) for u in uploads) > MAX_BYTES:
        raise Invalid("The attachments are limited to 5 MB in all.", code="attachment_too_large",
                      fields={"attachments": N_("The attachments are limited to 5 MB in all.")})
    checked = []
    for upload in uploads:
        if not is_pdf(upload.content):
            raise Invalid("Attachments must be PDF files.", code="attachment_not_pdf",
                          fields={"attachments": N_("Attachments must be PDF files.")},
                          filename=clean_filename(upload.filename or ""))
        checked.append(CheckedAttachment(filename=clean_filename(upload.filename or ""), content=upload.content,
                                         sha256=hashlib.sha256(upload.content).hexdigest()))
    return checked

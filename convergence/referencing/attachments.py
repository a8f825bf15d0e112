"""PDF attachments of an application, judged by their content (never by name or declared type)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from convergence.core.errors import Invalid
from convergence.core.i18n import N_
from convergence.core.uploads import clean_filename, is_pdf

MAX_FILES = 5
# The whole request body is capped at the upload limit (app.py); each file and all of them together fit in it.
MAX_BYTES = 5 * 1024 * 1024


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

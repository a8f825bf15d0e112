"""What an uploaded file really is, judged by its content (never by its name or the type the browser declared),
and the name it is kept under. Shared by every slice that stores uploads (referencing attachments, evidence)."""

from __future__ import annotations

import io
import logging
import unicodedata
import warnings

from PIL import Image
from pypdf import PdfReader

FILENAME_MAX = 200

# pypdf logs every repair it makes on a damaged file; a refused upload is the user's business, not the log's.
logging.getLogger("pypdf").setLevel(logging.ERROR)

# The image formats a browser shows safely, by the name Pillow gives them → their media type.
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
# A "decompression bomb" (a tiny file declaring a huge picture) is refused before any pixel is decoded.
MAX_PIXELS = 40_000_000


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


def image_type(content: bytes) -> str | None:
    """The media type of a PNG, JPEG or WebP picture whose structure Pillow verifies, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=list(IMAGE_TYPES)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                kind = IMAGE_TYPES.get(image.format or "")
                image.verify()
        return kind
    except Exception:  # Pillow raises many kinds on a broken or foreign file; each means "not an image we take"
        return None


def document_type(content: bytes) -> str | None:
    """`application/pdf` or an image type for a document we accept, else None."""
    return "application/pdf" if is_pdf(content) else image_type(content)


def clean_filename(raw: str, default: str = "document.pdf") -> str:
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip() or default
    return name[-FILENAME_MAX:]

"""Input rules for joining: SIREN (Luhn), e-mail, names, and the signed form's PDF content."""

from __future__ import annotations

import re

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def normalise_email(value: object) -> str:
    return str(value or "").strip().lower()


def valid_email(value: str) -> bool:
    return len(value) <= 320 and EMAIL_RE.match(value) is not None


def normalise_siren(value: object) -> str:
    """People type SIRENs with spaces ("732 829 320"); the stored form is the nine digits."""
    return re.sub(r"[\s.\-]", "", str(value or ""))


def valid_siren(value: str) -> bool:
    # ASCII digits only: str.isdigit() also accepts '²' and '٣', which int() then refuses or misreads.
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(value)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def looks_like_pdf(content: bytes) -> bool:
    """Checked by content, not by name or declared type: the header magic and an end-of-file marker."""
    return content.startswith(b"%PDF-") and b"%%EOF" in content[-2048:]

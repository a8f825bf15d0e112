"""Input bounds in one place: integers that fit the database, text without control characters, JSON of a sane
depth. Applied by a guard before any handler runs, and by `parse_int` wherever a form or query string carries a
number. (Python's `str.isdigit()` accepts '²' and '٣', which `int()` then refuses or the database overflows on.)"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from convergence.core.errors import Invalid, NotFound

MAX_INT = 2**63 - 1  # signed 64-bit: PostgreSQL bigint, SQLite integer
MAX_JSON_DEPTH = 32
_DIGITS = re.compile(r"[0-9]{1,19}")
# C0 controls but tab, LF and CR (multi-line text keeps them), DEL, and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def parse_int(raw: Any) -> int | None:
    """A non-negative integer written with ASCII digits that fits 64 bits, else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= MAX_INT else None
    text = str(raw or "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_INT else None


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


class TextProblem(ValueError):
    """Why a text was refused, as an English msgid (translated where it is shown)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean_text(raw: Any, *, max_len: int, multiline: bool = False,
               too_long: str = "This text is too long.") -> str:
    """Text as it will be stored: NFC-normalised and stripped, then checked — control characters refused, line
    breaks refused in a single-line field (a name that ends up in a mail header or a CSV cell), and the length
    counted after normalisation, against the column. Raises `TextProblem`; callers put its message on their
    field. Empty text is returned as "" (whether it is required is the caller's business)."""
    text = unicodedata.normalize("NFC", str(raw if raw is not None else "")).strip()
    if has_control_characters(text):
        raise TextProblem("Text cannot contain control characters.")
    if not multiline and ("\n" in text or "\r" in text):
        raise TextProblem("This field must fit on one line.")
    if len(text) > max_len:
        raise TextProblem(too_long)
    return text


def json_depth(body: bytes) -> int:
    """The nesting depth of a JSON document, read without parsing it (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


async def input_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse, before any query: ids beyond 64 bits (404, no such object), control characters (NUL among
    them; tab and line breaks allowed) in the query string or in a JSON or form body (422), and JSON nested
    deeper than any request needs (422). Multipart bodies carry files, whose bytes are checked by their own
    validation."""
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_INT:
            raise NotFound("This page does not exist.")
    for _key, value in connection.query_params.multi_items():
        if has_control_characters(value):
            raise Invalid("The address contains characters that are not allowed.", code="invalid_input")
    if connection.scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = connection.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await Request(connection.scope, connection.receive).body()
        if json_depth(body) > MAX_JSON_DEPTH:
            raise Invalid("The request is nested too deeply.", code="invalid_input")
        try:
            document = json.loads(body or b"null")
        except ValueError:
            return  # the handler's own parsing answers with its error
        if any(has_control_characters(text) for text in _strings(document)):
            raise Invalid("Text cannot contain control characters.", code="invalid_input")
    elif content_type.startswith("application/x-www-form-urlencoded"):
        form = await Request(connection.scope, connection.receive).form()
        if any(isinstance(value, str) and has_control_characters(value) for _key, value in form.multi_items()):
            raise Invalid("Text cannot contain control characters.", code="invalid_input")


def _strings(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from _strings(value)

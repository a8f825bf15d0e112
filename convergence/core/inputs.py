"""Input bounds in one place: integers that fit the database, text without control characters, JSON of a sane
depth and size. Applied by a guard before any handler runs, and by `parse_int` / `parse_decimal` wherever a form or
query string carries a number. (Python's `str.isdigit()` accepts '²' and '٣', which `int()` then refuses or reads
as 3, and `float()` reads '1_000', 'nan' and '1e400'.)"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException
from litestar.handlers.base import BaseRouteHandler

from convergence.core.errors import Invalid, NotFound
from convergence.core.i18n import N_

MAX_INT = 2**63 - 1  # signed 64-bit: PostgreSQL bigint, SQLite integer
# A whole number in a query string (a page, an offset, a count) is never larger: a page number that large times a
# page size would already overflow 64 bits.
MAX_QUERY_INT = 10**15
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024
# Every key and value counted: no request carries more, and an SQL `IN` list of them stays within the parameters
# a query may take (32,766 on SQLite, 32,767 on PostgreSQL).
MAX_JSON_VALUES = 10_000
_DIGITS = re.compile(r"[0-9]{1,19}")
_SIGNED = re.compile(r"[+-]?[0-9]+")
# A decimal number as people type it: ASCII digits, a dot or a comma, an optional exponent.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
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


def is_id(value: Any) -> bool:
    """A JSON id: an integer (not a boolean) the database can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


def parse_decimal(raw: Any) -> float | None:
    """A finite number written with ASCII digits (decimal comma or dot), else None."""
    text = str(raw if raw is not None else "").strip()
    if not _DECIMAL.fullmatch(text):
        return None
    value = float(text.replace(",", "."))
    return value if math.isfinite(value) else None


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


class TextProblem(ValueError):
    """Why a text was refused, as an English msgid (translated where it is shown)."""

    def __init__(self, message: str, *, too_long: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_long = too_long


def clean_text(raw: Any, *, max_len: int, multiline: bool = False,
               too_long: str = N_("This text is too long.")) -> str:
    """Text as it will be stored: NFC-normalised and stripped, then checked — control characters refused, line
    breaks refused in a single-line field (a name that ends up in a mail header or a CSV cell), and the length
    counted after normalisation, against the column. Raises `TextProblem`; callers put its message on their
    field. Empty text is returned as "" (whether it is required is the caller's business)."""
    text = unicodedata.normalize("NFC", str(raw if raw is not None else "")).strip()
    if has_control_characters(text):
        raise TextProblem("Text cannot contain control characters.")
    if not multiline and len(text.splitlines()) > 1:  # CR, LF and the other line boundaries (U+2028...)
        raise TextProblem("This field must fit on one line.")
    if len(text) > max_len:
        raise TextProblem(too_long, too_long=True)
    return text


def clean_field(name: str, raw: Any, *, max_len: int, multiline: bool = False,
                too_long: str = N_("This text is too long."), too_long_code: str = "invalid_input") -> str:
    """`clean_text` for the field `name` of a request: a text (anything else counts as empty), its problem a 422
    on that field (code `invalid_input`, or `too_long_code` for a text too long)."""
    try:
        return clean_text(raw if isinstance(raw, str) else "", max_len=max_len, multiline=multiline,
                          too_long=too_long)
    except TextProblem as exc:
        raise Invalid(exc.message, code=too_long_code if exc.too_long else "invalid_input",
                      fields={name: exc.message}) from None


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


async def input_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Refuse, before any query: ids beyond 64 bits or not written in plain ASCII digits (404, no such object),
    whole numbers of a query string beyond MAX_QUERY_INT (422), control characters (NUL among them; tab and line
    breaks allowed) in the query string or in the text of a JSON or form body (422; the files of a multipart body
    are checked by their own validation), form text that is not in its charset (400), and JSON nested deeper than
    any request needs (422), larger (413) or with an integer beyond 64 bits (422)."""
    _check_path(connection)
    _check_query(connection, handler)
    if connection.scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = connection.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            form = await Request(connection.scope, connection.receive).form()
        except (ValueError, LookupError):  # a text field not in its declared charset (or in an unknown one)
            raise ClientException(status_code=400) from None
        if any(isinstance(value, str) and has_control_characters(value) for _key, value in form.multi_items()):
            raise Invalid("Text cannot contain control characters.", code="invalid_input")
    elif content_type.startswith("application/json") or (
            "data" in handler.parsed_fn_signature.parameters and not content_type.startswith("multipart/")):
        # A handler taking JSON parses the body whatever its declared type: check it whatever its type too.
        await _check_json(await Request(connection.scope, connection.receive).body())


def _check_path(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """An id is its canonical decimal writing: '٣', '+3', '03' or '3_0' name no object, even where `int()` reads
    them (the router does)."""
    segments = set(connection.scope["path"].split("/"))
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and (
                not 0 <= value <= MAX_INT or str(value) not in segments):
            raise NotFound("This page does not exist.")


def _check_query(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    for _key, value in connection.query_params.multi_items():
        if has_control_characters(value):
            raise Invalid("The address contains characters that are not allowed.", code="invalid_input")
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name in connection.path_params or not field.is_subclass_of(int) or field.is_subclass_of(bool):
            continue
        for value in connection.query_params.getall(getattr(field.kwarg_definition, "query", None) or name, []):
            number = value.strip()
            if _SIGNED.fullmatch(number) and (len(number) > 20 or abs(int(number)) > MAX_QUERY_INT):
                raise Invalid("A number in the address is out of range.", code="invalid_input")


async def _check_json(body: bytes) -> None:
    if len(body) > MAX_JSON_BYTES:
        raise ClientException(status_code=413)
    if json_depth(body) > MAX_JSON_DEPTH:
        raise Invalid("The request is nested too deeply.", code="invalid_input")
    try:
        document = json.loads(body or b"null")
    except ValueError:
        return  # the handler's own parsing answers with its error
    for count, value in enumerate(_values(document), start=1):
        if count > MAX_JSON_VALUES:
            raise ClientException(status_code=413)
        if isinstance(value, str) and has_control_characters(value):
            raise Invalid("Text cannot contain control characters.", code="invalid_input")
        if isinstance(value, int) and not -MAX_INT - 1 <= value <= MAX_INT:
            raise Invalid("A number in the request is out of range.", code="invalid_input")


def _values(document: Any) -> Iterator[Any]:
    """Every value of a JSON document, object keys included."""
    yield document
    if isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from _values(value)
    elif isinstance(document, list):
        for value in document:
            yield from _values(value)

"""The JSON API's one error shape and the helper that documents it on every route (`responses=errors(...)`)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Self, TypeVar

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIType
from litestar.params import KwargDefinition

T = TypeVar("T")


class ErrorOut(msgspec.Struct, kw_only=True):
    """Every error of `/api/v1`: a human sentence and a machine code, plus, for some codes, what explains them
    (`errors` from type validation, `items` of a stale save, `current_version`, `retry_after`...)."""

    detail: str
    code: str
    fields: dict[str, str] | None = None
    errors: list[dict[str, Any]] | None = None


_MEANINGS = {
    400: "The request could not be read (malformed JSON, bad token...).",
    401: "Not signed in, or the bearer token is invalid or expired (`not_authenticated`).",
    403: "Missing right (`forbidden`), or the current terms are not accepted yet (`terms_not_accepted`).",
    404: "No such object, or one of another company (`not_found`).",
    409: "Conflicts with the current state (duplicate, stale version, wrong status...).",
    413: "The request body is too large (`too_large`).",
    422: "A field is missing, of the wrong type or breaks a rule (`invalid_input` and specific codes).",
    429: "Too many attempts: wait for `Retry-After` seconds (`throttled`).",
}


def loose(kind: OpenAPIType, description: str | None = None, **schema: Any) -> Any:
    """A body field documented as `kind` but taken as any JSON value: Litestar converts bodies leniently (1 would
    pass for true, "3" for 3), so the service checks it strictly and answers with its own code and sentence."""
    return Annotated[Any, KwargDefinition(schema_extra={"type": kind, **schema}, description=description)]


# The loose kinds every schemas module uses, declared once.
Text = loose(OpenAPIType.STRING)
Flag = loose(OpenAPIType.BOOLEAN)
Integer = loose(OpenAPIType.INTEGER)
Integers = loose(OpenAPIType.ARRAY, items={"type": "integer"})
UNSET: Any = msgspec.UNSET
"""The default of a body field the service tells apart from `null` (`given` drops it); typed `Any` so that it
can stand as the default of a `loose` field."""


def given(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields a client sent (those left `UNSET` dropped): what a partial update or a service reads."""
    return {name: value for name, value in msgspec.structs.asdict(struct).items() if value is not msgspec.UNSET}


SIGNED_IN = (401, 403)
"""A route behind the sign-in and terms gates."""
BODY = (400, 413, 422)
"""A route that reads a JSON body."""


def errors(*statuses: int | tuple[int, ...]) -> dict[int, ResponseSpec]:
    """`responses=` for a route decorator: the error statuses it can answer, each with `ErrorOut`. Always 400
    (replacing Litestar's default shape) and 422 (the input guard refuses control characters or out-of-range
    numbers in any query string)."""
    flat = {400, 422}
    for status in statuses:
        flat.update(status if isinstance(status, tuple) else (status,))
    return {status: ResponseSpec(data_container=ErrorOut, description=_MEANINGS[status]) for status in sorted(flat)}


class Page(msgspec.Struct, Generic[T], kw_only=True, omit_defaults=True):
    """The one list shape of `/api/v1`: `{items, total}` (api.md), plus `limit` and `offset` where the route
    echoes its window. `total` counts every match; `items` is the window, cut in SQL.

    A route answers a named subclass, `class ProductPage(Page[ProductOut]): items: list[ProductOut]`: the
    document then names its component `ProductPage` (Litestar would name `Page[ProductOut]` after its
    dotted path), and `items` is restated because Litestar reads the fields' types from the class itself, not
    from the `Page[...]` it derives from."""

    items: list[T]
    total: int
    limit: int | None = None
    offset: int | None = None

    @classmethod
    def whole(cls, items: list[T]) -> Self:
        """A list answered in full (a product's responses, a response's comments): `total` is its length."""
        return cls(items=items, total=len(items))

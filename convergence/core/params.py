"""Explicit parameter kinds (Litestar 2.25 deprecates inferred path/query parameters)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from convergence.core.inputs import MAX_INT

T = TypeVar("T")

try:
    from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
except ImportError:  # Litestar 2.24: the classic markers mean the same thing there
    from litestar.params import Body, Parameter

    FromPath = Annotated[T, Parameter()]  # type: ignore[misc]
    FromQuery = Annotated[T, Parameter()]  # type: ignore[misc]
    JSONBody = Annotated[T, Body()]  # type: ignore[misc]

    def QueryParameter(**kwargs: Any) -> Any:  # type: ignore[no-redef]  # noqa: N802
        return Parameter(**kwargs)


Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_INT)]  # beyond 64 bits the database overflows
JSONObject = JSONBody[dict[str, Any]]

__all__ = ["FromPath", "FromQuery", "JSONBody", "JSONObject", "Limit", "Offset"]

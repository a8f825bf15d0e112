"""The page scripts' view of the browser session: the current CSRF token after it rotated elsewhere."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import CacheControlHeader


class SessionViews(Controller):
    include_in_schema = False

    @get("/session/csrf", opt={"terms_exempt": True}, cache_control=CacheControlHeader(no_store=True))
    async def csrf_token(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """A sign-in in another tab rotates the CSRF cookie; an open page asks for the new token here.

        Readable by this site's own scripts only (same-origin; no CORS), like the token already in the page; never
        stored by a cache, signed in or not. Signed in, the token is the one bound to the session.
        """
        return {"csrf_token": request.state.csrf_token, "signed_in": request.scope.get("user") is not None}

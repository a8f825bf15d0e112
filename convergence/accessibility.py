"""The accessibility statement (RGAA 4.1: every public service publishes one), open to everyone."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from convergence.core.pages import render


class AccessibilityPages(Controller):
    include_in_schema = False

    # The French address is the one the RGAA asks for; the English text comes with the language switch.
    # Exempt from the terms: a person must be able to read it before accepting anything.
    @get("/accessibilite", opt={"terms_exempt": True})
    async def statement(self, request: Request[Any, Any, Any]) -> Any:
        return render(request, "accessibility.html")

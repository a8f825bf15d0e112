"""Page rendering: a full page and its HTMX partial come from the same include."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect

from convergence.core.errors import DomainError, Invalid
from convergence.core.i18n import gettext


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def render(request: Request[Any, Any, Any], template: str, context: dict[str, Any] | None = None, *,
           partial: str | None = None, status: int = 200) -> HTMXTemplate:
    """The page template includes `partial`; an HTMX request gets just the partial."""
    name = partial if partial and is_htmx(request) else template
    # `user` (None when signed out) in every page and partial: templates ask `can(user, action, target)`.
    context = {"user": request.scope.get("user"), **(context or {})}
    response = HTMXTemplate(template_name=name, context=context, status_code=status,
                            media_type=MediaType.HTML)
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


def redirect(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """Form posts answer 303; HTMX posts are told to navigate."""
    if is_htmx(request):
        return ClientRedirect(url)
    return Redirect(url, status_code=303)


def form_errors(exc: DomainError) -> dict[str, str]:
    """Field messages for a form re-rendered with a 422, translated; the general message under '__all__'."""
    fields = getattr(exc, "fields", None) or {}
    errors = {name: gettext(message) for name, message in fields.items()}
    if not errors or not isinstance(exc, Invalid):
        errors["__all__"] = gettext(exc.message)
    return errors


def safe_next(url: str | None, default: str = "/") -> str:
    """Only same-site paths: never bounce a user to another site after sign-in."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default

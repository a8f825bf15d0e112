"""The notification centre (`/notifications`), its count in the header, and the e-mail preference page.

Marking read works with HTMX (the item or the list is swapped in place, with the header's count out of band) and
without JavaScript (the form posts, the answer is a 303 back to the same page of the centre)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from convergence.core.errors import Invalid
from convergence.core.i18n import gettext as _
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, is_htmx, redirect, render
from convergence.core.params import FromPath, FromQuery
from convergence.core.web import db_session, is_api
from convergence.identity.web import signed_in
from convergence.notifications.services import FREQUENCY_LABELS, PAGE_SIZE, NotificationService, unread_count

SHOW = ("all", "unread")


def _choices() -> list[tuple[str, str]]:
    return [(value, _(label)) for value, label in FREQUENCY_LABELS.items()]


async def remember_unread_notifications(request: Any) -> None:
    """`before_request` hook: the header's unread count (templates/notifications/_count.html), one indexed COUNT.
    Full pages of vendor users only: ANS staff are told nothing, the API and HTMX partials have no header."""
    user = request.scope.get("user")
    # /session/* answers the scripts' JSON (the CSRF token, who is signed in): no header to fill there.
    if (user is None or user.company_id is None or request.method != "GET" or is_api(request.url.path)
            or request.url.path.startswith("/session/") or is_htmx(request)):
        return
    request.state.unread_notifications = await unread_count(db_session(request.scope), user.id)


def _window(page: object, show: object) -> tuple[int, str]:
    number = parse_int(str(page)) if page is not None else None
    return max(1, min(number or 1, 10_000)), (show if show in SHOW else "all")


def _centre_url(page: int, show: str) -> str:
    query = {k: v for k, v in (("show", show), ("page", page)) if (k, v) not in (("show", "all"), ("page", 1))}
    return "/notifications" + (f"?{urlencode(query)}" if query else "")


class NotificationPages(Controller):
    guards = [signed_in]

    async def _centre(self, service: NotificationService, page: int, show: str) -> dict[str, Any]:
        window = await service.page(unread_only=show == "unread", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        pages = max(1, -(-window.total // PAGE_SIZE))
        return {"notifications": window.items, "total": window.total, "unread_notifications": window.unread,
                "page": page, "pages": pages, "show": show,
                "pager_base": "/notifications?" + (urlencode({"show": show}) + "&" if show != "all" else "")}

    @get("/notifications")
    async def centre(self, notification_service: NamedDependency[NotificationService],
                     request: Request[Any, Any, Any], page: FromQuery[str | None] = None,
                     show: FromQuery[str | None] = None) -> Any:
        number, shown = _window(page, show)
        return render(request, "notifications/centre.html", await self._centre(notification_service, number, shown),
                      partial="notifications/_list.html")

    @post("/notifications/{notification_id:int}/read")
    async def read(self, notification_service: NamedDependency[NotificationService],
                   request: Request[Any, Any, Any], notification_id: FromPath[int]) -> Any:
        form = await request.form()
        number, shown = _window(form.get("page"), form.get("show"))
        item = await notification_service.mark_read(notification_id)
        if not is_htmx(request):
            return redirect(request, _centre_url(number, shown))
        return render(request, "notifications/_item_swap.html",
                      {"n": item, "page": number, "show": shown,
                       "unread_notifications": await notification_service.unread_count()})

    @post("/notifications/read-all")
    async def read_all(self, notification_service: NamedDependency[NotificationService],
                       request: Request[Any, Any, Any]) -> Any:
        form = await request.form()
        number, shown = _window(form.get("page"), form.get("show"))
        marked = await notification_service.mark_all_read()
        if not is_htmx(request):
            return redirect(request, _centre_url(number, shown))
        context = await self._centre(notification_service, number, shown)
        return render(request, "notifications/_list_swap.html", {**context, "marked": marked})

    @get("/notifications/preferences")
    async def preferences(self, notification_service: NamedDependency[NotificationService],
                          request: Request[Any, Any, Any], saved: FromQuery[str | None] = None) -> Any:
        chosen = await notification_service.preference()
        return render(request, "notifications/preferences.html",
                      {"form": {"email_frequency": str(chosen)}, "errors": {}, "saved": saved == "1",
                       "choices": _choices()}, partial="notifications/_preferences_form.html")

    @post("/notifications/preferences")
    async def save_preferences(self, notification_service: NamedDependency[NotificationService],
                               request: Request[Any, Any, Any]) -> Any:
        form = await request.form()
        try:
            chosen = await notification_service.set_preference(form.get("email_frequency"))
        except Invalid as exc:
            return render(request, "notifications/preferences.html",
                          {"form": {"email_frequency": form.get("email_frequency") or ""},
                           "errors": form_errors(exc), "saved": False, "choices": _choices()},
                          partial="notifications/_preferences_form.html", status=exc.status_code)
        if not is_htmx(request):
            return redirect(request, "/notifications/preferences?saved=1")
        return render(request, "notifications/_preferences_form.html",
                      {"form": {"email_frequency": str(chosen)}, "errors": {}, "saved": True,
                       "choices": _choices()})

"""JSON API of the notification centre and the e-mail preference."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency

from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.params import FromPath, JSONBody, Limit, Offset, QueryParameter
from convergence.identity.web import signed_in
from convergence.notifications.schemas import (
    NotificationOut,
    NotificationPage,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
)
from convergence.notifications.services import NotificationService

UnreadOnly = Annotated[bool, QueryParameter(description="Only the unread notifications.")]


class NotificationsApi(Controller):
    path = "/api/v1"
    tags = ["Notifications"]
    guards = [signed_in]

    @get("/notifications", responses=errors(SIGNED_IN))
    async def notifications(self, notification_service: NamedDependency[NotificationService], limit: Limit = 50,
                            offset: Offset = 0, unread: UnreadOnly = False) -> NotificationPage:
        """The signed-in user's notifications, newest first."""
        page = await notification_service.page(unread_only=unread, limit=limit, offset=offset)
        return NotificationPage(items=[NotificationOut.of(v) for v in page.items], total=page.total,
                                unread=page.unread, limit=limit, offset=offset)

    @post("/notifications/{notification_id:int}/read", status_code=200, responses=errors(SIGNED_IN, 404))
    async def read(self, notification_service: NamedDependency[NotificationService],
                   notification_id: FromPath[int]) -> NotificationOut:
        """Mark one notification read (again: no change). Another user's notification answers 404."""
        return NotificationOut.of(await notification_service.mark_read(notification_id))

    @post("/notifications/read-all", status_code=200, responses=errors(SIGNED_IN))
    async def read_all(self, notification_service: NamedDependency[NotificationService]) -> ReadAllOut:
        """Mark every unread notification read; how many were."""
        marked = await notification_service.mark_all_read()
        return ReadAllOut(marked=marked, unread=await notification_service.unread_count())

    @get("/me/notification-preferences", responses=errors(SIGNED_IN))
    async def preferences(self, notification_service: NamedDependency[NotificationService]) -> PreferencesOut:
        return PreferencesOut(email_frequency=await notification_service.preference())

    @put("/me/notification-preferences", status_code=200, responses=errors(SIGNED_IN, BODY))
    async def set_preferences(self, notification_service: NamedDependency[NotificationService],
                              data: JSONBody[PreferencesIn]) -> PreferencesOut:
        """How notifications are mailed: `immediate`, `digest` (daily) or `never`. Sign-in and password mails
        are always sent."""
        return PreferencesOut(email_frequency=await notification_service.set_preference(data.email_frequency))

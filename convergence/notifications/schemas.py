"""Typed shapes of the notifications API: the centre (`/api/v1/notifications`) and the e-mail preference
(`/api/v1/me/notification-preferences`)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.core.api_docs import Page, loose
from convergence.notifications.models import Frequency
from convergence.notifications.services import NotificationView

FrequencyField = loose(OpenAPIType.STRING, "`immediate`: an e-mail for each notification; `digest`: one e-mail a "
                                           "day gathering the day's notifications; `never`: no e-mail.",
                       enum=[f.value for f in Frequency])


class NotificationOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    text: str  # in the request's language (Accept-Language)
    link: str | None  # the object's page, a path on this site
    comment: str | None
    created_at: datetime
    read_at: datetime | None
    unread: bool

    @classmethod
    def of(cls, view: NotificationView) -> NotificationOut:
        return cls(id=view.id, kind=view.kind, text=view.text, link=view.link, comment=view.comment,
                   created_at=view.created_at, read_at=view.read_at, unread=view.unread)


class NotificationPage(Page[NotificationOut], kw_only=True):
    items: list[NotificationOut]
    unread: int  # every unread notification of the user, whatever the window


class ReadAllOut(msgspec.Struct, kw_only=True):
    marked: int
    unread: int


class PreferencesIn(msgspec.Struct, kw_only=True):
    email_frequency: FrequencyField = None


class PreferencesOut(msgspec.Struct, kw_only=True):
    email_frequency: str

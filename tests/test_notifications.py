"""Notifications: each event tells the people who care and never the actor; the centre (API and pages: list,
unread filter, mark one / all read, another user's notification 404); the header count; e-mail preferences
(immediately, daily digest, never) honoured by the outbox, security mails untouched; the digest's idempotence."""

from __future__ import annotations

import random
import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from convergence.accounts.models import Role
from convergence.companies.team_models import MemberRight
from convergence.core import events
from convergence.core.db import unit_of_work
from convergence.core.formatting import local_today
from convergence.core.models import AuditEvent, OutboxMessage
from convergence.notifications.digest import DIGEST_KIND, send_digests
from convergence.notifications.models import Kind, Notification, NotificationPreference
from convergence.notifications.simulate import simulate_notifications
from convergence.notifications.subscribers import mail_allowed_now
from convergence.questionnaires.fixtures import load_questionnaires
from tests.factories import csrf, make_user, page_login, token_for
from tests.test_questionnaires import complete_answers, enrolled_response, items_of, make_product


@pytest.fixture
async def content(settings, db, cast) -> None:
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) > 0


async def kinds_of(db: Any, user_id: int) -> list[str]:
    async with db() as session:
        return list((await session.scalars(select(Notification.kind).where(Notification.user_id == user_id)
                                           .order_by(Notification.id))).all())


async def mails_to(db: Any, email: str, kind: str | None = None) -> list[OutboxMessage]:
    async with db() as session:
        query = select(OutboxMessage).where(OutboxMessage.recipient == email)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list((await session.scalars(query.order_by(OutboxMessage.id))).all())


async def grant(db: Any, company_id: int, user_id: int, product_id: int | None, level: str) -> None:
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=company_id, user_id=user_id, product_id=product_id, level=level))


async def choose(db: Any, user_id: int, frequency: str) -> None:
    async with unit_of_work(db) as session:
        session.add(NotificationPreference(user_id=user_id, email_frequency=frequency))


@pytest.fixture
async def flow(client, db, cast, settings, content) -> dict[str, Any]:
    """A product with one response; the contributor edits it, a second contributor validates, a third reads."""
    async with unit_of_work(db) as session:
        company = cast.company
        validator = await make_user(session, settings, role=Role.CONTRIBUTOR, company=company,
                                    email="validator@sante-connectee.example")
        reader = await make_user(session, settings, role=Role.CONTRIBUTOR, company=company,
                                 email="reader@sante-connectee.example")
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id)
    response = await enrolled_response(client, db, manager, product)
    await grant(db, cast.company.id, cast.contributor.id, product, "edit")
    await grant(db, cast.company.id, validator.id, product, "validate")
    await grant(db, cast.company.id, reader.id, product, "read")
    return {"manager": manager, "contributor": await token_for(client, cast.contributor.email),
            "validator": validator, "reader": reader, "product": product, "rid": response["id"],
            "answers": complete_answers(await items_of(db, response["id"]))}


async def submit(client: Any, flow: dict[str, Any], version: int = 0) -> None:
    saved = await client.patch(f"/api/v1/responses/{flow['rid']}/answers",
                               json={"version": version, "answers": flow["answers"]}, headers=flow["contributor"])
    assert saved.status_code == 200, saved.text
    submitted = await client.post(f"/api/v1/responses/{flow['rid']}/submit", headers=flow["contributor"])
    assert submitted.status_code == 200, submitted.text


# ------------------------------------------------------------------------------------------------ events


async def test_submitted_tells_who_may_validate_never_the_submitter(client, db, cast, flow):
    await submit(client, flow)
    assert await kinds_of(db, cast.manager.id) == [Kind.RESPONSE_SUBMITTED]
    assert await kinds_of(db, flow["validator"].id) == [Kind.RESPONSE_SUBMITTED]
    assert await kinds_of(db, cast.contributor.id) == []
    assert await kinds_of(db, flow["reader"].id) == []
    assert await kinds_of(db, cast.outsider.id) == []
    listed = (await client.get("/api/v1/notifications", headers=flow["manager"])).json()
    item = listed["items"][0]
    assert listed["total"] == 1 and listed["unread"] == 1 and item["unread"] is True
    assert item["link"] == f"/responses/{flow['rid']}" and item["kind"] == "response_submitted"
    assert "submitted" in item["text"] and cast.contributor.full_name in item["text"]
    french = (await client.get("/api/v1/notifications", headers={**flow["manager"], "Accept-Language": "fr"})).json()
    assert "a soumis" in french["items"][0]["text"]


async def test_returned_and_validated_tell_the_contributors_not_the_validator(client, db, cast, flow):
    await submit(client, flow)
    returned = await client.post(f"/api/v1/responses/{flow['rid']}/return", json={"comment": "Préciser l'hébergeur."},
                                 headers=flow["manager"])
    assert returned.status_code == 200, returned.text
    assert await kinds_of(db, cast.contributor.id) == [Kind.RESPONSE_RETURNED]
    listed = (await client.get("/api/v1/notifications", headers=flow["contributor"])).json()
    assert listed["items"][0]["comment"] == "Préciser l'hébergeur."
    await submit(client, flow, version=returned.json()["version"])
    validator = await token_for(client, flow["validator"].email)
    assert (await client.post(f"/api/v1/responses/{flow['rid']}/validate", headers=validator)).status_code == 200
    assert await kinds_of(db, cast.contributor.id) == [Kind.RESPONSE_RETURNED, Kind.RESPONSE_VALIDATED]
    # The validator acted: told of the two submissions, not of their own validation.
    assert await kinds_of(db, flow["validator"].id) == [Kind.RESPONSE_SUBMITTED, Kind.RESPONSE_SUBMITTED]
    assert Kind.RESPONSE_VALIDATED not in await kinds_of(db, cast.manager.id)


async def test_invited_account_and_rights_changed_member_are_told(client, db, cast, flow):
    invited = await client.post(f"/api/v1/companies/{cast.company.id}/invitations", headers=flow["manager"], json={
        "email": "nouvelle@sante-connectee.example", "first_name": "Nina", "last_name": "Nouvelle",
        "role": "contributor", "rights": []})
    assert invited.status_code == 201, invited.text
    async with db() as session:
        row = await session.scalar(select(Notification).where(Notification.kind == Kind.INVITED))
    assert row is not None and row.actor_id == cast.manager.id and row.data["company"] == cast.company.name
    changed = await client.put(f"/api/v1/companies/{cast.company.id}/members/{cast.contributor.id}/rights",
                               json={"rights": [{"product_id": flow["product"], "level": "validate"}]},
                               headers=flow["manager"])
    assert changed.status_code == 200, changed.text
    assert await kinds_of(db, cast.contributor.id) == [Kind.RIGHTS_CHANGED]
    assert await kinds_of(db, cast.manager.id) == []
    mail = (await mails_to(db, cast.contributor.email, "rights_changed"))[0]
    assert "/notifications/preferences" in mail.body


async def test_an_ans_comment_tells_the_products_editors_and_managers(client, db, cast, flow):
    reviewer = await token_for(client, cast.reviewer.email)
    commented = await client.post(f"/api/v1/review/responses/{flow['rid']}/comments",
                                  json={"body": "Merci de préciser la politique de sauvegarde."}, headers=reviewer)
    assert commented.status_code == 201, commented.text
    for user_id in (cast.manager.id, cast.contributor.id, flow["validator"].id):
        assert await kinds_of(db, user_id) == [Kind.REVIEW_COMMENT]
    assert await kinds_of(db, flow["reader"].id) == []
    assert await kinds_of(db, cast.outsider.id) == []
    assert await kinds_of(db, cast.reviewer.id) == []
    assert len(await mails_to(db, cast.manager.email, "review_comment")) == 1


async def test_a_revoked_attestation_tells_the_products_editors(client, db, cast, flow):
    async with unit_of_work(db) as session:
        await events.emit(session, events.ATTESTATION_REVOKED, attestation_id=7, company_id=cast.company.id,
                          product_id=flow["product"], actor_id=cast.manager.id)
    assert await kinds_of(db, cast.manager.id) == []  # the actor
    assert await kinds_of(db, cast.contributor.id) == [Kind.ATTESTATION_REVOKED]
    assert await kinds_of(db, flow["reader"].id) == []
    listed = (await client.get("/api/v1/notifications", headers=flow["contributor"])).json()
    assert listed["items"][0]["link"] == f"/products/{flow['product']}"
    async with unit_of_work(db) as session:  # without an actor (a reopened response revokes it)
        await events.emit(session, events.ATTESTATION_REVOKED, attestation_id=8, company_id=cast.company.id,
                          product_id=flow["product"])
    assert await kinds_of(db, cast.manager.id) == [Kind.ATTESTATION_REVOKED]


# ------------------------------------------------------------------------------------------------ preferences


async def test_preferences_immediate_digest_never(client, db, cast, flow, settings):
    assert (await client.get("/api/v1/me/notification-preferences", headers=flow["manager"])).json() == {
        "email_frequency": "immediate"}
    put = await client.put("/api/v1/me/notification-preferences", json={"email_frequency": "digest"},
                           headers=flow["manager"])
    assert put.status_code == 200 and put.json() == {"email_frequency": "digest"}
    validator = await token_for(client, flow["validator"].email)
    assert (await client.put("/api/v1/me/notification-preferences", json={"email_frequency": "never"},
                             headers=validator)).status_code == 200
    for bad in ({"email_frequency": "hourly"}, {"email_frequency": 3}, {}):
        refused = await client.put("/api/v1/me/notification-preferences", json=bad, headers=validator)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_frequency", refused.text
    assert (await client.get("/api/v1/me/notification-preferences", headers=validator)).json() == {
        "email_frequency": "never"}

    await submit(client, flow)
    # In the centre for everyone; mailed now to no one of them (digest and never).
    assert await kinds_of(db, cast.manager.id) == [Kind.RESPONSE_SUBMITTED]
    assert await kinds_of(db, flow["validator"].id) == [Kind.RESPONSE_SUBMITTED]
    assert await mails_to(db, cast.manager.email, "response_submitted") == []
    assert await mails_to(db, flow["validator"].email, "response_submitted") == []
    # The contributor (immediately, the default) is mailed when the response comes back.
    await client.post(f"/api/v1/responses/{flow['rid']}/return", json={"comment": "À revoir."},
                      headers=flow["manager"])
    assert len(await mails_to(db, cast.contributor.email, "response_returned")) == 1

    # Today's notifications wait for the day to end; then one e-mail for the digest user, none for "never".
    async with unit_of_work(db) as session:
        assert await send_digests(session, settings) == 0
    tomorrow = local_today() + timedelta(days=1)
    async with unit_of_work(db) as session:
        assert await send_digests(session, settings, tomorrow) == 1
    digests = await mails_to(db, cast.manager.email, DIGEST_KIND)
    assert len(digests) == 1 and f"/responses/{flow['rid']}" in digests[0].body
    assert await mails_to(db, flow["validator"].email, DIGEST_KIND) == []
    async with unit_of_work(db) as session:  # idempotent: run again, nothing more
        assert await send_digests(session, settings, tomorrow) == 0
    assert len(await mails_to(db, cast.manager.email, DIGEST_KIND)) == 1


async def test_the_digest_sends_one_mail_per_user_and_day(db, cast, settings, client):
    async with unit_of_work(db) as session:
        session.add(NotificationPreference(user_id=cast.manager.id, email_frequency="digest"))
        today = local_today()
        for days_ago in (3, 3, 2):
            session.add(Notification(user_id=cast.manager.id, company_id=cast.company.id, kind=Kind.RIGHTS_CHANGED,
                                     data={"actor": "Quelqu'un", "company": "X"}, link="/products", mail="digest",
                                     created_at=_noon(today - timedelta(days=days_ago))))
        # Mailed at once already: never in a digest.
        session.add(Notification(user_id=cast.contributor.id, company_id=cast.company.id, kind=Kind.RIGHTS_CHANGED,
                                 data={}, mail="immediate", created_at=_noon(today - timedelta(days=2))))
    async with unit_of_work(db) as session:
        assert await send_digests(session, settings) == 2
    digests = await mails_to(db, cast.manager.email, DIGEST_KIND)
    assert [m.body.count("\n- ") for m in digests] == [2, 1]
    assert await mails_to(db, cast.contributor.email, DIGEST_KIND) == []
    async with unit_of_work(db) as session:
        assert await send_digests(session, settings) == 0


def _noon(day: Any) -> Any:
    return datetime.combine(day, time(12), tzinfo=ZoneInfo("Europe/Paris"))


async def test_security_mails_ignore_the_preferences(client, db, cast):
    await choose(db, cast.manager.id, "never")
    async with db() as session:
        assert await mail_allowed_now(session, cast.manager.email, "response_submitted") is False
        assert await mail_allowed_now(session, cast.manager.email, "password_reset") is True
        assert await mail_allowed_now(session, cast.contributor.email, "response_submitted") is True
    await client.get("/password/forgot")
    asked = await client.post("/password/forgot", data={"email": cast.manager.email, "_csrf": csrf(client)})
    assert asked.status_code in (200, 303), asked.text
    assert len(await mails_to(db, cast.manager.email, "password_reset")) == 1


# ------------------------------------------------------------------------------------------------ the centre


async def test_read_unread_and_another_users_notification(client, db, cast, flow):
    await submit(client, flow)
    reviewer = await token_for(client, cast.reviewer.email)
    await client.post(f"/api/v1/review/responses/{flow['rid']}/comments", json={"body": "Une remarque."},
                      headers=reviewer)
    listed = (await client.get("/api/v1/notifications", headers=flow["manager"])).json()
    assert [i["kind"] for i in listed["items"]] == ["review_comment", "response_submitted"]  # newest first
    newest, older = listed["items"]
    read = await client.post(f"/api/v1/notifications/{older['id']}/read", headers=flow["manager"])
    assert read.status_code == 200 and read.json()["unread"] is False and read.json()["read_at"]
    again = await client.post(f"/api/v1/notifications/{older['id']}/read", headers=flow["manager"])
    assert again.json()["read_at"] == read.json()["read_at"]
    unread = (await client.get("/api/v1/notifications?unread=true", headers=flow["manager"])).json()
    assert [i["id"] for i in unread["items"]] == [newest["id"]] and unread["total"] == 1 and unread["unread"] == 1
    paged = (await client.get("/api/v1/notifications?limit=1&offset=1", headers=flow["manager"])).json()
    assert [i["id"] for i in paged["items"]] == [older["id"]] and paged["total"] == 2
    # Someone else's notification, or none: 404, and nothing changes.
    for headers in (flow["contributor"], await token_for(client, cast.outsider.email), reviewer):
        assert (await client.post(f"/api/v1/notifications/{newest['id']}/read", headers=headers)).status_code == 404
    assert (await client.post("/api/v1/notifications/999999/read", headers=flow["manager"])).status_code == 404
    assert (await client.get("/api/v1/notifications", headers=flow["manager"])).json()["unread"] == 1
    everything = await client.post("/api/v1/notifications/read-all", headers=flow["manager"])
    assert everything.status_code == 200 and everything.json() == {"marked": 1, "unread": 0}
    assert (await client.get("/api/v1/notifications", headers=flow["manager"])).json()["unread"] == 0
    # The validator's own stay unread.
    validator = await token_for(client, flow["validator"].email)
    assert (await client.get("/api/v1/notifications", headers=validator)).json()["unread"] == 2
    async with db() as session:
        actions = set((await session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor_id == cast.manager.id))).all())
    assert {"notification.read", "notification.all_read"} <= actions


async def test_the_api_needs_a_signed_in_user(client):
    assert (await client.get("/api/v1/notifications")).status_code == 401
    assert (await client.post("/api/v1/notifications/read-all")).status_code == 401
    assert (await client.get("/api/v1/me/notification-preferences")).status_code == 401


# ------------------------------------------------------------------------------------------------ pages


def unread_in_header(html: str) -> str | None:
    link = re.search(r'<a id="nav-notifications"[^>]*>(.*?)</a>', html, re.S)
    assert link is not None, "no notifications link in the header"
    count = re.search(r'<span class="sr-only">Notifications, (.*?)</span>', link.group(1))
    return count.group(1) if count else None


async def test_header_count_centre_and_mark_read_pages(client, db, cast, flow):
    reviewer = await token_for(client, cast.reviewer.email)
    await page_login(client, cast.manager.email)
    assert unread_in_header((await client.get("/")).text) is None
    await submit(client, flow)
    await client.post(f"/api/v1/review/responses/{flow['rid']}/comments", json={"body": "Une remarque."},
                      headers=reviewer)
    assert unread_in_header((await client.get("/")).text) == "2 non lues"
    centre = await client.get("/notifications")
    assert centre.status_code == 200
    assert centre.text.index("a commenté") < centre.text.index("a soumis")  # newest first
    assert f'href="/responses/{flow["rid"]}"' in centre.text
    ids = [int(i) for i in re.findall(r'id="notification-(\d+)"', centre.text)]
    # Without JavaScript: a form post, 303 back to the centre.
    done = await client.post(f"/notifications/{ids[0]}/read", data={"_csrf": csrf(client), "page": "1",
                                                                    "show": "all"})
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    assert unread_in_header((await client.get("/notifications")).text) == "1 non lue"
    # With HTMX: the item, read, and the header's count out of band.
    swapped = await client.post(f"/notifications/{ids[1]}/read", data={"_csrf": csrf(client), "page": "1",
                                                                       "show": "unread"},
                                headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and f'id="notification-{ids[1]}"' in swapped.text
    assert 'id="nav-notifications"' in swapped.text and 'hx-swap-oob="true"' in swapped.text
    assert unread_in_header(swapped.text) is None
    assert "<html" not in swapped.text
    # Another user's notification: 404.
    async with db() as session:
        theirs = await session.scalar(select(Notification.id).where(Notification.user_id == flow["validator"].id))
    assert (await client.post(f"/notifications/{theirs}/read", data={"_csrf": csrf(client)})).status_code == 404
    empty = await client.get("/notifications?show=unread")
    assert "Aucune notification non lue" in empty.text


async def test_mark_all_read_page_and_paging(client, db, cast):
    async with unit_of_work(db) as session:
        for number in range(25):
            session.add(Notification(user_id=cast.manager.id, company_id=cast.company.id, kind=Kind.RIGHTS_CHANGED,
                                     data={"actor": f"Personne {number}", "company": "X"}, link="/products",
                                     mail="immediate"))
    await page_login(client, cast.manager.email)
    first = await client.get("/notifications")
    assert first.text.count('class="card notification unread"') == 20 and "page=2" in first.text
    second = await client.get("/notifications?page=2")
    assert second.text.count('class="card notification unread"') == 5
    assert (await client.get("/notifications?page=abc")).status_code == 200
    swapped = await client.post("/notifications/read-all", data={"_csrf": csrf(client), "page": "2", "show": "all"},
                                headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and 'id="notifications-list"' in swapped.text
    assert "25 notifications marquées comme lues" in swapped.text and unread_in_header(swapped.text) is None
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Notification).where(
            Notification.read_at.is_(None))) == 0
    plain = await client.post("/notifications/read-all", data={"_csrf": csrf(client), "page": "2", "show": "all"})
    assert plain.status_code == 303 and plain.headers["location"] == "/notifications?page=2"


async def test_preferences_page(client, db, cast):
    await page_login(client, cast.contributor.email)
    page = await client.get("/notifications/preferences")
    assert page.status_code == 200 and 'value="immediate"' in page.text and "<fieldset" in page.text
    saved = await client.post("/notifications/preferences", data={"_csrf": csrf(client), "email_frequency": "never"})
    assert saved.status_code == 303 and saved.headers["location"] == "/notifications/preferences?saved=1"
    shown = await client.get(saved.headers["location"])
    assert re.search(r'value="never"\s+id="[^"]+"\s+checked', shown.text) and 'role="status"' in shown.text
    refused = await client.post("/notifications/preferences", data={"_csrf": csrf(client), "email_frequency": "x"},
                                headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "error-summary" in refused.text and "<html" not in refused.text
    async with db() as session:
        assert await session.scalar(select(NotificationPreference.email_frequency).where(
            NotificationPreference.user_id == cast.contributor.id)) == "never"
    swapped = await client.post("/notifications/preferences", data={"_csrf": csrf(client), "email_frequency": "digest"},
                                headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and 'id="preferences-form"' in swapped.text


# ------------------------------------------------------------------------------------------------ simulation


async def test_simulated_users_get_read_and_unread_notifications(db, cast, flow):
    async with unit_of_work(db) as session:
        await session.execute(update(Notification).values(read_at=None))
        count = await simulate_notifications(session, random.Random(4))
    assert count > 0
    async with db() as session:
        rows = (await session.scalars(select(Notification))).all()
    assert {r.read_at is None for r in rows} == {True, False}
    assert all(r.user_id != r.actor_id for r in rows)
    assert cast.support.id not in {r.user_id for r in rows}
    async with unit_of_work(db) as session:  # a second run adds nothing
        assert await simulate_notifications(session, random.Random(4)) == 0

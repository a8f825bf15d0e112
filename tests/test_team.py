"""Team and rights: invitations, per-product rights, no escalation, deactivation, audit trail."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from convergence.accounts.models import User
from convergence.companies.team_models import MemberRight
from convergence.core.db import unit_of_work
from convergence.core.models import AuditEvent, OutboxMessage
from convergence.products.models import Product
from tests.factories import PASSWORD, csrf, page_login, token_for

NEW_PASSWORD = "Une équipe soudée avance loin"


async def make_product(db: Any, company_id: int, name: str, created_by_id: int | None = None) -> int:
    async with unit_of_work(db) as session:
        product = Product(company_id=company_id, name=name, os="iOS", device="Mobile", edition="", version="1",
                          kind="base", description="", identity_key=f"{name.lower()}|ios|mobile||1",
                          created_by_id=created_by_id)
        session.add(product)
        await session.flush()
        return product.id


async def grant(db: Any, user: User, product_id: int | None, level: str) -> None:
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=user.company_id, user_id=user.id, product_id=product_id, level=level))


async def invite(client: Any, headers: dict, company_id: int, **body: Any) -> Any:
    payload = {"email": "nouveau@sante-connectee.example", "first_name": "Nina", "last_name": "Nouvelle",
               "role": "contributor", "rights": [], **body}
    return await client.post(f"/api/v1/companies/{company_id}/invitations", json=payload, headers=headers)


async def invitation_link(db: Any, email: str) -> str:
    async with db() as session:
        mail = (await session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)
                                      .order_by(OutboxMessage.id.desc()))).first()
    return re.search(r"token=([\w-]+)", mail.body).group(1)


@pytest.fixture
async def products(db, cast) -> dict[str, int]:
    return {"a": await make_product(db, cast.company.id, "Alpha"),
            "b": await make_product(db, cast.company.id, "Beta"),
            "foreign": await make_product(db, cast.other_company.id, "Gamma")}


async def test_manager_invites_contributor_who_joins_with_granted_rights(client, db, cast, products):
    manager = await token_for(client, cast.manager.email)
    response = await invite(client, manager, cast.company.id,
                            rights=[{"product_id": products["a"], "level": "edit"}, {"product_id": None,
                                                                                      "level": "read"}])
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    token = await invitation_link(db, "nouveau@sante-connectee.example")
    assert (await client.post("/api/v1/password/set", json={"token": token, "password": NEW_PASSWORD})).status_code == 204
    nina = await token_for(client, "nouveau@sante-connectee.example", NEW_PASSWORD)
    assert (await client.post("/api/v1/me/terms/accept", json={"version": 1}, headers=nina)).status_code == 204
    members = (await client.get(f"/api/v1/companies/{cast.company.id}/members", headers=manager)).json()
    row = next(m for m in members["items"] if m["email"] == "nouveau@sante-connectee.example")
    assert row["role"] == "contributor" and row["active"] and not row["pending"]
    assert sorted(row["rights"], key=str) == sorted([{"product_id": products["a"], "level": "edit"},
                                                     {"product_id": None, "level": "read"}], key=str)


async def test_invitation_bad_input(client, db, cast, products):
    manager = await token_for(client, cast.manager.email)
    cases = [({"email": "nope"}, 422, "invalid_email"),
             ({"first_name": ""}, 422, "invalid_input"),
             ({"role": "support"}, 422, "invalid_input"),
             ({"rights": "all"}, 422, "invalid_rights"),
             ({"rights": [{"product_id": products["a"], "level": "owner"}]}, 422, "invalid_rights"),
             ({"rights": [{"product_id": products["foreign"], "level": "read"}]}, 422, "invalid_product"),
             ({"rights": [{"product_id": 987654, "level": "read"}]}, 422, "invalid_product"),
             ({"email": cast.contributor.email}, 409, "email_already_registered")]
    for change, status, code in cases:
        response = await invite(client, manager, cast.company.id, **change)
        assert (response.status_code, response.json()["code"]) == (status, code), change
    async with db() as session:
        assert (await session.scalar(select(User).where(User.email == "nouveau@sante-connectee.example"))) is None


async def test_invitation_names_are_one_line_and_bounded(client, db, cast):
    manager = await token_for(client, cast.manager.email)
    for change in ({"first_name": "Nina\nBcc: x@example.org"}, {"last_name": "N" * 101},
                   {"job_title": "J" * 151}, {"first_name": "   "}):
        response = await invite(client, manager, cast.company.id, **change)
        assert response.status_code == 422 and response.json()["code"] == "invalid_input", change
    ok = await invite(client, manager, cast.company.id, first_name="Ine\u0301s ", job_title=" Cheffe de projet ")
    assert ok.status_code == 201
    async with db() as session:
        user = await session.scalar(select(User).where(User.email == "nouveau@sante-connectee.example"))
    assert (user.first_name, user.job_title) == ("In\u00e9s", "Cheffe de projet")


async def test_contributor_invites_within_own_rights_only(client, db, cast, products):
    await grant(db, cast.contributor, products["a"], "edit")
    contributor = await token_for(client, cast.contributor.email)
    escalate = await invite(client, contributor, cast.company.id,
                            rights=[{"product_id": products["a"], "level": "validate"}])
    assert escalate.status_code == 403 and escalate.json()["code"] == "rights_escalation"
    other_product = await invite(client, contributor, cast.company.id,
                                 rights=[{"product_id": products["b"], "level": "read"}])
    assert other_product.status_code == 403
    manager_role = await invite(client, contributor, cast.company.id, role="manager")
    assert manager_role.status_code == 403
    ok = await invite(client, contributor, cast.company.id, rights=[{"product_id": products["a"], "level": "edit"}])
    assert ok.status_code == 201


async def test_contributor_creator_may_hand_on_edit_on_own_product(client, db, cast):
    own = await make_product(db, cast.company.id, "Delta", created_by_id=cast.contributor.id)
    contributor = await token_for(client, cast.contributor.email)
    assert (await invite(client, contributor, cast.company.id,
                         rights=[{"product_id": own, "level": "edit"}])).status_code == 201


async def test_other_company_answers_404(client, cast, products):
    outsider = await token_for(client, cast.outsider.email)
    base = f"/api/v1/companies/{cast.company.id}"
    assert (await client.get(f"{base}/members", headers=outsider)).status_code == 404
    assert (await invite(client, outsider, cast.company.id)).status_code == 404
    assert (await client.put(f"{base}/members/{cast.contributor.id}/rights", json={"rights": []},
                             headers=outsider)).status_code == 404
    assert (await client.delete(f"{base}/members/{cast.contributor.id}", headers=outsider)).status_code == 404
    manager = await token_for(client, cast.manager.email)
    assert (await client.put(f"{base}/members/{cast.outsider.id}/rights", json={"rights": []},
                             headers=manager)).status_code == 404
    assert (await client.get("/api/v1/companies/99999/members", headers=manager)).status_code == 404
    support = await token_for(client, cast.support.email)
    assert (await client.get(f"{base}/members", headers=support)).status_code == 403


async def test_manager_edits_and_revokes_rights_with_audit_trail(client, db, cast, products):
    manager = await token_for(client, cast.manager.email)
    url = f"/api/v1/companies/{cast.company.id}/members/{cast.contributor.id}/rights"
    set_ = await client.put(url, json={"rights": [{"product_id": products["b"], "level": "validate"}]},
                            headers=manager)
    assert set_.status_code == 200 and set_.json()["rights"] == [{"product_id": products["b"], "level": "validate"}]
    revoked = await client.put(url, json={"rights": []}, headers=manager)
    assert revoked.status_code == 200 and revoked.json()["rights"] == []
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.put(url, json={"rights": []}, headers=contributor)).status_code == 403
    manager_target = await client.put(
        f"/api/v1/companies/{cast.company.id}/members/{cast.manager.id}/rights", json={"rights": []},
        headers=manager)
    assert manager_target.status_code == 422
    trail = (await client.get(f"/api/v1/companies/{cast.company.id}/audit", headers=manager)).json()
    assert [e["action"] for e in trail["items"]][:2] == ["team.rights_changed", "team.rights_changed"]
    assert trail["items"][0]["data"]["after"] == [] and trail["items"][0]["data"]["before"] == [
        {"product_id": products["b"], "level": "validate"}]
    assert (await client.get(f"/api/v1/companies/{cast.company.id}/audit", headers=contributor)).status_code == 403


async def test_deactivation_ends_sessions_and_tokens_at_once(client, db, cast):
    manager = await token_for(client, cast.manager.email)
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.get("/api/v1/me", headers=contributor)).status_code == 200
    gone = await client.delete(f"/api/v1/companies/{cast.company.id}/members/{cast.contributor.id}",
                               headers=manager)
    assert gone.status_code == 204
    assert (await client.get("/api/v1/me", headers=contributor)).status_code == 401
    again = await client.post("/api/v1/auth/token", json={"email": cast.contributor.email, "password": PASSWORD})
    assert again.status_code == 401
    async with db() as session:
        assert await session.scalar(select(AuditEvent).where(AuditEvent.action == "team.member_deactivated"))


async def test_last_active_manager_cannot_be_deactivated(client, cast):
    manager = await token_for(client, cast.manager.email)
    url = f"/api/v1/companies/{cast.company.id}/members/{cast.manager.id}"
    refused = await client.delete(url, headers=manager)
    assert refused.status_code == 409 and refused.json()["code"] == "last_manager"
    assert (await client.get("/api/v1/me", headers=manager)).status_code == 200
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.delete(url, headers=contributor)).status_code == 403


async def test_second_manager_can_be_deactivated_then_the_first_cannot(client, db, cast):
    manager = await token_for(client, cast.manager.email)
    invited = await invite(client, manager, cast.company.id, role="manager", email="second@sante-connectee.example")
    assert invited.status_code == 201
    second_id = invited.json()["user_id"]
    token = await invitation_link(db, "second@sante-connectee.example")
    await client.post("/api/v1/password/set", json={"token": token, "password": NEW_PASSWORD})
    second = await token_for(client, "second@sante-connectee.example", NEW_PASSWORD)
    await client.post("/api/v1/me/terms/accept", json={"version": 1}, headers=second)
    assert (await client.delete(f"/api/v1/companies/{cast.company.id}/members/{cast.manager.id}",
                                headers=second)).status_code == 204
    last = await client.delete(f"/api/v1/companies/{cast.company.id}/members/{second_id}", headers=second)
    assert last.status_code == 409


async def test_resend_and_cancel_invitation(client, db, cast):
    manager = await token_for(client, cast.manager.email)
    invitation = (await invite(client, manager, cast.company.id)).json()
    first = await invitation_link(db, "nouveau@sante-connectee.example")
    base = f"/api/v1/companies/{cast.company.id}/invitations/{invitation['id']}"
    resent = await client.post(f"{base}/resend", headers=manager)
    assert resent.status_code == 200 and resent.json()["sent_count"] == 2
    second = await invitation_link(db, "nouveau@sante-connectee.example")
    assert first != second
    old = await client.post("/api/v1/password/set", json={"token": first, "password": NEW_PASSWORD})
    assert old.status_code == 400
    assert (await client.delete(base, headers=manager)).status_code == 204
    dead = await client.post("/api/v1/password/set", json={"token": second, "password": NEW_PASSWORD})
    assert dead.status_code == 400
    assert (await client.post(f"{base}/resend", headers=manager)).status_code == 409
    listed = (await client.get(f"/api/v1/companies/{cast.company.id}/invitations", headers=manager)).json()
    assert listed["total"] == 0


async def test_team_page_shows_grid_and_saves_rights_with_htmx(client, db, cast, products):
    await grant(db, cast.contributor, products["a"], "read")
    await page_login(client, cast.manager.email)
    page = await client.get("/team")
    assert page.status_code == 200
    assert "Alpha iOS Mobile" in page.text and cast.contributor.email in page.text
    assert "Gamma" not in page.text  # another company's product
    saved = await client.post(f"/team/members/{cast.contributor.id}/rights",
                              data={f"right_{products['b']}": "edit", "right_global": "validate"},
                              headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)})
    assert saved.status_code == 200 and saved.text.lstrip().startswith("<tr")
    async with db() as session:
        levels = {(r.product_id, r.level) for r in (await session.scalars(select(MemberRight).where(
            MemberRight.user_id == cast.contributor.id))).all()}
    assert levels == {(products["b"], "edit"), (None, "validate")}
    audit = await client.get("/team/audit")
    assert audit.status_code == 200 and cast.contributor.email in audit.text


async def test_team_page_invite_form_errors_and_success(client, db, cast):
    await page_login(client, cast.manager.email)
    bad = await client.post("/team/invite", data={"email": "x", "first_name": "A", "last_name": "B",
                                                  "role": "contributor", "_csrf": csrf(client)})
    assert bad.status_code == 422
    ok = await client.post("/team/invite", data={"email": "lea@sante-connectee.example", "first_name": "Léa",
                                                 "last_name": "Petit", "role": "contributor", "_csrf": csrf(client)})
    assert ok.status_code == 303
    page = await client.get("/team")
    assert "lea@sante-connectee.example" in page.text


async def test_contributor_sees_team_without_management_controls(client, cast):
    await page_login(client, cast.contributor.email)
    page = await client.get("/team")
    assert page.status_code == 200 and "/deactivate" not in page.text and "/rights" not in page.text
    assert (await client.get("/team/audit")).status_code == 403
    await page_login(client, cast.support.email)
    assert (await client.get("/team")).status_code == 403


async def test_contributor_product_list_costs_the_same_whatever_the_number_of_products(client, db, cast):
    """Rights are read once for the whole list, not once per product."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("")

    headers = await token_for(client, cast.contributor.email)
    url = f"/api/v1/companies/{cast.company.id}/products"
    engine = client.app.state.engine.sync_engine
    figures = []
    for number in range(12):
        product_id = await make_product(db, cast.company.id, f"Produit {number}")
        if number % 2 == 0:
            await grant(db, cast.contributor, product_id, "read")
        if number in (1, 11):
            await client.get(url, headers=headers)  # warm-up
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            try:
                listed = (await client.get(url, headers=headers)).json()["items"]
            finally:
                event.remove(engine, "before_cursor_execute", count)
            figures.append(len(statements))
            assert sorted(p["name"] for p in listed) == sorted(f"Produit {n}" for n in range(0, number + 1, 2))
    assert figures[0] == figures[1]

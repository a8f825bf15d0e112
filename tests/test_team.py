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


async def test_team_page_lists_members_and_saves_rights_with_htmx(client, db, cast, products):
    await grant(db, cast.contributor, products["a"], "read")
    await page_login(client, cast.manager.email)
    page = await client.get("/team")
    assert page.status_code == 200
    assert "Alpha iOS Mobile" in page.text and cast.contributor.email in page.text
    assert "Gamma" not in page.text  # another company's product
    # One row per member with the number of rights and a way to the member's panel, no column per product.
    row = re.search(rf'<tr id="member-{cast.contributor.id}".*?</tr>', page.text, re.S).group(0)
    assert "1 droit" in row and f'href="/team/members/{cast.contributor.id}/rights"' in row
    assert "Gérer les droits" in row
    assert f'href="/team/members/{cast.manager.id}/rights"' not in page.text  # managers hold every right
    # A client of the former grid (no `listed` field) still replaces the whole set.
    saved = await client.post(f"/team/members/{cast.contributor.id}/rights",
                              data={f"right_{products['b']}": "edit", "right_global": "validate"},
                              headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)})
    assert saved.status_code == 200 and saved.text.lstrip().startswith('<section id="rights-panel"')
    assert 'role="status"' in saved.text and "autofocus" in saved.text
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


# ---------------------------------------------------------------- a member's rights panel (issue 13, point 2)

def selected(html: str, field_id: str) -> str:
    """The value of the option selected in a select of the page ('' for none)."""
    select = re.search(rf'<select id="{field_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select #{field_id}"
    chosen = re.search(r'<option value="(\w*)" selected', select.group(1))
    return chosen.group(1) if chosen else ""


async def levels_of(db: Any, user: User) -> dict[int | None, str]:
    async with db() as session:
        return {r.product_id: r.level for r in (await session.scalars(select(MemberRight).where(
            MemberRight.user_id == user.id))).all()}


def panel_url(cast: Any) -> str:
    return f"/team/members/{cast.contributor.id}/rights"


async def test_panel_shows_the_levels_of_a_contributor(client, db, cast, products):
    await grant(db, cast.contributor, products["a"], "edit")
    await grant(db, cast.contributor, None, "validate")
    await page_login(client, cast.manager.email)
    page = await client.get(panel_url(cast))
    assert page.status_code == 200 and "<html" in page.text
    assert selected(page.text, "r-global") == "validate"
    assert selected(page.text, f"r-{products['a']}") == "edit"
    assert selected(page.text, f"r-{products['b']}") == ""
    assert "Gamma" not in page.text and f"r-{products['foreign']}" not in page.text
    assert "Droits de Contributor" in page.text and "2 produits affichés" in page.text
    # The same content as a partial for HTMX; opened from /team it takes the focus and fixes the member's count.
    partial = await client.get(panel_url(cast), headers={"HX-Request": "true", "HX-Target": "rights-panel",
                                                         "HX-Current-URL": "http://testserver.local/team"})
    assert partial.text.lstrip().startswith('<section id="rights-panel"') and "<html" not in partial.text
    assert '<h2 id="rights-title" tabindex="-1" autofocus>' in partial.text
    assert f'<span id="member-rights-{cast.contributor.id}" hx-swap-oob="innerHTML">2 droits</span>' in partial.text
    assert selected(partial.text, f"r-{products['a']}") == "edit"
    assert partial.headers["vary"].startswith("HX-Request")


async def test_panel_of_a_manager_or_a_deactivated_member_has_no_form(client, db, cast):
    await page_login(client, cast.manager.email)
    page = await client.get(f"/team/members/{cast.manager.id}/rights")
    assert page.status_code == 200 and "rights-form" not in page.text
    async with unit_of_work(db) as session:
        (await session.get(User, cast.contributor.id)).active = False
    page = await client.get(panel_url(cast))
    assert page.status_code == 200 and "rights-form" not in page.text and "désactivé" in page.text


async def test_filter_narrows_the_list_without_case_or_accents(client, db, cast, products):
    echo = await make_product(db, cast.company.id, "Écho")
    await page_login(client, cast.manager.email)
    page = await client.get(panel_url(cast), params={"q": "ALP"})
    assert f'id="r-{products["a"]}"' in page.text and f'id="r-{products["b"]}"' not in page.text
    assert "1 produit affiché sur 3" in page.text and 'value="ALP"' in page.text
    assert 'id="r-global"' in page.text  # the global strategy is not a product: always there
    accents = await client.get(panel_url(cast), params={"q": "echo ios"})
    assert f'id="r-{echo}"' in accents.text and f'id="r-{products["a"]}"' not in accents.text
    none = await client.get(panel_url(cast), params={"q": "zzz"})
    assert "Aucun produit ne correspond" in none.text and "apply_level" not in none.text
    # HTMX, as one types: the list alone, and the count, which sits outside the list, out of band.
    listed = await client.get(panel_url(cast), params={"q": "beta"},
                              headers={"HX-Request": "true", "HX-Target": "rights-list"})
    assert listed.text.lstrip().startswith('<div id="rights-list">')
    assert f'id="r-{products["b"]}"' in listed.text and f'id="r-{products["a"]}"' not in listed.text
    assert '<p id="rights-count" hx-swap-oob="innerHTML">' in listed.text


async def test_apply_to_all_sets_every_product_shown_and_only_those(client, db, cast, products):
    others = [await make_product(db, cast.company.id, f"Alphabet {n}") for n in range(3)]
    await grant(db, cast.contributor, products["b"], "read")
    await grant(db, cast.contributor, None, "read")
    await page_login(client, cast.manager.email)
    shown = [products["a"], *others]
    form = {"_csrf": csrf(client), "q": "alpha", "action": "apply", "apply_level": "validate",
            "listed": ["global", *map(str, shown)], "right_global": "read"}
    done = await client.post(panel_url(cast), data=form)
    assert done.status_code == 303
    assert done.headers["location"] == f"{panel_url(cast)}?q=alpha&applied=4&level=validate"
    assert await levels_of(db, cast.contributor) == {None: "read", products["b"]: "read",
                                                     **{p: "validate" for p in shown}}
    page = await client.get(done.headers["location"])
    assert "« Validation » donné aux 4 produits affichés ; droits enregistrés." in page.text
    assert 'role="status" id="rights-notice" tabindex="-1" autofocus' in page.text
    # "No right" takes them away again, with HTMX too (the panel comes back with the notice).
    form.update(apply_level="none")
    again = await client.post(panel_url(cast), data=form, headers={"HX-Request": "true"})
    assert again.status_code == 200 and "« Aucun droit » donné aux 4 produits affichés" in again.text
    assert await levels_of(db, cast.contributor) == {None: "read", products["b"]: "read"}


async def test_saving_with_a_filter_keeps_the_rights_it_hides(client, db, cast, products):
    await grant(db, cast.contributor, products["a"], "read")
    await grant(db, cast.contributor, products["b"], "validate")
    await page_login(client, cast.manager.email)
    # What the filtered form sends: the global strategy and Alpha, Beta hidden by the filter.
    saved = await client.post(panel_url(cast), data={
        "_csrf": csrf(client), "q": "alpha", "listed": ["global", str(products["a"])],
        "right_global": "", f"right_{products['a']}": "edit"})
    assert saved.status_code == 303 and saved.headers["location"] == f"{panel_url(cast)}?q=alpha&saved=1"
    assert await levels_of(db, cast.contributor) == {products["a"]: "edit", products["b"]: "validate"}
    # An empty select of a listed product takes its right away; the audit trail has the whole before and after.
    await client.post(panel_url(cast), data={"_csrf": csrf(client), "listed": ["global", str(products["a"])],
                                             "right_global": "read", f"right_{products['a']}": ""})
    assert await levels_of(db, cast.contributor) == {None: "read", products["b"]: "validate"}
    async with db() as session:
        last = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "team.rights_changed")
                                      .order_by(AuditEvent.id.desc()))).first()
    assert sorted(last.data["after"], key=str) == sorted([{"product_id": None, "level": "read"},
                                                         {"product_id": products["b"], "level": "validate"}], key=str)
    assert {"product_id": products["b"], "level": "validate"} in last.data["before"]


async def test_a_choice_not_yet_saved_survives_a_new_filter(client, db, cast, products):
    await page_login(client, cast.manager.email)
    # The filter carries the form's values (hx-include): Alpha set to edit, not saved, then the filter hides it.
    listed = await client.get(panel_url(cast), params={
        "q": "beta", "listed": ["global", str(products["a"]), str(products["b"])],
        f"right_{products['a']}": "edit", f"right_{products['b']}": "read"},
        headers={"HX-Request": "true", "HX-Target": "rights-list"})
    assert f'<input type="hidden" name="right_{products["a"]}" value="edit"' in listed.text
    assert selected(listed.text, f"r-{products['b']}") == "read"  # shown: the choice, not what is stored
    assert "1 modification pas encore enregistrée" in listed.text


async def test_panel_errors_are_summarised_and_linked_to_their_field(client, db, cast, products):
    await grant(db, cast.contributor, products["a"], "read")
    await page_login(client, cast.manager.email)
    no_level = await client.post(panel_url(cast), data={
        "_csrf": csrf(client), "action": "apply", "apply_level": "", "listed": ["global", str(products["a"])],
        f"right_{products['a']}": "edit"})
    assert no_level.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', no_level.text, re.S).group(0)
    assert 'href="#apply-level"' in summary and "autofocus" in summary
    assert 'id="apply-level" name="apply_level" aria-invalid="true" aria-describedby="e-apply-level"' in no_level.text
    assert selected(no_level.text, f"r-{products['a']}") == "edit"  # the form comes back as it was sent
    bad = await client.post(panel_url(cast), data={
        "_csrf": csrf(client), "listed": ["global", str(products["b"])], f"right_{products['b']}": "owner"},
        headers={"HX-Request": "true"})
    assert bad.status_code == 422 and f'href="#r-{products["b"]}"' in bad.text
    assert bad.text.lstrip().startswith('<section id="rights-panel"')
    foreign = await client.post(panel_url(cast), data={
        "_csrf": csrf(client), "listed": ["global", str(products["foreign"])],
        f"right_{products['foreign']}": "read"})
    assert foreign.status_code == 422
    assert "Un droit désigne un produit qui n’existe pas dans votre société." in foreign.text
    assert await levels_of(db, cast.contributor) == {products["a"]: "read"}


async def test_panel_is_for_managers_of_the_member_s_company(client, db, cast, products):
    await page_login(client, cast.contributor.email)
    assert (await client.get(panel_url(cast))).status_code == 403
    assert (await client.post(panel_url(cast), data={"_csrf": csrf(client), "listed": "global",
                                                     "right_global": "validate"})).status_code == 403
    assert (await client.get(f"/team/members/{cast.outsider.id}/rights")).status_code == 404
    await page_login(client, cast.manager.email)
    assert (await client.get(f"/team/members/{cast.outsider.id}/rights")).status_code == 404
    assert (await client.get("/team/members/987654/rights")).status_code == 404
    assert (await client.post(f"/team/members/{cast.outsider.id}/rights",
                              data={"_csrf": csrf(client), "listed": "global"})).status_code == 404
    assert await levels_of(db, cast.contributor) == {}


async def test_a_hundred_products_make_one_list_not_a_hundred_columns(client, db, cast, settings):
    from tests.factories import make_product as product_factory

    async with unit_of_work(db) as session:
        ids = [(await product_factory(session, cast.company, name=f"Produit {n:03d}", version="1")).id
               for n in range(100)]
    await grant(db, cast.contributor, ids[42], "edit")
    await page_login(client, cast.manager.email)
    team = await client.get("/team")
    assert team.status_code == 200
    head = re.search(r'<table class="team-members.*?</thead>', team.text, re.S).group(0)
    assert head.count("<th scope=") == 5  # member, role, status, rights, actions: whatever the number of products
    assert team.text.count('class="rights-row"') == 100  # the invitation's compact list
    panel = await client.get(panel_url(cast))
    assert panel.text.count('<li class="rights-row">') == 100 and "100 produits affichés" in panel.text
    assert [int(i) for i in re.findall(r'<select id="r-(\d+)"', panel.text)] == ids  # sorted by name
    assert selected(panel.text, f"r-{ids[42]}") == "edit"
    # Every word of the filter, anywhere in the name: "04" finds Produit 004 and Produit 040 to 049.
    wanted = [ids[4], *ids[40:50]]
    narrowed = await client.get(panel_url(cast), params={"q": "produit 04"})
    assert [int(i) for i in re.findall(r'<select id="r-(\d+)"', narrowed.text)] == wanted
    assert "11 produits affichés sur 100" in narrowed.text
    applied = await client.post(panel_url(cast), data={
        "_csrf": csrf(client), "q": "produit 04", "action": "apply", "apply_level": "read",
        "listed": ["global", *map(str, wanted)], f"right_{ids[42]}": "edit"})
    assert applied.status_code == 303 and "applied=11" in applied.headers["location"]
    assert await levels_of(db, cast.contributor) == {i: "read" for i in wanted}


async def test_invite_form_gives_rights_from_its_compact_list(client, db, cast, products):
    await page_login(client, cast.manager.email)
    page = await client.get("/team")
    assert f'name="right_{products["a"]}"' in page.text and '<fieldset class="invite-rights">' in page.text
    bad = await client.post("/team/invite", data={"email": "x", "first_name": "A", "last_name": "B",
                                                  "role": "contributor", f"right_{products['b']}": "read",
                                                  "_csrf": csrf(client)})
    assert bad.status_code == 422 and '<option value="read" selected>' in re.search(
        rf'<select id="i-right-{products["b"]}".*?</select>', bad.text, re.S).group(0)  # kept as chosen
    ok = await client.post("/team/invite", data={"email": "lea@sante-connectee.example", "first_name": "Léa",
                                                 "last_name": "Petit", "role": "contributor",
                                                 f"right_{products['b']}": "read", "right_global": "edit",
                                                 "_csrf": csrf(client)})
    assert ok.status_code == 303
    async with db() as session:
        lea = await session.scalar(select(User).where(User.email == "lea@sante-connectee.example"))
    assert await levels_of(db, lea) == {products["b"]: "read", None: "edit"}


async def test_panel_in_english(client, db, cast, products):
    await grant(db, cast.contributor, products["a"], "read")
    await page_login(client, cast.manager.email)
    await client.post("/lang", data={"lang": "en", "next": "/team", "_csrf": csrf(client)})
    team = await client.get("/team")
    assert "Manage rights" in team.text and "1 right" in team.text
    page = await client.get(panel_url(cast), params={"q": "alpha"})
    assert "Rights of Contributor" in page.text and "1 product shown out of 2" in page.text
    assert "Give one level to the product shown" in page.text
    done = await client.post(panel_url(cast), data={"_csrf": csrf(client), "q": "alpha", "action": "apply",
                                                    "apply_level": "edit", "listed": ["global", str(products["a"])]},
                             headers={"HX-Request": "true"})
    assert "“Edit” given on the product shown; rights saved." in done.text

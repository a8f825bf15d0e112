"""Products (api.md "Products", domain.md "Products"): naming rule, base/option links, duplicates, duplication
and versions, rights (404 for other companies, 403 for ANS staff, contributors' own products), pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from convergence.core.models import AuditEvent
from convergence.products.models import Product, product_base_link
from tests.factories import csrf, make_product, page_login, token_for

BASE = {"name": "DocConnect", "os": "iOS", "device": "Mobile", "edition": "Pro", "version": "1.0", "kind": "base"}


async def count(db: Any, model: Any, *where: Any) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def links(db: Any) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(product_base_link))


async def create(client: Any, headers: dict[str, str], company_id: int, **changes: Any) -> Any:
    return await client.post(f"/api/v1/companies/{company_id}/products", json={**BASE, **changes}, headers=headers)


async def created(client: Any, headers: dict[str, str], company_id: int, **changes: Any) -> dict[str, Any]:
    response = await create(client, headers, company_id, **changes)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def manager(client, cast):
    return await token_for(client, cast.manager.email)


# ----------------------------------------------------------------------------------------- naming rule

async def test_create_a_base_product_composes_the_display_name(client, db, cast, manager):
    body = await created(client, manager, cast.company.id, commercial_name="DocConnect Patient",
                         description="Téléconsultation")
    assert body["display_name"] == "DocConnect iOS Mobile"
    assert body["naming_warnings"] == []
    assert body["kind"] == "base" and body["base_product_ids"] == []
    assert body["commercial_name"] == "DocConnect Patient"
    assert body["created_by_id"] == cast.manager.id and body["company_id"] == cast.company.id
    assert await count(db, AuditEvent, AuditEvent.action == "product.created",
                       AuditEvent.target_id == body["id"]) == 1
    shown = await client.get(f"/api/v1/products/{body['id']}", headers=manager)
    assert shown.status_code == 200 and shown.json()["display_name"] == "DocConnect iOS Mobile"


async def test_other_os_uses_the_free_text_in_the_display_name(client, cast, manager):
    body = await created(client, manager, cast.company.id, os="Other", os_other="HarmonyOS", device="Website")
    assert body["display_name"] == "DocConnect HarmonyOS Website"
    assert body["os"] == "Other" and body["os_other"] == "HarmonyOS"
    # os_other is dropped when the OS is in the list.
    body = await created(client, manager, cast.company.id, os="android", os_other="ignored")
    assert body["os"] == "Android" and body["os_other"] is None and body["display_name"] == "DocConnect Android Mobile"


@pytest.mark.parametrize(("name", "code"), [
    ("DocConnect iOS", "name_contains_os"),
    ("DocConnect Android", "name_contains_os"),
    ("DocConnect Mobile", "name_contains_device"),
    ("Portail web patient", "name_contains_device"),
    ("Un logiciel de dossier patient partagé entre tous les professionnels du territoire", "name_too_long"),
])
async def test_names_breaking_the_rule_are_flagged_not_refused(client, db, cast, manager, name, code):
    response = await create(client, manager, cast.company.id, name=name)
    assert response.status_code == 201, response.text
    assert code in [w["code"] for w in response.json()["naming_warnings"]]
    assert all(w["detail"].endswith(".") for w in response.json()["naming_warnings"])
    assert await count(db, Product) == 1


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"name": ""}, "invalid_input", "name"),
    ({"name": "   "}, "invalid_input", "name"),
    ({"name": "x" * 121}, "invalid_input", "name"),
    ({"name": 42}, "invalid_input", "name"),
    ({"os": "BeOS"}, "invalid_os", "os"),
    ({"os": None}, "invalid_os", "os"),
    ({"os": "Other", "os_other": ""}, "invalid_input", "os_other"),
    ({"device": "Tablet"}, "invalid_device", "device"),
    ({"kind": "addon"}, "invalid_kind", "kind"),
    ({"edition": "e" * 101}, "invalid_input", "edition"),
    ({"version": "v" * 51}, "invalid_input", "version"),
    ({"commercial_name": "c" * 201}, "invalid_input", "commercial_name"),
    ({"base_product_ids": "1"}, "invalid_input", "base_product_ids"),
    ({"base_product_ids": [True]}, "invalid_input", "base_product_ids"),
])
async def test_bad_input_is_refused_with_422_and_nothing_saved(client, db, cast, manager, changes, code, field):
    response = await create(client, manager, cast.company.id, **changes)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert await count(db, Product) == 0


async def test_a_body_that_is_not_an_object_is_a_422(client, db, cast, manager):
    response = await client.post(f"/api/v1/companies/{cast.company.id}/products", json=[1, 2], headers=manager)
    assert response.status_code in (400, 422)
    assert await count(db, Product) == 0


async def test_the_same_product_twice_in_a_company_is_refused(client, db, cast, manager):
    await created(client, manager, cast.company.id)
    for changes in ({}, {"name": "docconnect", "edition": "PRO"}, {"name": "  DocConnect  ", "os": "IOS"}):
        response = await create(client, manager, cast.company.id, **changes)
        assert response.status_code == 409, changes
        assert response.json()["code"] == "duplicate_product"
    assert await count(db, Product) == 1
    # Another version, edition, OS or device is another product; so is the same product in another company.
    await created(client, manager, cast.company.id, version="2.0")
    await created(client, manager, cast.company.id, edition="Solo")
    await created(client, manager, cast.company.id, device="Website")
    outsider = await token_for(client, cast.outsider.email)
    await created(client, outsider, cast.other_company.id)
    assert await count(db, Product) == 5


async def test_the_unique_constraint_backs_the_rule(client, db, cast):
    from sqlalchemy.exc import IntegrityError

    async with db() as session:
        await make_product(session, cast.company, cast.manager)
        await session.commit()
    with pytest.raises(IntegrityError):
        async with db() as session:
            await make_product(session, cast.company, cast.manager)
            await session.commit()


# ------------------------------------------------------------------------------------------ options

async def test_an_option_links_to_one_or_several_bases(client, db, cast, manager):
    ios = await created(client, manager, cast.company.id)
    android = await created(client, manager, cast.company.id, os="Android")
    option = await created(client, manager, cast.company.id, name="Agenda", kind="option",
                           base_product_ids=[ios["id"], android["id"]])
    assert option["kind"] == "option" and sorted(option["base_product_ids"]) == sorted([ios["id"], android["id"]])
    assert await links(db) == 2


async def test_option_rules(client, db, cast, manager):
    base = await created(client, manager, cast.company.id)
    option = await created(client, manager, cast.company.id, name="Agenda", kind="option",
                           base_product_ids=[base["id"]])
    outsider = await token_for(client, cast.outsider.email)
    foreign = await created(client, outsider, cast.other_company.id, name="Ailleurs")
    before = await count(db, Product)
    cases = [
        ({"base_product_ids": []}, "option_needs_base"),
        ({}, "option_needs_base"),
        ({"base_product_ids": [foreign["id"]]}, "invalid_base_product"),
        ({"base_product_ids": [999_999]}, "invalid_base_product"),
        ({"base_product_ids": [option["id"]]}, "invalid_base_product"),
        ({"base_product_ids": [base["id"], foreign["id"]]}, "invalid_base_product"),
    ]
    for changes, code in cases:
        body = {**BASE, "name": "Rappels", "kind": "option", **changes}
        if changes == {}:
            body.pop("base_product_ids", None)
        response = await client.post(f"/api/v1/companies/{cast.company.id}/products", json=body, headers=manager)
        assert response.status_code == 422, (changes, response.text)
        assert response.json()["code"] == code
    # A base product extends nothing.
    response = await create(client, manager, cast.company.id, name="Rappels", base_product_ids=[base["id"]])
    assert response.status_code == 422 and response.json()["code"] == "base_with_bases"
    assert await count(db, Product) == before and await links(db) == 1


async def test_a_base_with_options_cannot_be_deleted(client, db, cast, manager):
    base = await created(client, manager, cast.company.id)
    option = await created(client, manager, cast.company.id, name="Agenda", kind="option",
                           base_product_ids=[base["id"]])
    response = await client.delete(f"/api/v1/products/{base['id']}", headers=manager)
    assert response.status_code == 409
    assert response.json()["code"] == "base_has_options"
    assert "Agenda iOS Mobile" in response.json()["detail"]
    assert [o["id"] for o in response.json()["options"]] == [option["id"]]
    assert await count(db, Product) == 2
    assert (await client.delete(f"/api/v1/products/{option['id']}", headers=manager)).status_code == 204
    assert await links(db) == 0
    assert (await client.delete(f"/api/v1/products/{base['id']}", headers=manager)).status_code == 204
    assert await count(db, Product) == 0
    assert await count(db, AuditEvent, AuditEvent.action == "product.deleted") == 2
    assert (await client.get(f"/api/v1/products/{base['id']}", headers=manager)).status_code == 404


async def test_patch_updates_and_validates_like_a_creation(client, db, cast, manager):
    base = await created(client, manager, cast.company.id)
    other = await created(client, manager, cast.company.id, name="MédiBox")
    response = await client.patch(f"/api/v1/products/{other['id']}", headers=manager,
                                  json={"name": "MédiBox Android", "commercial_name": "MédiBox"})
    assert response.status_code == 200
    assert response.json()["display_name"] == "MédiBox Android iOS Mobile"
    assert [w["code"] for w in response.json()["naming_warnings"]] == ["name_contains_os"]
    assert response.json()["version"] == "1.0"  # untouched fields stay
    audit = await count(db, AuditEvent, AuditEvent.action == "product.updated")
    assert audit == 1
    for body, status, code in [
        ({"name": "DocConnect"}, 409, "duplicate_product"),
        ({"os": "Symbian"}, 422, "invalid_os"),
        ({"kind": "option"}, 422, "option_needs_base"),
        ({"kind": "option", "base_product_ids": [other["id"]]}, 422, "invalid_base_product"),
        ({"base_product_ids": [base["id"]]}, 422, "base_with_bases"),
    ]:
        response = await client.patch(f"/api/v1/products/{other['id']}", headers=manager, json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    async with db() as session:
        row = await session.get(Product, other["id"])
        assert (row.name, row.os, row.kind) == ("MédiBox Android", "iOS", "base")
    assert await count(db, AuditEvent, AuditEvent.action == "product.updated") == 1


async def test_changing_a_base_into_an_option_and_back(client, db, cast, manager):
    base = await created(client, manager, cast.company.id)
    second = await created(client, manager, cast.company.id, name="Agenda")
    converted = await client.patch(f"/api/v1/products/{second['id']}", headers=manager,
                                   json={"kind": "option", "base_product_ids": [base["id"]]})
    assert converted.status_code == 200 and converted.json()["base_product_ids"] == [base["id"]]
    # The base now has an option: it cannot become an option itself.
    third = await created(client, manager, cast.company.id, name="Rappels")
    response = await client.patch(f"/api/v1/products/{base['id']}", headers=manager,
                                  json={"kind": "option", "base_product_ids": [third["id"]]})
    assert response.status_code == 409 and response.json()["code"] == "base_has_options"
    # An option cannot name itself as its base.
    response = await client.patch(f"/api/v1/products/{second['id']}", headers=manager,
                                  json={"base_product_ids": [second["id"]]})
    assert response.status_code == 422 and response.json()["code"] == "invalid_base_product"
    back = await client.patch(f"/api/v1/products/{second['id']}", headers=manager, json={"kind": "base"})
    assert back.status_code == 200 and back.json()["kind"] == "base" and back.json()["base_product_ids"] == []
    assert await links(db) == 0


# ------------------------------------------------------------------------------ duplicate and versions

async def test_duplicate_and_convert_into_an_option(client, db, cast, manager):
    base = await created(client, manager, cast.company.id)
    other = await created(client, manager, cast.company.id, name="MédiBox")
    response = await client.post(f"/api/v1/products/{base['id']}/duplicate", headers=manager,
                                 json={"as_option": True, "base_product_ids": [other["id"]]})
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["kind"] == "option" and copy["base_product_ids"] == [other["id"]]
    assert copy["name"] == "DocConnect" and copy["version"] == "1.0"
    # The copy gets a distinguishing edition, in the caller's language (the test client asks for English).
    assert copy["edition"] == "Pro (copy)"
    assert copy["created_by_id"] == cast.manager.id
    again = await client.post(f"/api/v1/products/{base['id']}/duplicate", headers=manager, json={})
    assert again.status_code == 201 and again.json()["edition"] == "Pro (copy 2)"
    assert again.json()["kind"] == "base"
    chosen = await client.post(f"/api/v1/products/{base['id']}/duplicate", headers=manager,
                               json={"as_option": False, "edition": "Hôpital", "version": "1.1"})
    assert chosen.status_code == 201 and (chosen.json()["edition"], chosen.json()["version"]) == ("Hôpital", "1.1")
    assert await count(db, AuditEvent, AuditEvent.action == "product.duplicated") == 3
    before = await count(db, Product)
    for body, status, code in [
        ({"edition": "Hôpital", "version": "1.1"}, 409, "duplicate_product"),
        ({"as_option": True}, 422, "option_needs_base"),
        ({"as_option": True, "base_product_ids": [copy["id"]]}, 422, "invalid_base_product"),
        ({"as_option": "yes"}, 422, "invalid_input"),
        ({"as_option": True, "base_product_ids": [other["id"]], "edition": "e" * 101}, 422, "invalid_input"),
    ]:
        response = await client.post(f"/api/v1/products/{base['id']}/duplicate", headers=manager, json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    assert await count(db, Product) == before


async def test_duplicating_an_option_keeps_its_bases(client, cast, manager):
    base = await created(client, manager, cast.company.id)
    option = await created(client, manager, cast.company.id, name="Agenda", kind="option",
                           base_product_ids=[base["id"]])
    response = await client.post(f"/api/v1/products/{option['id']}/duplicate", headers=manager,
                                 json={"as_option": False})
    assert response.status_code == 201
    assert response.json()["kind"] == "option" and response.json()["base_product_ids"] == [base["id"]]


async def test_a_new_version_is_registered_from_the_old_one(client, db, cast, manager):
    base = await created(client, manager, cast.company.id)
    option = await created(client, manager, cast.company.id, name="Agenda", kind="option",
                           base_product_ids=[base["id"]])
    response = await client.post(f"/api/v1/products/{base['id']}/versions", headers=manager, json={"version": "2.0"})
    assert response.status_code == 201, response.text
    v2 = response.json()
    assert v2["previous_version_id"] == base["id"] and v2["version"] == "2.0"
    assert (v2["name"], v2["edition"], v2["os"], v2["device"], v2["kind"]) == ("DocConnect", "Pro", "iOS", "Mobile", "base")
    option_v2 = await client.post(f"/api/v1/products/{option['id']}/versions", headers=manager, json={"version": "2"})
    assert option_v2.status_code == 201 and option_v2.json()["base_product_ids"] == [base["id"]]
    assert await count(db, AuditEvent, AuditEvent.action == "product.version_created") == 2
    before = await count(db, Product)
    for body, status, code in [({"version": "2.0"}, 409, "duplicate_product"), ({"version": "1.0"}, 409, "duplicate_product"),
                               ({"version": ""}, 422, "version_required"), ({}, 422, "version_required"),
                               ({"version": 3}, 422, "version_required")]:
        response = await client.post(f"/api/v1/products/{base['id']}/versions", headers=manager, json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    assert await count(db, Product) == before
    # Deleting the old version keeps the new one, without a predecessor.
    await client.delete(f"/api/v1/products/{option['id']}", headers=manager)
    await client.delete(f"/api/v1/products/{option_v2.json()['id']}", headers=manager)
    assert (await client.delete(f"/api/v1/products/{base['id']}", headers=manager)).status_code == 204
    shown = await client.get(f"/api/v1/products/{v2['id']}", headers=manager)
    assert shown.json()["previous_version_id"] is None


# ------------------------------------------------------------------------------------------------ lists

async def test_list_filters_search_and_pagination(client, cast, manager):
    base = await created(client, manager, cast.company.id, commercial_name="Mon Doc")
    await created(client, manager, cast.company.id, os="Android", device="Website", version="3.2")
    await created(client, manager, cast.company.id, name="Agenda", kind="option", base_product_ids=[base["id"]],
                  edition="Cabinet Éducation")
    url = f"/api/v1/companies/{cast.company.id}/products"

    async def names(**params: Any) -> list[str]:
        response = await client.get(url, params=params, headers=manager)
        assert response.status_code == 200, response.text
        return sorted(f"{p['display_name']} {p['version']}" for p in response.json()["items"])

    assert len(await names()) == 3
    assert await names(kind="option") == ["Agenda iOS Mobile 1.0"]
    assert await names(os="android") == ["DocConnect Android Website 3.2"]
    assert await names(device="Website") == ["DocConnect Android Website 3.2"]
    assert await names(q="mon doc") == ["DocConnect iOS Mobile 1.0"]
    assert await names(q="cabinet") == ["Agenda iOS Mobile 1.0"]
    assert await names(q="éducation") == ["Agenda iOS Mobile 1.0"]  # accents fold on SQLite as on PostgreSQL
    assert await names(q="3.2") == ["DocConnect Android Website 3.2"]
    page = (await client.get(url, params={"limit": 2, "offset": 2}, headers=manager)).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    for params, code in [({"kind": "x"}, "invalid_kind"), ({"os": "x"}, "invalid_os"), ({"device": "x"}, "invalid_device")]:
        response = await client.get(url, params=params, headers=manager)
        assert (response.status_code, response.json()["code"]) == (422, code)
    assert (await client.get(url, params={"limit": 0}, headers=manager)).status_code in (400, 422)


# ------------------------------------------------------------------------------------------------ rights

async def test_another_company_answers_404_everywhere(client, db, cast, manager):
    base = await created(client, manager, cast.company.id)
    outsider = await token_for(client, cast.outsider.email)
    pid = base["id"]
    calls = [
        client.get(f"/api/v1/products/{pid}", headers=outsider),
        client.patch(f"/api/v1/products/{pid}", json={"name": "Volé"}, headers=outsider),
        client.delete(f"/api/v1/products/{pid}", headers=outsider),
        client.post(f"/api/v1/products/{pid}/duplicate", json={}, headers=outsider),
        client.post(f"/api/v1/products/{pid}/versions", json={"version": "9"}, headers=outsider),
        client.get(f"/api/v1/companies/{cast.company.id}/products", headers=outsider),
        client.post(f"/api/v1/companies/{cast.company.id}/products", json=BASE, headers=outsider),
        client.post(f"/api/v1/companies/{cast.company.id}/products", json={}, headers=outsider),
        client.post(f"/api/v1/companies/{cast.company.id}/products/import", content=b"name,os,device\nX,iOS,Mobile\n",
                    headers={**outsider, "Content-Type": "text/csv"}),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert await count(db, Product) == 1
    async with db() as session:
        assert (await session.get(Product, pid)).name == "DocConnect"
    # ... and its own list does not show it.
    own = await client.get(f"/api/v1/companies/{cast.other_company.id}/products", headers=outsider)
    assert own.json() == {"items": [], "total": 0}


@pytest.mark.parametrize("who", ["support", "reviewer"])
async def test_ans_staff_get_403_on_vendor_product_routes(client, db, cast, manager, who):
    base = await created(client, manager, cast.company.id)
    staff = await token_for(client, getattr(cast, who).email)
    pid, cid = base["id"], cast.company.id
    for method, url, body in [
        ("GET", f"/api/v1/products/{pid}", None), ("PATCH", f"/api/v1/products/{pid}", {"name": "X"}),
        ("DELETE", f"/api/v1/products/{pid}", None), ("POST", f"/api/v1/products/{pid}/duplicate", {}),
        ("POST", f"/api/v1/products/{pid}/versions", {"version": "2"}),
        ("GET", f"/api/v1/companies/{cid}/products", None), ("POST", f"/api/v1/companies/{cid}/products", BASE),
        ("POST", f"/api/v1/companies/{cid}/products/import?dry_run=true", None),
    ]:
        response = await client.request(method, url, json=body, headers=staff)
        assert response.status_code == 403, (method, url, response.text)
    assert await count(db, Product) == 1


async def test_signed_out_calls_answer_401(client, cast):
    assert (await client.get(f"/api/v1/companies/{cast.company.id}/products")).status_code == 401
    assert (await client.post(f"/api/v1/companies/{cast.company.id}/products", json=BASE)).status_code == 401


async def test_a_contributor_edits_what_they_create_and_sees_nothing_else(client, db, cast, manager):
    theirs = await created(client, manager, cast.company.id)
    contributor = await token_for(client, cast.contributor.email)
    mine = await created(client, contributor, cast.company.id, name="Agenda")
    assert mine["created_by_id"] == cast.contributor.id
    listed = await client.get(f"/api/v1/companies/{cast.company.id}/products", headers=contributor)
    assert [p["id"] for p in listed.json()["items"]] == [mine["id"]] and listed.json()["total"] == 1
    # The manager sees both.
    listed = await client.get(f"/api/v1/companies/{cast.company.id}/products", headers=manager)
    assert listed.json()["total"] == 2
    # Own product: read, edit, duplicate, new version, delete.
    assert (await client.get(f"/api/v1/products/{mine['id']}", headers=contributor)).status_code == 200
    patched = await client.patch(f"/api/v1/products/{mine['id']}", json={"version": "1.1"}, headers=contributor)
    assert patched.status_code == 200
    copy = await client.post(f"/api/v1/products/{mine['id']}/duplicate", json={}, headers=contributor)
    assert copy.status_code == 201 and copy.json()["created_by_id"] == cast.contributor.id
    assert (await client.post(f"/api/v1/products/{mine['id']}/versions", json={"version": "2"},
                              headers=contributor)).status_code == 201
    assert (await client.delete(f"/api/v1/products/{copy.json()['id']}", headers=contributor)).status_code == 204
    # Someone else's product: no right at all (404, it is not theirs to know).
    for method, url, body in [
        ("GET", f"/api/v1/products/{theirs['id']}", None),
        ("PATCH", f"/api/v1/products/{theirs['id']}", {"name": "X"}),
        ("DELETE", f"/api/v1/products/{theirs['id']}", None),
        ("POST", f"/api/v1/products/{theirs['id']}/duplicate", {}),
        ("POST", f"/api/v1/products/{theirs['id']}/versions", {"version": "2"}),
    ]:
        response = await client.request(method, url, json=body, headers=contributor)
        assert response.status_code == 404, (method, url)
    # Nor can they hang an option on it.
    response = await create(client, contributor, cast.company.id, name="Rappels", kind="option",
                            base_product_ids=[theirs["id"]])
    assert response.status_code == 422 and response.json()["code"] == "invalid_base_product"
    async with db() as session:
        assert (await session.get(Product, theirs["id"])).name == "DocConnect"


async def test_read_level_without_edit_gets_403(client, db, cast, manager):
    """With a stored read right, the contributor reads but cannot change (403)."""
    from convergence.companies.team_models import MemberRight
    from convergence.core.db import unit_of_work

    theirs = await created(client, manager, cast.company.id)
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=theirs["id"],
                                level="read"))
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.get(f"/api/v1/products/{theirs['id']}", headers=contributor)).status_code == 200
    listed = await client.get(f"/api/v1/companies/{cast.company.id}/products", headers=contributor)
    assert listed.json()["total"] == 1
    for method, url, body in [
        ("PATCH", f"/api/v1/products/{theirs['id']}", {"name": "X"}),
        ("DELETE", f"/api/v1/products/{theirs['id']}", None),
        ("POST", f"/api/v1/products/{theirs['id']}/duplicate", {}),
        ("POST", f"/api/v1/products/{theirs['id']}/versions", {"version": "2"}),
    ]:
        response = await client.request(method, url, json=body, headers=contributor)
        assert response.status_code == 403 and response.json()["code"] == "forbidden", (method, url)
    assert await count(db, Product) == 1


# ------------------------------------------------------------------------------------------------- pages

async def _page_create(client: Any, **fields: Any) -> Any:
    data = {"_csrf": csrf(client), "name": "DocConnect", "os": "iOS", "os_other": "", "device": "Mobile",
            "edition": "Pro", "version": "1.0", "kind": "base", "commercial_name": "", "description": "", **fields}
    return await client.post("/products/new", data=data)


async def test_pages_create_a_base_and_an_option_and_group_them(client, db, cast):
    await page_login(client, cast.manager.email)
    form = await client.get("/products/new")
    assert form.status_code == 200
    assert 'hx-post="/products/preview"' in form.text and "(Name of the Product) (OS) (Device)" in form.text or \
        "(Nom du produit) (OS) (Support)" in form.text
    response = await _page_create(client)
    assert response.status_code == 303
    base_id = int(re.search(r"/products/(\d+)$", response.headers["location"]).group(1))
    second = await _page_create(client, os="Android")
    android_id = int(second.headers["location"].rsplit("/", 1)[1])
    option = await client.post("/products/new", data={
        "_csrf": csrf(client), "name": "Agenda", "os": "iOS", "device": "Mobile", "kind": "option",
        "base_product_ids": [str(base_id), str(android_id)]})
    assert option.status_code == 303, option.text
    await _page_create(client, name="Solo", os="Linux", device="Website")
    catalogue = await client.get("/products")
    assert catalogue.status_code == 200
    assert catalogue.headers["content-type"].startswith("text/html")
    text = catalogue.text
    # Each base is followed by its options; the option with two bases appears under each.
    assert text.count("Agenda iOS Mobile") == 2
    order = [m.group(0) for m in re.finditer(r"DocConnect iOS Mobile|DocConnect Android Mobile|Agenda iOS Mobile|Solo Linux Website", text)]
    assert order == ["DocConnect Android Mobile", "Agenda iOS Mobile", "DocConnect iOS Mobile", "Agenda iOS Mobile",
                     "Solo Linux Website"]
    # No step chosen yet: the progress cell says so and leads to the questionnaires page.
    assert "Aucune étape choisie" in text and f'href="/products/{base_id}/questionnaires"' in text
    detail = await client.get(f"/products/{base_id}")
    assert detail.status_code == 200 and "Agenda iOS Mobile" in detail.text


async def test_catalogue_filters_and_search(client, db, cast):
    async with db() as session:
        base = await make_product(session, cast.company, cast.manager, name="DocConnect", commercial_name="Mon Doc")
        await make_product(session, cast.company, cast.manager, name="Agenda", kind="option", bases=[base])
        await make_product(session, cast.company, cast.manager, name="Solo", os="Linux", device="Website",
                           version="7.1")
        await session.commit()
    await page_login(client, cast.manager.email)

    async def shown(**params: str) -> set[str]:
        response = await client.get("/products", params=params, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert "<html" not in response.text  # the HTMX request gets the partial only
        return set(re.findall(r"DocConnect iOS Mobile|Agenda iOS Mobile|Solo Linux Website", response.text))

    assert await shown() == {"DocConnect iOS Mobile", "Agenda iOS Mobile", "Solo Linux Website"}
    assert await shown(kind="option") == {"DocConnect iOS Mobile", "Agenda iOS Mobile"}  # base as the heading
    assert await shown(kind="base") == {"DocConnect iOS Mobile", "Solo Linux Website"}
    assert await shown(os="Linux") == {"Solo Linux Website"}
    assert await shown(device="Mobile") == {"DocConnect iOS Mobile", "Agenda iOS Mobile"}
    assert await shown(q="mon doc") == {"DocConnect iOS Mobile"}
    assert await shown(q="7.1") == {"Solo Linux Website"}
    response = await client.get("/products", params={"kind": "nope"})
    assert response.status_code == 422


async def test_live_display_name_partial(client, cast):
    await page_login(client, cast.manager.email)
    response = await client.post("/products/preview", headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)},
                                 data={"name": "DocConnect", "os": "Other", "os_other": "KaiOS", "device": "Mobile"})
    assert response.status_code == 200
    assert "<html" not in response.text and "DocConnect KaiOS Mobile" in response.text
    assert "naming-warnings" not in response.text
    flagged = await client.post("/products/preview", headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)},
                                data={"name": "DocConnect Android", "os": "iOS", "device": "Website"})
    assert "DocConnect Android iOS Website" in flagged.text and "naming-warnings" in flagged.text
    assert "système d’exploitation" in flagged.text  # explained, in French
    refused = await client.post("/products/preview", headers={"HX-Request": "true"},
                                data={"name": "DocConnect", "os": "iOS", "device": "Website"})
    assert refused.status_code == 403


async def test_invalid_form_is_rerendered_with_422_and_nothing_saved(client, db, cast):
    await page_login(client, cast.manager.email)
    response = await _page_create(client, kind="option")
    assert response.status_code == 422
    assert 'id="product-form"' in response.text and "Choisissez au moins un produit socle" in response.text
    assert 'value="DocConnect"' in response.text  # the values come back
    response = await _page_create(client, os="BeOS", name="")
    assert response.status_code == 422 and 'aria-invalid="true"' in response.text
    await _page_create(client)
    duplicate = await _page_create(client, name="docconnect")
    assert duplicate.status_code == 409 and "existe déjà" in duplicate.text
    assert await count(db, Product) == 1
    # HTMX posts get the form partial only.
    partial = await client.post("/products/new", headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)},
                                data={"name": "", "os": "iOS", "device": "Mobile", "kind": "base"})
    assert partial.status_code == 422 and "<html" not in partial.text and 'id="product-form"' in partial.text


async def test_page_forms_require_the_csrf_token(client, db, cast):
    async with db() as session:
        product = await make_product(session, cast.company, cast.manager)
        await session.commit()
    await page_login(client, cast.manager.email)
    for url, data in [("/products/new", {"name": "X", "os": "iOS", "device": "Mobile", "kind": "base"}),
                      (f"/products/{product.id}/edit", {"name": "X", "os": "iOS", "device": "Mobile", "kind": "base"}),
                      (f"/products/{product.id}/delete", {}), (f"/products/{product.id}/duplicate", {}),
                      (f"/products/{product.id}/versions/new", {"version": "2"}), ("/products/preview", {"name": "X"})]:
        response = await client.post(url, data=data)
        assert response.status_code == 403, url
    assert await count(db, Product) == 1


async def test_pages_edit_delete_duplicate_and_version(client, db, cast):
    async with db() as session:
        base = await make_product(session, cast.company, cast.manager, name="DocConnect")
        other = await make_product(session, cast.company, cast.manager, name="MédiBox")
        option = await make_product(session, cast.company, cast.manager, name="Agenda", kind="option", bases=[base])
        await session.commit()
    await page_login(client, cast.manager.email)
    edit = await client.get(f"/products/{other.id}/edit")
    assert edit.status_code == 200 and 'value="MédiBox"' in edit.text
    saved = await client.post(f"/products/{other.id}/edit", data={
        "_csrf": csrf(client), "name": "MédiBox", "os": "Android", "device": "Mobile", "kind": "base",
        "edition": "", "version": "1.0"})
    assert saved.status_code == 303
    bad = await client.post(f"/products/{other.id}/edit", data={
        "_csrf": csrf(client), "name": "MédiBox", "os": "Android", "device": "Mobile", "kind": "option"})
    assert bad.status_code == 422 and 'id="product-form"' in bad.text
    # Deleting a base with options: the confirmation page explains why not, naming the option.
    confirm = await client.get(f"/products/{base.id}/delete")
    assert confirm.status_code == 200
    refused = await client.post(f"/products/{base.id}/delete", data={"_csrf": csrf(client)})
    assert refused.status_code == 409 and "Agenda iOS Mobile" in refused.text
    # Duplicate the base into an option of MédiBox.
    dup_form = await client.get(f"/products/{base.id}/duplicate")
    assert dup_form.status_code == 200 and "MédiBox Android Mobile" in dup_form.text
    dup = await client.post(f"/products/{base.id}/duplicate", data={
        "_csrf": csrf(client), "as_option": "yes", "base_product_ids": str(other.id)})
    assert dup.status_code == 303
    no_base = await client.post(f"/products/{base.id}/duplicate", data={"_csrf": csrf(client), "as_option": "yes"})
    assert no_base.status_code == 422 and "Choisissez au moins un produit socle" in no_base.text
    # New version, shown as a lineage.
    version = await client.post(f"/products/{base.id}/versions/new", data={"_csrf": csrf(client), "version": "2.0"})
    assert version.status_code == 303
    new_id = int(version.headers["location"].rsplit("/", 1)[1])
    detail = await client.get(f"/products/{new_id}")
    assert "DocConnect iOS Mobile Pro 1.0" in detail.text and 'class="lineage"' in detail.text
    catalogue = await client.get("/products")
    assert 'class="lineage"' in catalogue.text
    empty_version = await client.post(f"/products/{base.id}/versions/new", data={"_csrf": csrf(client), "version": ""})
    assert empty_version.status_code == 422
    # Delete the option, then the base.
    assert (await client.post(f"/products/{option.id}/delete", data={"_csrf": csrf(client)})).status_code == 303
    async with db() as session:
        assert await session.get(Product, option.id) is None


async def test_pages_scope_and_rights(client, db, cast):
    async with db() as session:
        product = await make_product(session, cast.company, cast.manager)
        await session.commit()
    await page_login(client, cast.outsider.email)
    for url in ("/products/%d" % product.id, "/products/%d/edit" % product.id, "/products/%d/delete" % product.id,
                "/products/%d/duplicate" % product.id, "/products/%d/versions/new" % product.id):
        assert (await client.get(url)).status_code == 404, url
    assert "DocConnect" not in (await client.get("/products")).text
    response = await client.post(f"/products/{product.id}/delete", data={"_csrf": csrf(client)})
    assert response.status_code == 404
    await client.post("/logout", data={"_csrf": csrf(client)})
    await page_login(client, cast.support.email)
    assert (await client.get("/products")).status_code == 403
    assert (await client.get(f"/products/{product.id}")).status_code == 403
    await client.post("/logout", data={"_csrf": csrf(client)})
    signed_out = await client.get("/products")
    assert signed_out.status_code == 303 and "/login" in signed_out.headers["location"]
    await page_login(client, cast.contributor.email)
    assert (await client.get(f"/products/{product.id}")).status_code == 404
    assert "DocConnect" not in (await client.get("/products")).text
    async with db() as session:
        assert await session.get(Product, product.id) is not None

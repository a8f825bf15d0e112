"""Mon Espace Santé referencing: the workflow table, the pages (vendor filing form, application page, verdicts over
HTMX and without JavaScript, decision), PDF checks, and the simulation's applications in every state."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from convergence.core.db import unit_of_work
from convergence.core.errors import Conflict
from convergence.referencing import attachments, workflow
from convergence.referencing.models import AppStatus, ReferencingApplication
from convergence.referencing.workflow import TRANSITIONS, Action
from tests.factories import csrf, page_login, token_for
from tests.test_referencing_api import FORM, content, pdf_bytes, validated_product  # noqa: F401

__all__ = ["content"]


def test_transitions_table():
    """The whole life of an application, and nothing else: a decided application is final."""
    assert TRANSITIONS[(AppStatus.FILED, Action.ASSIGN)] == AppStatus.UNDER_REVIEW
    assert TRANSITIONS[(AppStatus.FILED, Action.VERDICT)] == AppStatus.UNDER_REVIEW
    assert TRANSITIONS[(AppStatus.UNDER_REVIEW, Action.REQUEST_INFO)] == AppStatus.INFO_REQUESTED
    assert TRANSITIONS[(AppStatus.INFO_REQUESTED, Action.RESUBMIT)] == AppStatus.UNDER_REVIEW
    assert TRANSITIONS[(AppStatus.UNDER_REVIEW, Action.REFERENCE)] == AppStatus.REFERENCED
    assert TRANSITIONS[(AppStatus.UNDER_REVIEW, Action.REFUSE)] == AppStatus.REFUSED
    for decided in (AppStatus.REFERENCED, AppStatus.REFUSED):
        for action in Action:
            with pytest.raises(Conflict):
                workflow.target(decided, action)
    with pytest.raises(Conflict):
        workflow.target(AppStatus.FILED, Action.REFERENCE)  # never decided unverified
    with pytest.raises(Conflict):
        workflow.target(AppStatus.INFO_REQUESTED, Action.VERDICT)  # the vendor is changing the answers


def test_pdf_is_checked_by_content():
    pdf = pdf_bytes()
    assert attachments.is_pdf(pdf)
    assert not attachments.is_pdf(b"%PDF-1.4\n%%EOF")  # the magic alone is not a PDF
    assert not attachments.is_pdf(pdf[: len(pdf) // 2])  # truncated
    assert not attachments.is_pdf(b"<html>" + pdf)
    checked = attachments.check([attachments.Upload("../../etc/rapport.pdf", pdf)])
    assert checked[0].filename == "rapport.pdf" and len(checked[0].sha256) == 64
    with pytest.raises(Exception) as too_many:
        attachments.check([attachments.Upload(f"{i}.pdf", pdf) for i in range(6)])
    assert too_many.value.code == "too_many_attachments"
    with pytest.raises(Exception) as too_big:
        attachments.check([attachments.Upload("big.pdf", pdf + b"0" * attachments.MAX_BYTES)])
    assert too_big.value.code == "attachment_too_large"


async def test_vendor_page_files_the_application_and_the_reviewer_decides(client, db, cast, content):  # noqa: F811
    manager = await token_for(client, cast.manager.email)
    product, _ = await validated_product(client, db, manager, cast.company.id)

    await page_login(client, cast.manager.email)
    detail = await client.get(f"/products/{product}")
    assert f'href="/products/{product}/referencing"' in detail.text
    page = await client.get(f"/products/{product}/referencing")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'name="attachments"' in page.text

    refused = await client.post(f"/products/{product}/referencing", data={**FORM, "category": "", "_csrf": csrf(client)},
                                files={"attachments": ("x.pdf", b"not a pdf", "application/pdf")})
    assert refused.status_code == 422 and "error-summary" in refused.text
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(ReferencingApplication)) == 0
    filed = await client.post(f"/products/{product}/referencing", data={**FORM, "_csrf": csrf(client)},
                              files={"attachments": ("note.pdf", pdf_bytes(), "application/pdf")})
    assert filed.status_code == 303, filed.text
    location = filed.headers["location"]
    app_id = int(location.split("/")[-1].split("?")[0])
    shown = await client.get(location)
    assert shown.status_code == 200 and "Mon Suivi Citoyen" in shown.text and "note.pdf" in shown.text
    assert "verdict-form" not in shown.text  # no ANS form for the vendor
    listed = await client.get(f"/products/{product}/referencing")
    assert f"/referencing/applications/{app_id}" in listed.text

    await client.post("/logout", data={"_csrf": csrf(client)})
    client.cookies.clear()
    await page_login(client, cast.reviewer.email)
    page = await client.get(f"/referencing/applications/{app_id}")
    assert page.status_code == 200 and "verdict-form" in page.text
    assigned = await client.post(f"/referencing/applications/{app_id}/assign",
                                 data={"assignee_id": str(cast.reviewer.id), "_csrf": csrf(client)})
    assert assigned.status_code == 303
    async with db() as session:
        codes = [c["code"] for c in (await session.get(ReferencingApplication, app_id)).snapshot["chapters"]]

    # Over HTMX the chapter is swapped in place; a refusal comes back in the chapter with 422.
    htmx = {"HX-Request": "true"}
    bad = await client.post(f"/referencing/applications/{app_id}/verdicts", headers=htmx, data={
        "chapter_code": codes[0], "verdict": "a_completer", "comment": "", "_csrf": csrf(client)})
    assert bad.status_code == 422 and "<html" not in bad.text and f'id="chapter-{codes[0].replace(":", "-")}"' in bad.text
    ok = await client.post(f"/referencing/applications/{app_id}/verdicts", headers=htmx, data={
        "chapter_code": codes[0], "verdict": "conforme", "comment": "", "_csrf": csrf(client)})
    assert ok.status_code == 200 and "<html" not in ok.text and cast.reviewer.full_name in ok.text
    # Without JavaScript: 303 back to the chapter.
    for code in codes[1:]:
        plain = await client.post(f"/referencing/applications/{app_id}/verdicts", data={
            "chapter_code": code, "verdict": "conforme", "_csrf": csrf(client)})
        assert plain.status_code == 303 and plain.headers["location"].endswith(code.replace(":", "-"))

    early = await client.post(f"/referencing/applications/{app_id}/decision",
                              data={"decision": "refused", "reasons": "", "_csrf": csrf(client)})
    assert early.status_code == 422 and "error-summary" in early.text
    decided = await client.post(f"/referencing/applications/{app_id}/decision",
                                data={"decision": "referenced", "reasons": "", "_csrf": csrf(client)})
    assert decided.status_code == 303
    async with db() as session:
        decided_row = await session.get(ReferencingApplication, app_id)
    assert decided_row.status == "referenced" and decided_row.assignee_id == cast.reviewer.id


async def test_the_outsider_never_sees_the_pages(client, db, cast, content):  # noqa: F811
    manager = await token_for(client, cast.manager.email)
    product, _ = await validated_product(client, db, manager, cast.company.id)
    filed = await client.post(f"/api/v1/products/{product}/referencing-applications", data=FORM,
                              files={"none": ("", b"")}, headers=manager)
    app_id = filed.json()["application"]["id"]
    await page_login(client, cast.outsider.email)
    assert (await client.get(f"/products/{product}/referencing")).status_code == 404
    assert (await client.get(f"/referencing/applications/{app_id}")).status_code == 404
    assert (await client.post(f"/referencing/applications/{app_id}/reopen",
                              data={"_csrf": csrf(client)})).status_code == 404


async def test_simulate_applications_in_every_state(settings, db, cast, client, content):  # noqa: F811
    from convergence.referencing.simulate import simulate_applications

    manager = await token_for(client, cast.manager.email)
    for name in ("Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"):
        await validated_product(client, db, manager, cast.company.id, name=name)
    async with unit_of_work(db) as session:
        created = await simulate_applications(session, random.Random(7))
    assert created >= 5
    async with db() as session:
        statuses = set((await session.scalars(select(ReferencingApplication.status))).all())
        one = await session.scalar(select(ReferencingApplication).where(ReferencingApplication.status == "referenced"))
    assert statuses == set(AppStatus)
    assert one.snapshot["chapters"] and one.decided_at is not None
    async with unit_of_work(db) as session:
        assert await simulate_applications(session, random.Random(7)) == 0  # every eligible step already has one

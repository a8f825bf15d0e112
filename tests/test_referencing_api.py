"""Mon Espace Santé referencing through the JSON API: filing rules, verification per chapter, request for
information → vendor reopen → revalidation → resubmission, decision rules, flags, e-mails, tenancy."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from convergence.core.db import unit_of_work
from convergence.core.models import AuditEvent, OutboxMessage
from convergence.questionnaires.fixtures import load_questionnaires
from convergence.referencing.models import ChapterVerdict, ReferencingApplication
from tests.factories import token_for
from tests.test_questionnaires import complete_answers, items_of, make_product, step_id

STEP = "mes-without-exchange"


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
async def content(settings, db, cast) -> None:
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) > 0


async def validated_product(client: Any, db: Any, headers: dict[str, str], company_id: int, *,
                            step: str = STEP, name: str = "Mon Suivi", validate: bool = True) -> tuple[int, list[int]]:
    """A product enrolled in a Mon Espace Santé step whose questionnaires are answered, submitted and validated."""
    product = await make_product(db, company_id, name=name, commercial_name=f"{name} Citoyen")
    enrolled = await client.put(f"/api/v1/products/{product}/steps", json={"step_ids": [await step_id(db, step)]},
                                headers=headers)
    assert enrolled.status_code == 200, enrolled.text
    rows = (await client.get(f"/api/v1/products/{product}/responses", headers=headers)).json()["items"]
    for row in rows:
        await complete(client, db, headers, row["id"], validate=validate)
    return product, [r["id"] for r in rows]


async def complete(client: Any, db: Any, headers: dict[str, str], rid: int, *, validate: bool = True,
                   change: bool = False) -> None:
    detail = (await client.get(f"/api/v1/responses/{rid}", headers=headers)).json()
    answers = complete_answers(await items_of(db, rid))
    if change:
        items = await items_of(db, rid)
        text_item = next(i for i in items if i.type == "text")
        answers[str(text_item.id)] = "Description complétée à la demande de l'ANS"
    saved = await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": detail["version"],
                                                                         "answers": answers}, headers=headers)
    assert saved.status_code == 200, saved.text
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=headers)).status_code == 200
    if validate:
        assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=headers)).status_code == 200


FORM = {"step_code": STEP, "commercial_name": "Mon Suivi Citoyen", "description": "Un carnet de suivi pour les patients.",
        "category": "chronic", "contact_name": "Claire Martin", "contact_email": "claire@sante-connectee.example",
        "contact_phone": "+33 1 23 45 67 89"}


async def file(client: Any, headers: dict[str, str], product: int, files: Any = None, **changes: Any) -> Any:
    return await client.post(f"/api/v1/products/{product}/referencing-applications",
                             data={**FORM, **changes}, files=files or {"none": ("", b"")}, headers=headers)


async def test_filing_rules(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    product, rids = await validated_product(client, db, manager, cast.company.id, validate=False)

    not_validated = await file(client, manager, product)
    assert not_validated.status_code == 409 and not_validated.json()["code"] == "not_validated"
    for rid in rids:
        assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=manager)).status_code == 200

    bad = await file(client, manager, product, commercial_name="", category="bogus", contact_email="nope")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
    fake = await file(client, manager, product, files={"attachments": ("notice.pdf", b"%PDF-1.7 not really", "application/pdf")})
    assert fake.status_code == 422 and fake.json()["code"] == "attachment_not_pdf"
    wrong_step = await file(client, manager, product, step_code="doctrine-socles")
    assert wrong_step.status_code == 422 and wrong_step.json()["code"] == "invalid_step"
    not_enrolled = await file(client, manager, product, step_code="mes-with-exchange")
    assert not_enrolled.status_code == 409 and not_enrolled.json()["code"] == "not_enrolled"

    outsider = await token_for(client, cast.outsider.email)
    assert (await file(client, outsider, product)).status_code == 404
    contributor = await token_for(client, cast.contributor.email)
    assert (await file(client, contributor, product)).status_code == 404  # no right on the product at all
    reviewer = await token_for(client, cast.reviewer.email)
    assert (await file(client, reviewer, product)).status_code == 403
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(ReferencingApplication)) == 0

    pdf = pdf_bytes()
    filed = await file(client, manager, product, files=[("attachments", ("étude.pdf", pdf, "application/pdf")),
                                                         ("attachments", ("annexe.pdf", pdf, "application/pdf"))])
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["application"]["status"] == "filed"
    assert body["application"]["commercial_name"] == "Mon Suivi Citoyen"
    assert [a["filename"] for a in body["attachments"]] == ["étude.pdf", "annexe.pdf"]
    chapters = body["chapters"]
    assert [c["code"] for c in chapters] == ["mes-without-exchange:dmp", "mes-without-exchange:hosting",
                                             "mes-without-exchange:ethics"]
    assert all(c["answers"] for c in chapters) and chapters[0]["answers"][0]["text"]
    again = await file(client, manager, product)
    assert again.status_code == 409 and again.json()["code"] == "already_open"
    as_json = await client.post(f"/api/v1/products/{product}/referencing-applications", headers=manager, json={
        **FORM, "attachments": [{"filename": "x.pdf", "content_base64": base64.b64encode(pdf).decode()}]})
    assert as_json.status_code == 409 and as_json.json()["code"] == "already_open"  # JSON reaches the same rules
    bad_base64 = await client.post(f"/api/v1/products/{product}/referencing-applications", headers=manager,
                                   json={**FORM, "attachments": [{"filename": "x.pdf", "content_base64": "%%%"}]})
    assert bad_base64.status_code == 422

    app_id = body["application"]["id"]
    download = await client.get(f"/api/v1/referencing/applications/{app_id}/attachments/{body['attachments'][0]['id']}",
                                headers=manager)
    assert download.status_code == 200 and download.content == pdf
    assert download.headers["content-type"].startswith("application/pdf")
    # Another company neither reads nor lists it; ANS does.
    assert (await client.get(f"/api/v1/referencing/applications/{app_id}", headers=outsider)).status_code == 404
    assert (await client.get("/api/v1/referencing/applications", headers=outsider)).json()["total"] == 0
    assert (await client.get("/api/v1/referencing/applications", headers=reviewer)).json()["total"] == 1
    async with db() as session:
        mails = (await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "referencing_filed"))).all()
    assert {cast.manager.email, cast.reviewer.email, FORM["contact_email"]} <= {m.recipient for m in mails}


async def test_verify_request_info_resubmit_and_reference(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    reviewer = await token_for(client, cast.reviewer.email)
    product, rids = await validated_product(client, db, manager, cast.company.id)
    filed = await file(client, manager, product)
    app_id = filed.json()["application"]["id"]
    url = f"/api/v1/referencing/applications/{app_id}"
    codes = [c["code"] for c in filed.json()["chapters"]]

    # Vendors take no ANS action; a decision before every verdict is refused.
    assert (await client.post(f"{url}/assign", json={}, headers=manager)).status_code == 403
    early = await client.post(f"{url}/decision", json={"decision": "refused", "reasons": "x"}, headers=reviewer)
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"

    assigned = await client.post(f"{url}/assign", json={}, headers=reviewer)
    assert assigned.status_code == 200 and assigned.json()["status"] == "under_review"
    assert assigned.json()["assignee_id"] == cast.reviewer.id
    no_comment = await client.post(f"{url}/verdicts", json={"chapter_code": codes[0], "verdict": "a_completer"},
                                   headers=reviewer)
    assert no_comment.status_code == 422 and no_comment.json()["code"] == "comment_required"
    unknown = await client.post(f"{url}/verdicts", json={"chapter_code": "nope", "verdict": "conforme"},
                                headers=reviewer)
    assert unknown.status_code == 422
    verdict = await client.post(f"{url}/verdicts", json={"chapter_code": codes[0], "verdict": "a_completer",
                                                         "comment": "Décrire le service plus précisément."},
                                headers=reviewer)
    assert verdict.status_code == 200 and verdict.json()["reviewer"] == cast.reviewer.full_name
    for code in codes[1:]:
        ok = await client.post(f"{url}/verdicts", json={"chapter_code": code, "verdict": "conforme"}, headers=reviewer)
        assert ok.status_code == 200
    not_compliant = await client.post(f"{url}/decision", json={"decision": "referenced"}, headers=reviewer)
    assert not_compliant.status_code == 409 and not_compliant.json()["code"] == "not_compliant"

    asked = await client.post(f"{url}/request-info", json={"message": "Merci de compléter la description."},
                              headers=reviewer)
    assert asked.status_code == 200 and asked.json()["status"] == "info_requested"
    detail = (await client.get(url, headers=manager)).json()
    assert detail["info_request"] == "Merci de compléter la description." and detail["info_chapters"] == [codes[0]]
    assert "reopen" in detail["allowed_actions"]
    early_resubmit = await client.post(f"{url}/resubmit", headers=manager)
    assert early_resubmit.status_code == 409 and early_resubmit.json()["code"] == "not_reopened"

    reopened = await client.post(f"{url}/reopen", headers=manager)
    assert reopened.status_code == 200, reopened.text
    response = (await client.get(f"/api/v1/responses/{rids[0]}", headers=manager)).json()
    assert response["status"] == "draft" and response["revision"] == 2
    still_draft = await client.post(f"{url}/resubmit", headers=manager)
    assert still_draft.status_code == 409 and still_draft.json()["code"] == "not_validated"
    await complete(client, db, manager, rids[0], change=True)
    resubmitted = await client.post(f"{url}/resubmit", headers=manager)
    assert resubmitted.status_code == 200 and resubmitted.json()["status"] == "under_review"
    detail = (await client.get(url, headers=reviewer)).json()
    first = detail["chapters"][0]
    assert first["verdict"] is None and first["previous_answers"]  # to verify again, with what changed
    assert any(a["value"] == "Description complétée à la demande de l'ANS" for a in first["answers"])
    assert all(c["verdict"] == "conforme" for c in detail["chapters"][1:])

    assert (await client.post(f"{url}/verdicts", json={"chapter_code": codes[0], "verdict": "conforme"},
                              headers=reviewer)).status_code == 200
    referenced = await client.post(f"{url}/decision", json={"decision": "referenced", "reasons": "Conforme."},
                                   headers=reviewer)
    assert referenced.status_code == 200 and referenced.json()["status"] == "referenced"
    assert (await client.post(f"{url}/decision", json={"decision": "refused", "reasons": "x"},
                              headers=reviewer)).status_code == 409
    async with db() as session:
        kinds = {(m.kind, m.recipient) for m in (await session.scalars(select(OutboxMessage))).all()}
        actions = [e.action for e in (await session.scalars(select(AuditEvent).where(
            AuditEvent.target_type == "referencing_application").order_by(AuditEvent.id))).all()]
    assert ("referencing_info_requested", cast.manager.email) in kinds
    assert ("referencing_resubmitted", cast.reviewer.email) in kinds
    assert ("referencing_referenced", cast.manager.email) in kinds
    assert actions[0] == "referencing.filed" and actions[-1] == "referencing.referenced"
    assert {"referencing.assigned", "referencing.info_requested", "referencing.chapters_reopened",
            "referencing.resubmitted"} <= set(actions)

    # A new application may now be filed; the product's list shows the history.
    listed = (await client.get(f"/api/v1/products/{product}/referencing-applications", headers=manager)).json()
    assert [a["status"] for a in listed["items"]] == ["referenced"]


async def test_refusal_needs_reasons_and_frees_the_step(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    reviewer = await token_for(client, cast.reviewer.email)
    product, _ = await validated_product(client, db, manager, cast.company.id)
    app_id = (await file(client, manager, product)).json()["application"]["id"]
    url = f"/api/v1/referencing/applications/{app_id}"
    detail = (await client.get(url, headers=reviewer)).json()
    missing = await client.post(f"{url}/verdicts", json={"chapter_code": detail["chapters"][0]["code"],
                                                         "verdict": "conforme"}, headers=reviewer)
    assert missing.status_code == 200
    partial = await client.post(f"{url}/decision", json={"decision": "refused", "reasons": "Non."}, headers=reviewer)
    assert partial.status_code == 409 and partial.json()["code"] == "verdicts_missing"
    for chapter in detail["chapters"][1:]:
        await client.post(f"{url}/verdicts", json={"chapter_code": chapter["code"], "verdict": "a_completer",
                                                   "comment": "Insuffisant."}, headers=reviewer)
    no_reasons = await client.post(f"{url}/decision", json={"decision": "refused"}, headers=reviewer)
    assert no_reasons.status_code == 422 and no_reasons.json()["code"] == "reasons_required"
    bad = await client.post(f"{url}/decision", json={"decision": "maybe"}, headers=reviewer)
    assert bad.status_code == 422
    refused = await client.post(f"{url}/decision", json={"decision": "refused", "reasons": "Hébergement non HDS."},
                                headers=reviewer)
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert (await file(client, manager, product)).status_code == 201  # a new application after a refusal
    async with db() as session:
        mail = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "referencing_refused"))
    assert mail is not None and "Hébergement non HDS." in mail.body


async def test_a_referenced_product_that_changes_is_flagged(client, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    reviewer = await token_for(client, cast.reviewer.email)
    product, rids = await validated_product(client, db, manager, cast.company.id)
    app_id = (await file(client, manager, product)).json()["application"]["id"]
    url = f"/api/v1/referencing/applications/{app_id}"
    for chapter in (await client.get(url, headers=reviewer)).json()["chapters"]:
        await client.post(f"{url}/verdicts", json={"chapter_code": chapter["code"], "verdict": "conforme"},
                          headers=reviewer)
    assert (await client.post(f"{url}/decision", json={"decision": "referenced"}, headers=reviewer)).status_code == 200
    assert (await client.get(url, headers=reviewer)).json()["application"]["flagged_at"] is None

    assert (await client.post(f"/api/v1/responses/{rids[0]}/reopen", headers=manager)).status_code == 200
    flagged = (await client.get(url, headers=reviewer)).json()["application"]
    assert flagged["flagged_at"] and "reopened" in flagged["flag_reason"]
    assert flagged["status"] == "referenced"  # still listed in the catalogue; ANS decides what to do

    async with unit_of_work(db) as session:
        row = await session.get(ReferencingApplication, app_id)
        row.flagged_at, row.flag_reason = None, None
    edited = await client.patch(f"/api/v1/products/{product}", json={"description": "Nouvelle description"},
                                headers=manager)
    assert edited.status_code == 200, edited.text
    assert "edited" in (await client.get(url, headers=reviewer)).json()["application"]["flag_reason"]
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "referencing.flagged")) == 2


async def test_verdicts_are_per_chapter_and_show_who_gave_them(client, db, cast, settings, content):
    from tests.factories import make_user

    async with unit_of_work(db) as session:
        second = await make_user(session, settings, role="reviewer", email="second@ans.example")
    manager = await token_for(client, cast.manager.email)
    reviewer = await token_for(client, cast.reviewer.email)
    other = await token_for(client, second.email)
    product, _ = await validated_product(client, db, manager, cast.company.id)
    app_id = (await file(client, manager, product)).json()["application"]["id"]
    url = f"/api/v1/referencing/applications/{app_id}"
    assigned = await client.post(f"{url}/assign", json={"assignee_id": second.id}, headers=reviewer)
    assert assigned.status_code == 200 and assigned.json()["assignee_id"] == second.id
    not_ans = await client.post(f"{url}/assign", json={"assignee_id": cast.manager.id}, headers=reviewer)
    assert not_ans.status_code == 422
    codes = [c["code"] for c in (await client.get(url, headers=reviewer)).json()["chapters"]]
    await client.post(f"{url}/verdicts", json={"chapter_code": codes[0], "verdict": "conforme"}, headers=reviewer)
    await client.post(f"{url}/verdicts", json={"chapter_code": codes[1], "verdict": "conforme"}, headers=other)
    await client.post(f"{url}/verdicts", json={"chapter_code": codes[0], "verdict": "a_completer",
                                               "comment": "À revoir."}, headers=other)
    chapters = (await client.get(url, headers=manager)).json()["chapters"]
    assert (chapters[0]["verdict"], chapters[0]["reviewer"]) == ("a_completer", second.full_name)
    assert chapters[1]["reviewer"] == second.full_name and chapters[2]["verdict"] is None
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(ChapterVerdict)) == 2
        mail = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "referencing_assigned"))
    assert mail is not None and mail.recipient == second.email

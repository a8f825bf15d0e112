"""Maturity attestations (issue 18, point 2): publishing rules, unguessable addresses, validity decided at read
time (revoked, reopened), the Ed25519 signature checked with the published key, the PDF, the public pages and
/verify, and who may do what."""

from __future__ import annotations

import base64
import io
import json
import random
import re
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pypdf import PdfReader
from sqlalchemy import select, text

from convergence.accounts.models import Role
from convergence.attestations import signing, simulate
from convergence.attestations.models import Attestation
from convergence.attestations.services import CODE_ALPHABET, normalize_code
from convergence.companies.team_models import MemberRight
from convergence.core.db import unit_of_work
from convergence.core.models import AuditEvent, OutboxMessage
from convergence.questionnaires import engine
from convergence.questionnaires.models import Response
from tests.conftest import base_settings
from tests.factories import csrf, make_user, page_login, token_for
from tests.test_questionnaires import complete_answers, content, enrolled_response, items_of, make_product

__all__ = ["content"]  # the fixture, used by name


async def validated_response(client: Any, db: Any, cast: Any, name: str = "Dossier Patient") -> tuple[dict, int, int]:
    """A product of the cast's company with its first doctrine response answered and validated by the manager."""
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id, name=name)
    rid = (await enrolled_response(client, db, manager, product))["id"]
    answers = complete_answers(await items_of(db, rid))
    saved = await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": 0, "answers": answers},
                               headers=manager)
    assert saved.status_code == 200, saved.text
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=manager)).status_code == 200
    assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=manager)).status_code == 200
    return manager, product, rid


async def publish(client: Any, headers: dict, rid: int) -> dict[str, Any]:
    answer = await client.post(f"/api/v1/responses/{rid}/attestations", headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_validated_response_is_attested_with_its_facts(client, db, cast, content):
    manager, product, rid = await validated_response(client, db, cast)
    attestation = await publish(client, manager, rid)
    async with db() as session:
        response = await session.get(Response, rid)
        evaluation = engine.evaluate(response.questionnaire.items, response.answers)
        audit = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "attestation.published"))).all()
    assert attestation["status"] == "valid" and attestation["reason"] is None
    assert attestation["explanation"] == "Valid: the response is still validated as attested."
    assert attestation["product"].startswith("Dossier Patient") and attestation["company"] == cast.company.name
    assert attestation["questionnaire_version"] == response.questionnaire.version
    # The maturity shown is the one the response page and the review show, theme by theme.
    assert attestation["maturity"] == evaluation.maturity == response.maturity
    assert {t["code"]: t["maturity"] for t in attestation["themes"]} == response.theme_scores
    assert all(t["title"] for t in attestation["themes"])
    assert attestation["facts"]["response"]["validated_at"] and attestation["facts"]["company"]["siren"]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", attestation["code"])
    assert [(e.target_id, e.data["attestation_id"]) for e in audit] == [(rid, attestation["id"])]
    listed = (await client.get(f"/api/v1/responses/{rid}/attestations", headers=manager)).json()
    assert listed["total"] == 1 and listed["items"][0]["code"] == attestation["code"]
    # The response's history says it was published.
    history = (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()["history"]
    assert "attestation.published" in [h["action"] for h in history]


async def test_publishing_rules_and_rights(client, db, settings, cast, content):
    manager, product, rid = await validated_response(client, db, cast)
    # Only a validated response.
    other = await make_product(db, cast.company.id, name="Agenda")
    draft = (await enrolled_response(client, db, manager, other))["id"]
    refused = await client.post(f"/api/v1/responses/{draft}/attestations", headers=manager)
    assert refused.status_code == 409 and refused.json()["code"] == "not_validated"
    assert "validated" in refused.json()["detail"]
    # Contributors, even with the validate right, do not speak for the company; without a right it does not exist.
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.post(f"/api/v1/responses/{rid}/attestations", headers=contributor)).status_code == 404
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product,
                                level="validate"))
    assert (await client.post(f"/api/v1/responses/{rid}/attestations", headers=contributor)).status_code == 403
    assert (await client.get(f"/api/v1/responses/{rid}/attestations", headers=contributor)).status_code == 200
    # Another company, ANS staff, nobody.
    outsider = await token_for(client, cast.outsider.email)
    foreign = await client.post(f"/api/v1/responses/{rid}/attestations", headers=outsider)
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    assert (await client.get(f"/api/v1/responses/{rid}/attestations", headers=outsider)).status_code == 404
    reviewer = await token_for(client, cast.reviewer.email)
    assert (await client.post(f"/api/v1/responses/{rid}/attestations", headers=reviewer)).status_code == 403
    assert (await client.post(f"/api/v1/responses/{rid}/attestations")).status_code == 401
    assert (await client.post("/api/v1/responses/987654/attestations", headers=manager)).status_code == 404
    # The global strategy is about the company, not a product: nothing to attest.
    async with unit_of_work(db) as session:
        attested = await session.get(Response, rid)
        strategy = Response(company_id=cast.company.id, product_id=None, questionnaire_id=attested.questionnaire_id,
                            step_id=None, status="validated", version=1, revision=1, answers={}, planned={})
        session.add(strategy)
        await session.flush()
        strategy_id = strategy.id
    global_refused = await client.post(f"/api/v1/responses/{strategy_id}/attestations", headers=manager)
    assert global_refused.status_code == 409 and global_refused.json()["code"] == "not_attestable"
    # One valid attestation at a time.
    first = await publish(client, manager, rid)
    again = await client.post(f"/api/v1/responses/{rid}/attestations", headers=manager)
    assert again.status_code == 409 and again.json()["code"] == "already_published"
    # The outsider cannot revoke it either, and is not told it exists.
    assert (await client.post(f"/api/v1/attestations/{first['id']}/revoke", json={},
                              headers=outsider)).status_code == 404
    assert (await client.post(f"/api/v1/attestations/{first['id']}/revoke", json={},
                              headers=contributor)).status_code == 403
    async with db() as session:
        assert (await session.scalar(select(Response.status).where(Response.id == rid))) == "validated"


async def test_addresses_cannot_be_guessed_or_walked(client, db, cast, content):
    manager, _product, rid = await validated_response(client, db, cast)
    first = await publish(client, manager, rid)
    await client.post(f"/api/v1/attestations/{first['id']}/revoke", json={}, headers=manager)
    second = await publish(client, manager, rid)
    tokens = [a["url"].rsplit("/", 1)[1] for a in (first, second)]
    for token in tokens:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    assert tokens[0] != tokens[1] and first["code"] != second["code"]
    assert all(c in CODE_ALPHABET + "-" for c in first["code"])
    # Neither the id nor a near miss opens anything; an unknown code is unknown.
    for path in (f"/attestations/{first['id']}", f"/attestations/{tokens[0][:-1]}A" if tokens[0][-1] != "A"
                 else f"/attestations/{tokens[0][:-1]}B", f"/attestations/{tokens[0]}x", "/attestations/..pdf"):
        assert (await client.get(path)).status_code == 404, path
    code = first["code"].replace("-", "")
    near = code[:-1] + ("2" if code[-1] != "2" else "3")
    unknown = await client.get(f"/api/v1/verify/{near}")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_code"
    assert (await client.get("/api/v1/verify/not-a-code")).status_code == 404
    # Codes are read forgivingly: case, spaces and dashes do not matter.
    assert normalize_code(" " + first["code"].lower().replace("-", " ") + " ") == code
    assert (await client.get(f"/api/v1/verify/{code.lower()}")).json()["status"] == "revoked"


async def test_revoking_and_reopening_end_the_validity(client, db, settings, cast, content):
    manager, _product, rid = await validated_response(client, db, cast)
    async with unit_of_work(db) as session:
        second_manager = await make_user(session, settings, role=Role.MANAGER, company=cast.company,
                                         email="second@sante-connectee.example")
    attestation = await publish(client, manager, rid)
    code = attestation["code"]
    public = (await client.get(f"/api/v1/verify/{code}")).json()
    assert public["status"] == "valid" and public["id"] is None and public["published_by"] is None

    revoked = await client.post(f"/api/v1/attestations/{attestation['id']}/revoke",
                                json={"reason": "Nouvelle version en préparation."}, headers=manager)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_by"] == cast.manager.full_name
    again = await client.post(f"/api/v1/attestations/{attestation['id']}/revoke", json={}, headers=manager)
    assert again.status_code == 409 and again.json()["code"] == "already_revoked"
    checked = (await client.get(f"/api/v1/verify/{code}")).json()
    assert checked["status"] == "revoked" and checked["revoke_reason"] == "Nouvelle version en préparation."
    assert checked["explanation"].startswith("Revoked by the company on ")
    async with db() as session:
        mails = (await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "attestation_revoked"))).all()
        audit = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "attestation.revoked"))).all()
    # The notification centre mails the other managers (the actor knows).
    assert [m.recipient for m in mails] == [second_manager.email]
    assert len(audit) == 1 and audit[0].data["code"] == code.replace("-", "")
    assert audit[0].data["comment"] == "Nouvelle version en préparation."

    # A new attestation of the same validated response; then reopening it makes it no longer valid at once.
    fresh = await publish(client, manager, rid)
    assert fresh["status"] == "valid"
    assert (await client.post(f"/api/v1/responses/{rid}/reopen", headers=manager)).status_code == 200
    reopened = (await client.get(f"/api/v1/verify/{fresh['code']}")).json()
    assert reopened["status"] == "invalidated" and reopened["reason"] == "reopened"
    assert "reopened" in reopened["explanation"]
    # Validated again: the new revision needs a new attestation; the old one stays invalid.
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=manager)).status_code == 200
    assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=manager)).status_code == 200
    assert (await client.get(f"/api/v1/verify/{fresh['code']}")).json()["status"] == "invalidated"
    newest = await publish(client, manager, rid)
    assert newest["status"] == "valid" and newest["facts"]["response"]["revision"] == 2
    states = [a["status"] for a in (await client.get(f"/api/v1/responses/{rid}/attestations",
                                                     headers=manager)).json()["items"]]
    assert states == ["valid", "invalidated", "revoked"]


async def test_the_signature_verifies_with_the_published_key(client, db, settings, cast, content):
    manager, _product, rid = await validated_response(client, db, cast)
    attestation = await publish(client, manager, rid)
    pem = await client.get("/attestations/public-key")
    assert pem.status_code == 200 and pem.text.startswith("-----BEGIN PUBLIC KEY-----")
    key = load_pem_public_key(pem.content)
    # Offline: the canonical form of the facts, signed as published.
    facts = attestation["facts"]
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert text == attestation["facts_json"]
    key.verify(base64.b64decode(attestation["signature"]), text.encode("utf-8"))
    assert attestation["signature_valid"] and attestation["key_id"] == signing.key_id(settings.secret_key)
    # A fact altered, and the signature no longer holds.
    for change in ({"maturity": 100.0}, {"company": {**facts["company"], "name": "Autre SAS"}}):
        altered = json.dumps({**facts, **change}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert not signing.verify(key, altered, attestation["signature"])
    # The key is the same on every server of the deployment (derived from the secret), and changes with it.
    same = base_settings(settings.database_url)
    assert signing.public_key_pem(same.secret_key) == pem.text
    assert signing.public_key_pem("another-secret") != pem.text


async def test_a_tampered_row_says_the_signature_fails(client, db, cast, content):
    manager, _product, rid = await validated_response(client, db, cast)
    attestation = await publish(client, manager, rid)
    async with unit_of_work(db) as session:
        await session.execute(
            text("UPDATE attestation SET facts = replace(facts, :a, :b)"),
            {"a": f'"maturity":{attestation["maturity"]}', "b": '"maturity":100.0'})
    checked = (await client.get(f"/api/v1/verify/{attestation['code']}")).json()
    assert checked["status"] == "invalidated" and checked["reason"] == "signature"
    assert checked["signature_valid"] is False


async def test_the_pdf_is_a_real_pdf_with_the_facts(client, db, cast, content):
    manager, _product, rid = await validated_response(client, db, cast, name="Télé-Suivi Éclair")
    attestation = await publish(client, manager, rid)
    answer = await client.get(attestation["pdf_url"].replace("http://testserver.local", ""))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(answer.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Télé-Suivi Éclair" in text  # accents rendered by the embedded font
    assert "Attestation de maturité" in text and attestation["code"] in text and cast.company.name in text
    attached = reader.attachments
    assert attached[f"attestation-{attestation['code'].replace('-', '')}.json"][0].decode() == attestation["facts_json"]
    english = await client.get(attestation["pdf_url"].replace("http://testserver.local", ""),
                               headers={"Cookie": "cv_lang=en"})
    assert english.status_code == 200
    english_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(english.content)).pages)
    assert "Maturity attestation" in english_text and "Maturity per theme" in english_text


async def test_public_page_and_verify_form(client, db, cast, content):
    manager, _product, rid = await validated_response(client, db, cast)
    attestation = await publish(client, manager, rid)
    client.cookies.clear()
    path = attestation["url"].replace("http://testserver.local", "")
    page = await client.get(path)
    assert page.status_code == 200 and "Dossier Patient" in page.text and attestation["code"] in page.text
    assert 'data-state="valid"' in page.text and page.headers["x-robots-tag"].startswith("noindex")
    assert attestation["signature"] in page.text
    verify = await client.get("/verify")
    assert verify.status_code == 200 and 'name="code"' in verify.text
    checked = await client.get("/verify", params={"code": attestation["code"].lower()})
    assert checked.status_code == 200 and 'data-state="valid"' in checked.text and "Dossier Patient" in checked.text
    unknown = await client.get("/verify", params={"code": "2222-2222-2222"})
    assert unknown.status_code == 404 and 'data-state="unknown"' in unknown.text
    malformed = await client.get("/verify", params={"code": "abc"})
    assert malformed.status_code == 422 and 'aria-invalid="true"' in malformed.text


async def test_the_response_page_offers_publish_and_revoke_to_managers(client, db, cast, content):
    _manager, product, rid = await validated_response(client, db, cast)
    await page_login(client, cast.manager.email)
    page = await client.get(f"/responses/{rid}")
    assert f'hx-get="/responses/{rid}/attestations"' in page.text
    partial = await client.get(f"/responses/{rid}/attestations", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and "Publier une attestation" in partial.text
    published = await client.post(f"/responses/{rid}/attestations", data={"_csrf": csrf(client)})
    assert published.status_code == 303 and published.headers["location"] == f"/responses/{rid}#attestations"
    listed = await client.get(f"/responses/{rid}/attestations")
    assert "Valide" in listed.text and "Publier une attestation" not in listed.text
    async with db() as session:
        row = await session.scalar(select(Attestation))
    too_long = await client.post(f"/attestations/{row.id}/revoke", data={"_csrf": csrf(client), "reason": "x" * 501})
    assert too_long.status_code == 422 and 'aria-invalid="true"' in too_long.text
    revoked = await client.post(f"/attestations/{row.id}/revoke", data={"_csrf": csrf(client), "reason": "Erreur"})
    assert revoked.status_code == 303
    assert "Révoquée" in (await client.get(f"/responses/{rid}/attestations")).text
    # A contributor who may read the response sees the list, without the forms.
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product,
                                level="validate"))
    client.cookies.clear()
    await page_login(client, cast.contributor.email)
    seen = await client.get(f"/responses/{rid}/attestations")
    assert seen.status_code == 200 and "Révoquée" in seen.text and "/revoke" not in seen.text
    assert "Publier une attestation" not in seen.text


async def test_the_simulation_publishes_attestations_in_every_state(client, db, settings, cast, content, monkeypatch):
    manager, _product, _rid = await validated_response(client, db, cast, name="Agenda")
    for name in ("Dossier Patient", "Imagerie"):
        await validated_response(client, db, cast, name=name)
    # Every candidate published; with seed 1 the draws give one valid, one revoked, one reopened.
    monkeypatch.setattr(simulate, "PUBLISH_RATE", 1.0)
    monkeypatch.setattr(simulate, "REVOKE_RATE", 0.34)
    monkeypatch.setattr(simulate, "REOPEN_RATE", 0.33)
    async with unit_of_work(db) as session:
        assert await simulate.simulate_attestations(session, random.Random(1), settings) == 3
    async with unit_of_work(db) as session:
        assert await simulate.simulate_attestations(session, random.Random(1), settings) == 0  # nothing twice
    async with db() as session:
        rows = (await session.scalars(select(Attestation).order_by(Attestation.id))).all()
        audit = {e.action for e in (await session.scalars(select(AuditEvent))).all()}
    states = []
    for row in rows:
        checked = (await client.get(f"/api/v1/verify/{row.code}")).json()
        assert checked["signature_valid"]
        states.append(checked["status"])
    assert states == ["valid", "revoked", "invalidated"]
    assert {"attestation.published", "attestation.revoked", "response.reopened"} <= audit

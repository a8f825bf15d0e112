"""Evidence on answers (issue 18, point 5): documents judged by their content, links, limits, who may add, remove
and read, read-only once submitted, carried by copies, migrations and reopenings, the pages (HTMX partial swap,
validators and ANS reviewers) and the simulation."""

from __future__ import annotations

import io
import random
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from convergence.companies.team_models import MemberRight
from convergence.core.db import unit_of_work
from convergence.core.models import AuditEvent
from convergence.questionnaires.evidence.models import Evidence
from convergence.questionnaires.evidence.services import MAX_BYTES, MAX_PER_ANSWER
from convergence.questionnaires.evidence.simulate import simulate_evidence, tiny_pdf
from convergence.questionnaires.models import Item
from tests.factories import csrf, page_login, token_for
from tests.test_questionnaires import complete_answers, content, enrolled_response, items_of, make_product
from tests.test_versions import answered_v1, publish_v2

__all__ = ["content"]  # the fixture, used by name

PDF = tiny_pdf("Rapport", "Audit de sécurité 2026.")
CODE = "sec-backup"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def draft(client: Any, db: Any, cast: Any, name: str = "Dossier Patient") -> tuple[dict, int, int]:
    """A product of the cast's company, its doctrine response started by the manager (every answer given)."""
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id, name=name)
    rid = (await enrolled_response(client, db, manager, product))["id"]
    saved = await client.patch(f"/api/v1/responses/{rid}/answers", headers=manager,
                               json={"version": 0, "answers": complete_answers(await items_of(db, rid))})
    assert saved.status_code == 200, saved.text
    return manager, product, rid


def url(rid: int, code: str = CODE) -> str:
    return f"/api/v1/responses/{rid}/items/{code}/evidence"


async def attach(client: Any, headers: dict, rid: int, content: bytes = PDF, name: str = "rapport.pdf",
                 code: str = CODE, declared: str = "application/pdf", comment: str = "Rapport d'audit") -> Any:
    return await client.post(url(rid, code), headers=headers, files={"file": (name, content, declared)},
                             data={"comment": comment})


async def link(client: Any, headers: dict, rid: int, address: str = "https://docs.example.fr/securite",
               code: str = CODE, comment: str = "") -> Any:
    return await client.post(url(rid, code), headers=headers, json={"url": address, "comment": comment})


async def stored(db: Any) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(Evidence)) or 0


async def test_a_document_and_a_link_are_attached_read_and_downloaded(client, db, cast, content):
    manager, _product, rid = await draft(client, db, cast)
    added = await attach(client, manager, rid)
    assert added.status_code == 201, added.text
    document = added.json()
    assert (document["kind"], document["filename"], document["content_type"]) == ("file", "rapport.pdf",
                                                                                  "application/pdf")
    assert document["size"] == len(PDF) and document["comment"] == "Rapport d'audit"
    assert document["added_by"] == cast.manager.full_name and document["item_code"] == CODE
    picture = await attach(client, manager, rid, png(), "capture.png", declared="application/octet-stream")
    assert picture.status_code == 201 and picture.json()["content_type"] == "image/png"
    linked = await link(client, manager, rid, comment="Procédure publiée")
    assert linked.status_code == 201 and linked.json()["url"] == "https://docs.example.fr/securite"

    listed = (await client.get(url(rid), headers=manager)).json()
    assert listed["total"] == 3 and [e["kind"] for e in listed["items"]] == ["file", "file", "link"]
    assert (await client.get(f"/api/v1/responses/{rid}/evidence", headers=manager)).json()["total"] == 3
    meta = await client.get(f"/api/v1/evidence/{document['id']}", headers=manager)
    assert meta.status_code == 200 and meta.json()["sha256"] == document["sha256"]

    download = await client.get(document["file_url"], headers=manager)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    a_link = await client.get(f"/api/v1/evidence/{linked.json()['id']}/file", headers=manager)
    assert a_link.status_code == 404 and a_link.json()["code"] == "no_file"

    removed = await client.delete(f"/api/v1/evidence/{picture.json()['id']}", headers=manager)
    assert removed.status_code == 204
    assert (await client.get(url(rid), headers=manager)).json()["total"] == 2
    async with db() as session:
        actions = (await session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.startswith("evidence.")).order_by(AuditEvent.id))).all()
    assert actions == ["evidence.added"] * 3 + ["evidence.removed"]


async def test_documents_are_judged_by_content_and_size(client, db, cast, content):
    manager, _product, rid = await draft(client, db, cast)
    cases = [
        (b"<html><script>alert(1)</script></html>", "rapport.pdf", "file_not_accepted"),  # a page named .pdf
        (b"%PDF-1.4\n%%EOF", "vide.pdf", "file_not_accepted"),  # the magic alone
        (PDF[: len(PDF) // 2], "coupe.pdf", "file_not_accepted"),  # truncated
        (png()[:40], "image.png", "file_not_accepted"),  # a broken picture
        (b"GIF89a" + b"\0" * 40, "anim.gif", "file_not_accepted"),  # not a format we take
        (PDF + b"0" * MAX_BYTES, "gros.pdf", "file_too_large"),
        (b"", "rien.pdf", "file_required"),
    ]
    for data, name, code in cases:
        refused = await attach(client, manager, rid, data, name)
        assert refused.status_code == 422, (name, refused.text)
        assert refused.json()["code"] == code and refused.json()["detail"].endswith("."), name
    assert await stored(db) == 0


async def test_links_must_be_http_or_https_and_comments_are_bounded(client, db, cast, content):
    manager, _product, rid = await draft(client, db, cast)
    for address in ("javascript:alert(1)", "ftp://files.example.fr/a.pdf", "https://", "docs.example.fr",
                    "https://user:secret@docs.example.fr/", "https://docs.example.fr/a b", "", None, 12,
                    "https://docs.example.fr:99999/", "https://example.fr/" + "a" * 2000):
        refused = await client.post(url(rid), headers=manager, json={"url": address})
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_url", address
    long = await link(client, manager, rid, comment="x" * 1001)
    assert long.status_code == 422 and long.json()["code"] == "comment_too_long"
    assert (await client.post(url(rid), headers=manager, json=["https://a.fr"])).status_code == 422
    assert (await client.post(url(rid), headers=manager, content=b"{", )).status_code == 400
    assert await stored(db) == 0
    unknown = await link(client, manager, rid, code="no-such-question")
    assert unknown.status_code == 404
    assert (await link(client, manager, 999999)).status_code == 404


async def test_an_answer_carries_at_most_ten_pieces_of_evidence(client, db, cast, content):
    manager, _product, rid = await draft(client, db, cast)
    for number in range(MAX_PER_ANSWER):
        assert (await link(client, manager, rid, f"https://docs.example.fr/{number}")).status_code == 201
    refused = await attach(client, manager, rid)
    assert refused.status_code == 422 and refused.json()["code"] == "too_much_evidence"
    assert await stored(db) == MAX_PER_ANSWER
    # Another question of the same response has its own allowance.
    assert (await link(client, manager, rid, code="sec-traceability")).status_code == 201


async def test_who_may_add_remove_and_read(client, db, cast, content):
    manager, product, rid = await draft(client, db, cast)
    evidence = (await attach(client, manager, rid)).json()
    one, file = f"/api/v1/evidence/{evidence['id']}", evidence["file_url"]
    contributor = await token_for(client, cast.contributor.email)
    # No right on the product: as if it did not exist.
    for path in (url(rid), one, file):
        assert (await client.get(path, headers=contributor)).status_code == 404, path
    assert (await link(client, contributor, rid)).status_code == 404
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product,
                                level="read"))
    for path in (url(rid), one, file):
        assert (await client.get(path, headers=contributor)).status_code == 200, path
    assert (await link(client, contributor, rid)).status_code == 403
    assert (await attach(client, contributor, rid)).status_code == 403
    assert (await client.delete(one, headers=contributor)).status_code == 403
    # Another company: 404 everywhere, never a hint that it exists.
    outsider = await token_for(client, cast.outsider.email)
    for path in (url(rid), one, file, f"/api/v1/responses/{rid}/evidence"):
        assert (await client.get(path, headers=outsider)).status_code == 404, path
    assert (await link(client, outsider, rid)).status_code == 404
    assert (await client.delete(one, headers=outsider)).status_code == 404
    # ANS staff read any company's evidence and change none.
    for email in (cast.reviewer.email, cast.support.email):
        staff = await token_for(client, email)
        assert (await client.get(url(rid), headers=staff)).json()["total"] == 1
        assert (await client.get(file, headers=staff)).content == PDF
        assert (await link(client, staff, rid)).status_code == 403
        assert (await client.post(url(rid), headers=staff, json=[])).status_code == 403  # the right before the body
        assert (await client.delete(one, headers=staff)).status_code == 403
    assert (await client.get(url(rid))).status_code == 401
    assert await stored(db) == 1


async def test_submitted_and_validated_evidence_is_read_only_and_a_reopening_keeps_it(client, db, cast, content):
    manager, _product, rid = await draft(client, db, cast)
    evidence = (await attach(client, manager, rid)).json()
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=manager)).status_code == 200
    for refused in (await link(client, manager, rid), await attach(client, manager, rid),
                    await client.delete(f"/api/v1/evidence/{evidence['id']}", headers=manager)):
        assert refused.status_code == 409 and refused.json()["code"] == "not_editable"
        assert refused.json()["detail"] == ("This response is submitted or validated: its evidence cannot be "
                                            "changed now.")
    assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=manager)).status_code == 200
    assert (await link(client, manager, rid)).status_code == 409
    reopened = await client.post(f"/api/v1/responses/{rid}/reopen", headers=manager)
    assert reopened.status_code == 200 and reopened.json()["revision"] == 2
    kept = (await client.get(url(rid), headers=manager)).json()
    assert [e["id"] for e in kept["items"]] == [evidence["id"]]
    assert (await link(client, manager, rid)).status_code == 201  # the new revision is a draft again


async def test_copying_answers_carries_their_evidence_once(client, db, cast, content):
    manager, _product, first = await draft(client, db, cast, "Premier")
    await attach(client, manager, first)
    await link(client, manager, first, code="sec-traceability")
    second_product = await make_product(db, cast.company.id, name="Second")
    second = (await enrolled_response(client, db, manager, second_product))["id"]
    await link(client, manager, second, "https://docs.example.fr/securite")  # already there: not doubled
    for version in (0, 1):
        copied = await client.post(f"/api/v1/responses/{second}/copy-from", headers=manager,
                                   json={"source_response_id": first, "version": version})
        assert copied.status_code == 200, copied.text
    carried = (await client.get(f"/api/v1/responses/{second}/evidence", headers=manager)).json()["items"]
    assert sorted((e["item_code"], e["kind"]) for e in carried) == [
        ("sec-backup", "file"), ("sec-backup", "link"), ("sec-traceability", "link")]
    document = next(e for e in carried if e["kind"] == "file")
    assert (await client.get(document["file_url"], headers=manager)).content == PDF
    # The copy is the target's own: removing it leaves the source's.
    assert (await client.delete(f"/api/v1/evidence/{document['id']}", headers=manager)).status_code == 204
    assert (await client.get(url(first), headers=manager)).json()["total"] == 1


async def test_a_migration_to_a_new_questionnaire_version_keeps_the_evidence(client, settings, db, cast, content):
    manager = await token_for(client, cast.manager.email)
    v1 = await answered_v1(client, db, manager, await make_product(db, cast.company.id))
    added = await attach(client, manager, v1["id"])
    assert added.status_code == 201
    await publish_v2(settings, db)
    assert (await client.post(f"/api/v1/responses/{v1['id']}/migrate", headers=manager)).status_code == 200
    after = (await client.get(url(v1["id"]), headers=manager)).json()
    assert [e["id"] for e in after["items"]] == [added.json()["id"]]
    # The workspace shows it beside the question of the new version.
    await page_login(client, cast.manager.email)
    async with db() as session:
        item = await session.scalar(select(Item).where(Item.code == CODE).order_by(Item.id.desc()).limit(1))
    page = (await client.get(f"/responses/{v1['id']}")).text
    assert f'id="evidence-{item.id}"' in page and "rapport.pdf" in page


async def test_workspace_forms_swap_only_the_answer_evidence(client, db, cast, content):
    _manager, _product, rid = await draft(client, db, cast)
    await page_login(client, cast.manager.email)
    async with db() as session:
        item = await session.scalar(select(Item).where(Item.code == CODE).limit(1))
    page = (await client.get(f"/responses/{rid}")).text
    base = f"/responses/{rid}/items/{CODE}/evidence"
    # The page carries no pair of forms per question: the disclosure loads them when first opened (htmx), and
    # links to the answer's own evidence page, which has them, for a browser without JavaScript.
    assert f'id="evidence-{item.id}"' in page and 'hx-encoding="multipart/form-data"' not in page
    assert f'hx-get="{base}?part=forms" hx-trigger="toggle once"' in page and f'<a href="{base}">' in page
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf(client)}
    forms = await client.get(base, params={"part": "forms"}, headers={"HX-Request": "true"})
    assert forms.status_code == 200 and forms.text.lstrip().startswith("<form") and "<html" not in forms.text
    assert 'hx-encoding="multipart/form-data"' in forms.text and f'id="ev-url-{item.id}"' in forms.text
    assert f'hx-target="#evidence-{item.id}"' in forms.text
    own_page = (await client.get(base)).text
    assert "<h1" in own_page and 'hx-encoding="multipart/form-data"' in own_page
    added = await client.post(f"{base}/link", headers=htmx, data={"url": "https://docs.example.fr/p", "comment": ""})
    assert added.status_code == 200
    assert added.text.lstrip().startswith(f'<div class="evidence" id="evidence-{item.id}"')
    assert "https://docs.example.fr/p" in added.text and 'class="item' not in added.text  # the answer is untouched
    refused = await client.post(f"{base}/link", headers=htmx, data={"url": "javascript:alert(1)"})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    assert "Give a link that starts with http:// or https://." in refused.text or "http://" in refused.text
    uploaded = await client.post(f"{base}/file", headers=htmx, files={"file": ("r.pdf", PDF, "application/pdf")},
                                 data={"comment": "Audit"})
    assert uploaded.status_code == 200 and "r.pdf" in uploaded.text
    bad = await client.post(f"{base}/file", headers=htmx, files={"file": ("r.pdf", b"<html>", "application/pdf")})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    # Without JavaScript: back to the question on the response page.
    plain = await client.post(f"{base}/link", data={"url": "https://docs.example.fr/q", "_csrf": csrf(client)})
    assert plain.status_code == 303 and plain.headers["location"] == f"/responses/{rid}#evidence-{item.id}"
    wrong = await client.post(f"{base}/link", data={"url": "ftp://x.fr", "_csrf": csrf(client)})
    assert wrong.status_code == 422 and "<h1" in wrong.text and 'value="ftp://x.fr"' in wrong.text
    async with db() as session:
        evidence_id = await session.scalar(select(Evidence.id).where(Evidence.kind == "file"))
    download = await client.get(f"/evidence/{evidence_id}/file")
    assert download.status_code == 200 and download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    removed = await client.post(f"/evidence/{evidence_id}/remove", headers=htmx)
    assert removed.status_code == 200 and "r.pdf" not in removed.text
    assert await stored(db) == 2


async def test_validators_and_reviewers_see_the_evidence_beside_the_answer(client, db, cast, content):
    manager, product, rid = await draft(client, db, cast)
    await attach(client, manager, rid)
    await link(client, manager, rid, comment="Procédure publiée")
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=manager)).status_code == 200
    # The validator's page: the evidence beside the answer, no form to change it.
    await page_login(client, cast.manager.email)
    page = (await client.get(f"/responses/{rid}")).text
    assert "rapport.pdf" in page and "Procédure publiée" in page
    assert f"/responses/{rid}/items/{CODE}/evidence/link" not in page and "/remove" not in page
    async with db() as session:
        evidence_id = await session.scalar(select(Evidence.id).limit(1))
    refused = await client.post(f"/evidence/{evidence_id}/remove",
                                headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)})
    assert refused.status_code == 409 and "ses justificatifs ne peuvent plus être modifiés" in refused.text
    assert await stored(db) == 2
    # ANS: the review's product page loads the response's evidence, question by question.
    client.cookies.clear()
    await page_login(client, cast.reviewer.email)
    review = (await client.get(f"/review/products/{product}")).text
    assert f'hx-get="/responses/{rid}/evidence"' in review
    part = await client.get(f"/responses/{rid}/evidence", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "rapport.pdf" in part.text and "https://docs.example.fr/securite" in part.text
    assert "<html" not in part.text
    whole = await client.get(f"/responses/{rid}/evidence")  # the same, as a page of its own without JavaScript
    assert whole.status_code == 200 and "<h1" in whole.text and "Procédure publiée" in whole.text
    client.cookies.clear()
    await page_login(client, cast.outsider.email)
    assert (await client.get(f"/responses/{rid}/evidence")).status_code == 404


async def test_the_simulation_attaches_links_and_a_few_documents(db, cast, content, client):
    _manager, _product, rid = await draft(client, db, cast)
    async with unit_of_work(db) as session:
        written = await simulate_evidence(session, random.Random(3))
    async with db() as session:
        rows = (await session.scalars(select(Evidence))).all()
    assert written == len(rows) >= 1 and {r.response_id for r in rows} == {rid}
    assert all(r.url.startswith("https://") for r in rows if r.kind == "link")
    async with unit_of_work(db) as session:
        assert await simulate_evidence(session, random.Random(3)) == 0  # a second run leaves it alone

"""ANS review: dashboard rows (filters, sorting, pages), charts, exports, drill-down, comments, market averages,
rights, and a bounded number of SQL statements whatever the number of vendors."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from convergence.accounts.models import Role
from convergence.core.db import unit_of_work
from convergence.core.formatting import format_percent
from convergence.core.models import AuditEvent, utcnow
from convergence.products.models import Product
from convergence.questionnaires.fixtures import load_questionnaires
from convergence.questionnaires.models import (
    Enrolment,
    Item,
    Questionnaire,
    Response,
    Step,
    Track,
)
from convergence.review.models import ReviewComment
from tests.factories import csrf, make_company, make_user, page_login, token_for


@pytest.fixture
async def content(settings, db, cast) -> None:
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) > 0


async def steps_by_code(db: Any) -> dict[str, int]:
    async with db() as session:
        rows = (await session.execute(select(Step.code, Step.id).join(Track).order_by(Track.position,
                                                                                      Step.position))).all()
    return dict(rows)


async def doctrine_steps(db: Any) -> list[int]:
    async with db() as session:
        return list((await session.scalars(select(Step.id).join(Track).where(Track.code == "doctrine")
                                           .order_by(Step.position))).all())


async def product(db: Any, company_id: int, name: str, *, commercial_name: str | None = None,
                  os: str = "Windows", device: str = "Website") -> int:
    async with unit_of_work(db) as session:
        row = Product(company_id=company_id, name=name, os=os, device=device, edition="", version="1",
                      kind="base", description="", identity_key=f"{name.lower()}|{os}|{device}||1",
                      commercial_name=commercial_name)
        session.add(row)
        await session.flush()
        return row.id


async def enrol(db: Any, product_id: int, step_id: int, *, status: str = "draft", maturity: float = 50.0,
                theme_scores: dict[str, float] | None = None, validated_days_ago: int | None = None) -> list[int]:
    """A product enrolled in a step with one response per questionnaire, written straight to the database
    (the dashboard reads the stored status and maturity)."""
    async with unit_of_work(db) as session:
        product_row = await session.get(Product, product_id)
        session.add(Enrolment(product_id=product_id, step_id=step_id))
        questionnaires = (await session.scalars(select(Questionnaire).where(
            Questionnaire.step_id == step_id, Questionnaire.current.is_(True)))).all()
        ids = []
        for questionnaire in questionnaires:
            response = Response(
                company_id=product_row.company_id, product_id=product_id, questionnaire_id=questionnaire.id,
                step_id=step_id, status=status, version=1, revision=1, answers={}, planned={}, maturity=maturity,
                theme_scores=theme_scores if theme_scores is not None else {"ins": maturity},
                validated_at=utcnow() - timedelta(days=validated_days_ago) if validated_days_ago is not None
                else None)
            session.add(response)
            await session.flush()
            ids.append(response.id)
        return ids


async def market(db: Any, settings: Any, cast: Any) -> dict[str, Any]:
    """Three companies with products in the first two doctrine steps, at known statuses and maturities."""
    first, second = (await doctrine_steps(db))[:2]
    async with unit_of_work(db) as session:
        third = await make_company(session, "Troisième Santé")
        third_manager = await make_user(session, settings, role=Role.MANAGER, company=third)
        third_id = third.id
    dossier = await product(db, cast.company.id, "Dossier Patient", commercial_name="=HYPERLINK(\"x\")")
    agenda = await product(db, cast.other_company.id, "Agenda Pro", os="iOS", device="Mobile")
    portail = await product(db, third_id, "Portail Soins", commercial_name="MonPortail")
    await enrol(db, dossier, first, status="validated", maturity=80, theme_scores={"ins": 80, "psc": 60},
                validated_days_ago=3)
    await enrol(db, dossier, second, status="draft", maturity=20, theme_scores={"ins": 20})
    await enrol(db, agenda, first, status="submitted", maturity=55, theme_scores={"ins": 50, "psc": 40})
    await enrol(db, portail, first, status="not_started", maturity=0, theme_scores={})
    await enrol(db, portail, second, status="validated", maturity=95, theme_scores={"ins": 90},
                validated_days_ago=1)
    return {"first": first, "second": second, "dossier": dossier, "agenda": agenda, "portail": portail,
            "third": third_id, "third_manager": third_manager}


async def rows(client: Any, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/v1/review/products{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------------------------------------- the list

async def test_rows_one_per_product_and_step_with_least_status_and_mean_maturity(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    reviewer = await token_for(client, cast.reviewer.email)
    data = await rows(client, reviewer)
    assert data["total"] == 5 and len(data["items"]) == 5
    row = next(r for r in data["items"] if r["product_id"] == world["dossier"] and r["step_id"] == world["first"])
    assert set(row) >= {"product_id", "company_id", "company_name", "display_name", "step_id", "status", "maturity",
                        "validated_at"}
    assert row["company_name"] == "Santé Connectée SAS" and row["display_name"] == "Dossier Patient Windows Website"
    assert row["status"] == "validated" and row["maturity"] == 80 and row["validated_at"]
    draft = next(r for r in data["items"] if r["product_id"] == world["dossier"] and r["step_id"] == world["second"])
    assert draft["status"] == "draft" and draft["validated_at"] is None
    # A step's status is its least advanced response; its maturity the mean of the responses' maturities.
    async with unit_of_work(db) as session:
        responses = (await session.scalars(select(Response).where(Response.product_id == world["agenda"]))).all()
        extra = Response(company_id=cast.other_company.id, product_id=world["agenda"],
                         questionnaire_id=responses[0].questionnaire_id, step_id=world["first"], status="draft",
                         version=1, revision=1, answers={}, planned={}, maturity=15, theme_scores={})
        # Same questionnaire twice is not allowed: attach the extra response to another questionnaire row.
        other = Questionnaire(code="review-extra", version=1, step_id=world["first"], title_fr="x", title_en="x",
                              current=False)
        session.add(other)
        await session.flush()
        extra.questionnaire_id = other.id
        session.add(extra)
    agenda = (await rows(client, reviewer, f"?company={cast.other_company.id}"))["items"]
    assert len(agenda) == 1 and agenda[0]["status"] == "draft"
    assert agenda[0]["maturity"] == round((55 * len(responses) + 15) / (len(responses) + 1), 1)
    # Support reads it too.
    support = await token_for(client, cast.support.email)
    assert (await rows(client, support))["total"] == 5


async def test_filters_sorting_and_pagination(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    reviewer = await token_for(client, cast.reviewer.email)
    assert {r["status"] for r in (await rows(client, reviewer, "?status=validated"))["items"]} == {"validated"}
    assert (await rows(client, reviewer, "?status=validated"))["total"] == 2
    assert {r["step_id"] for r in (await rows(client, reviewer, f"?step={world['second']}"))["items"]} == {
        world["second"]}
    assert (await rows(client, reviewer, "?track=doctrine"))["total"] == 5
    assert (await rows(client, reviewer, "?track=mes"))["total"] == 0
    assert {r["company_id"] for r in (await rows(client, reviewer, f"?company={world['third']}"))["items"]} == {
        world["third"]}
    assert {r["maturity"] for r in (await rows(client, reviewer, "?min_maturity=50&max_maturity=90"))["items"]} == {
        80, 55}
    # Text search: display name, commercial name, company name; case-insensitive; LIKE wildcards are literal.
    assert {r["product_id"] for r in (await rows(client, reviewer, "?q=agenda%20pro%20ios"))["items"]} == {
        world["agenda"]}
    assert {r["product_id"] for r in (await rows(client, reviewer, "?q=monportail"))["items"]} == {world["portail"]}
    assert {r["product_id"] for r in (await rows(client, reviewer, "?q=troisi"))["items"]} == {world["portail"]}
    assert (await rows(client, reviewer, "?q=%25"))["total"] == 0
    # Sorting, both directions, and pages.
    by_maturity = [r["maturity"] for r in (await rows(client, reviewer, "?sort=maturity"))["items"]]
    assert by_maturity == sorted(by_maturity)
    assert [r["maturity"] for r in (await rows(client, reviewer, "?sort=-maturity"))["items"]] == sorted(
        by_maturity, reverse=True)
    companies = [r["company_name"] for r in (await rows(client, reviewer, "?sort=-company"))["items"]]
    assert companies == sorted(companies, key=str.lower, reverse=True)
    statuses = [r["status"] for r in (await rows(client, reviewer, "?sort=status"))["items"]]
    assert statuses[0] == "not_started" and statuses[-1] == "validated"
    dated = [r["validated_at"] for r in (await rows(client, reviewer, "?sort=-validated_at"))["items"]]
    assert dated[0] > dated[1] and dated[2:] == [None, None, None]
    for key in ("product", "step", "-product", "-step", "validated_at"):
        assert (await rows(client, reviewer, f"?sort={key}"))["total"] == 5
    page = await rows(client, reviewer, "?sort=maturity&limit=2&offset=2")
    assert page["total"] == 5 and [r["maturity"] for r in page["items"]] == by_maturity[2:4]


@pytest.mark.parametrize("query", ["status=finished", "step=abc", "company=-1", "min_maturity=abc",
                                   "max_maturity=150", "min_maturity=80&max_maturity=20", "sort=price",
                                   "limit=0", "limit=500", "offset=-3", "q=" + "x" * 201])
async def test_bad_filters_answer_422_with_a_sentence(client, cast, query):
    reviewer = await token_for(client, cast.reviewer.email)
    for path in ("/api/v1/review/products", "/api/v1/review/export.csv"):
        if path.endswith(".csv") and query.startswith(("limit", "offset")):
            continue
        response = await client.get(f"{path}?{query}", headers=reviewer)
        assert response.status_code == 422, (path, query, response.text)
        assert response.json()["code"] == "invalid_filter" and response.json()["detail"].endswith(".")


async def test_vendors_are_refused_and_anonymous_must_sign_in(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    response_id = (await enrol(db, await product(db, cast.company.id, "Autre"), world["first"]))[0]
    paths = ["/api/v1/review/products", "/api/v1/review/export.csv", "/api/v1/review/export.xlsx",
             "/api/v1/review/charts", f"/api/v1/review/products/{world['dossier']}",
             f"/api/v1/review/responses/{response_id}/comments"]
    for email in (cast.manager.email, cast.contributor.email, cast.outsider.email):
        headers = await token_for(client, email)
        for path in paths:
            assert (await client.get(path, headers=headers)).status_code == 403, (email, path)
        posted = await client.post(f"/api/v1/review/responses/{response_id}/comments", json={"body": "x"},
                                   headers=headers)
        assert posted.status_code == 403
    for path in paths:
        assert (await client.get(path)).status_code == 401
    support = await token_for(client, cast.support.email)
    refused = await client.post(f"/api/v1/review/responses/{response_id}/comments", json={"body": "x"},
                                headers=support)
    assert refused.status_code == 403
    await page_login(client, cast.manager.email)
    assert (await client.get("/review")).status_code == 403
    assert (await client.get(f"/review/products/{world['dossier']}")).status_code == 403
    async with db() as session:
        assert await session.scalar(select(ReviewComment.id)) is None


# ------------------------------------------------------------------------------------------- the pages

async def test_dashboard_page_filters_charts_and_export_links(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    await page_login(client, cast.reviewer.email)
    page = await client.get("/review")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for text in ("Dossier Patient Windows Website", "Agenda Pro iOS Mobile", "Portail Soins Windows Website",
                 "<svg", 'id="review-results"', "/api/v1/review/export.csv", "/api/v1/review/export.xlsx"):
        assert text in page.text, text
    assert page.text.count("<rect") >= 4  # stacked status bars + legend
    filtered = await client.get(f"/review?status=validated&min_maturity=90&company={world['third']}")
    assert filtered.status_code == 200
    assert "Portail Soins" in filtered.text and "Agenda Pro" not in filtered.text
    assert f"/api/v1/review/export.csv?status=validated&amp;company={world['third']}&amp;min_maturity=90" in \
        filtered.text
    # HTMX gets the results partial only.
    partial = await client.get("/review?q=agenda", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<div id="review-results">')
    assert "Agenda Pro" in partial.text and "Dossier Patient" not in partial.text and "<form" not in partial.text
    bad = await client.get("/review?min_maturity=abc")
    assert bad.status_code == 422 and "0 à 100" in bad.text
    assert (await client.get("/review?page=0")).status_code == 422
    sorted_page = await client.get("/review?sort=-maturity")
    assert sorted_page.text.index("Portail Soins") < sorted_page.text.index("Agenda Pro")


def _csv(response: Any) -> list[list[str]]:
    """A French spreadsheet's reading of the export: UTF-8 with BOM, `;`-separated, every field quoted."""
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert all(line.startswith('"') and line.endswith('"') for line in text.split("\r\n") if line)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


async def test_csv_and_xlsx_exports_follow_the_filters_and_defuse_formulas(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    reviewer = await token_for(client, cast.reviewer.email)
    hostile = "Acme;=2+5;@SUM(9+9)"
    async with unit_of_work(db) as session:
        (await session.get(Product, world["dossier"])).name = "=cmd|' /C calc'!A0"
        (await session.get(Product, world["agenda"])).name = hostile
    exported = await client.get("/api/v1/review/export.csv?sort=maturity", headers=reviewer)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"].startswith("attachment;")
    table = _csv(exported)
    assert table[0] == ["product_id", "company_id", "company_name", "display_name", "step_id", "step", "status",
                        "status_label", "maturity", "validated_at"]
    assert len(table) == 6 and all(len(r) == 10 for r in table)
    assert [float(r[8]) for r in table[1:]] == sorted(float(r[8]) for r in table[1:])  # English: decimal dot
    assert {(r[6], r[7]) for r in table[1:]} <= {("not_started", "Not started"), ("draft", "Draft"),
                                                 ("submitted", "Submitted"), ("validated", "Validated")}
    names = {r[3] for r in table[1:]}
    assert "'=cmd|' /C calc'!A0 Windows Website" in names and not any(n.startswith("=") for n in names)
    # The `;` and formulas inside the quoted field stay in the one cell, which begins with a letter.
    assert f"{hostile} iOS Mobile" in names
    assert f'"{hostile} iOS Mobile"' in exported.content.decode("utf-8-sig")
    only = _csv(await client.get(f"/api/v1/review/export.csv?company={world['third']}&status=validated",
                                 headers=reviewer))
    assert len(only) == 2 and only[1][0] == str(world["portail"])
    # French (the default for a browser): translated labels and a decimal comma.
    french = _csv(await client.get(f"/api/v1/review/export.csv?company={world['third']}&status=validated",
                                   headers={**reviewer, "Accept-Language": "fr"}))
    assert french[1][6:8] == ["validated", "Validé"]
    assert french[1][8].replace(",", ".") == only[1][8] and ("." not in french[1][8])

    from openpyxl import load_workbook

    xlsx = await client.get("/api/v1/review/export.xlsx?status=validated", headers=reviewer)
    assert xlsx.status_code == 200 and xlsx.headers["content-disposition"].endswith('.xlsx"')
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "product_id" and values[0][7] == "status_label" and len(values) == 3
    assert {v[6] for v in values[1:]} == {"validated"} and {v[7] for v in values[1:]} == {"Validated"}
    assert all(isinstance(v[8], (int, float)) for v in values[1:])  # a number, not text
    everything = load_workbook(io.BytesIO((await client.get("/api/v1/review/export.xlsx",
                                                            headers=reviewer)).content)).active
    cells = [c for row in everything.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)  # text is text, never a formula
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert "=cmd|' /C calc'!A0 Windows Website" in texts and f"{hostile} iOS Mobile" in texts
    assert all(c.quotePrefix for c in cells if c.value == "=cmd|' /C calc'!A0 Windows Website")
    # Cookie-session export from the dashboard link works for a signed-in reviewer.
    await page_login(client, cast.reviewer.email)
    assert (await client.get("/api/v1/review/export.csv")).status_code == 200


async def test_charts_count_statuses_per_step_and_spread_theme_scores(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    reviewer = await token_for(client, cast.reviewer.email)
    data = (await client.get("/api/v1/review/charts", headers=reviewer)).json()
    first = next(s for s in data["steps"] if s["id"] == world["first"])
    assert first["counts"] == {"not_started": 1, "draft": 0, "submitted": 1, "validated": 1} and first["total"] == 3
    ins = next(t for t in data["themes"] if t["theme"] == "ins")
    # ins scores of started responses: dossier/first 80 (×n questionnaires), dossier/second 20, agenda 50, portail 90
    assert ins["minimum"] == 20 and ins["maximum"] == 90 and ins["count"] >= 4
    filtered = (await client.get(f"/api/v1/review/charts?company={world['third']}", headers=reviewer)).json()
    assert sum(s["total"] for s in filtered["steps"]) == 2
    assert {t["theme"]: (t["minimum"], t["maximum"]) for t in filtered["themes"]} == {"ins": (90, 90)}


# ------------------------------------------------------------------------------------------- drill-down

async def test_drill_down_shows_answers_revisions_changes_and_projection(client, db, cast, content):
    from tests.test_questionnaires import complete_answers, items_of

    manager = await token_for(client, cast.manager.email)
    product_id = await product(db, cast.company.id, "Dossier Patient")
    socles = (await doctrine_steps(db))[0]
    assert (await client.put(f"/api/v1/products/{product_id}/steps", json={"step_ids": [socles]},
                             headers=manager)).status_code == 200
    rid = (await client.get(f"/api/v1/products/{product_id}/responses", headers=manager)).json()["items"][0]["id"]
    items = await items_of(db, rid)
    answers = complete_answers(items)
    assert (await client.patch(f"/api/v1/responses/{rid}/answers", json={"version": 0, "answers": answers},
                               headers=manager)).status_code == 200
    assert (await client.post(f"/api/v1/responses/{rid}/submit", headers=manager)).status_code == 200
    assert (await client.post(f"/api/v1/responses/{rid}/validate", headers=manager)).status_code == 200
    assert (await client.post(f"/api/v1/responses/{rid}/reopen", headers=manager)).status_code == 200
    version = (await client.get(f"/api/v1/responses/{rid}", headers=manager)).json()["version"]
    changed = next(i for i in items if i.type == "boolean" and not i.enable_when)
    assert (await client.patch(f"/api/v1/responses/{rid}/answers", json={
        "version": version, "answers": {str(changed.id): not answers[str(changed.id)]}},
        headers=manager)).status_code == 200

    reviewer = await token_for(client, cast.reviewer.email)
    data = (await client.get(f"/api/v1/review/products/{product_id}", headers=reviewer)).json()
    assert data["company_name"] == "Santé Connectée SAS"
    view = next(r for r in data["responses"] if r["id"] == rid)
    assert view["status"] == "draft" and view["revision"] == 2 and view["last_validated_revision"] == 1
    assert [r["revision"] for r in view["revisions"]] == [1]
    assert view["changes"] == [{"id": changed.id, "code": changed.code, "label": changed.label_en,
                                "before": answers[str(changed.id)], "after": not answers[str(changed.id)],
                                "before_text": "Yes" if answers[str(changed.id)] else "No",
                                "after_text": "No" if answers[str(changed.id)] else "Yes"}]
    assert [h["action"] for h in view["history"]] == ["response.submitted", "response.validated",
                                                      "response.reopened"]
    choice = next((i for i in items if i.type == "choice" and str(i.id) in answers), None)
    if choice is not None:
        labelled = next(a for a in view["answers"] if a["id"] == choice.id)
        option = next(o for o in choice.options if o["value"] == answers[str(choice.id)])
        assert labelled["text"] == option["label_en"]
    assert view["projection"] and view["projection"][0]["maturity"] == view["maturity"]
    assert (await client.get("/api/v1/review/products/987654", headers=reviewer)).status_code == 404

    await page_login(client, cast.reviewer.email)
    page = await client.get(f"/review/products/{product_id}")
    assert page.status_code == 200
    assert "<polyline" in page.text and "Dossier Patient Windows Website" in page.text
    assert "→" in page.text and "Révision 1" in page.text
    # Read-only: no answer form, no autosave, no workflow buttons; the reviewer has no route to edit.
    assert "/answer" not in page.text and "hx-post" not in page.text and "/submit" not in page.text
    assert f'action="/review/responses/{rid}/comments"' in page.text
    assert (await client.get("/review/products/987654")).status_code == 404


async def test_reviewers_never_edit_answers(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    rid = (await enrol(db, await product(db, cast.company.id, "Lecture Seule"), world["first"]))[0]
    async with db() as session:
        before = await session.get(Response, rid)
        item = await session.scalar(select(Item).where(Item.questionnaire_id == before.questionnaire_id,
                                                       Item.type == "boolean"))
        snapshot = (before.version, dict(before.answers), before.status)
    reviewer = await token_for(client, cast.reviewer.email)
    attempts = [
        ("PATCH", f"/api/v1/responses/{rid}/answers", {"version": 1, "answers": {str(item.id): True}}),
        ("POST", f"/api/v1/responses/{rid}/submit", {}), ("POST", f"/api/v1/responses/{rid}/validate", {}),
        ("POST", f"/api/v1/responses/{rid}/return", {"comment": "x"}), ("POST", f"/api/v1/responses/{rid}/reopen", {}),
        ("POST", f"/api/v1/responses/{rid}/copy-from", {"source_response_id": rid, "version": 1}),
    ]
    for method, path, body in attempts:
        assert (await client.request(method, path, json=body, headers=reviewer)).status_code == 403, path
    # No route of the review API or pages writes answers: only comments are posted.
    from convergence.app import create_app

    writes = {f"{m} {r.path}" for r in create_app().routes for m in getattr(r, "methods", ())
              if r.path.startswith(("/review", "/api/v1/review")) and m not in ("GET", "HEAD", "OPTIONS")}
    assert writes == {"POST /review/responses/{response_id:int}/comments",
                      "POST /api/v1/review/responses/{response_id:int}/comments"}
    await page_login(client, cast.reviewer.email)
    form = await client.post(f"/responses/{rid}/answer", data={"item_id": str(item.id), "value": "true",
                                                                "version": "1", "_csrf": csrf(client)})
    assert form.status_code == 403
    async with db() as session:
        after = await session.get(Response, rid)
        assert (after.version, dict(after.answers), after.status) == snapshot


# ------------------------------------------------------------------------------------------- comments

async def test_reviewer_comments_are_audited_and_read_by_the_company(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    async with db() as session:
        rid = await session.scalar(select(Response.id).where(Response.product_id == world["dossier"]))
    reviewer = await token_for(client, cast.reviewer.email)
    empty = await client.post(f"/api/v1/review/responses/{rid}/comments", json={"body": "  "}, headers=reviewer)
    assert empty.status_code == 422 and empty.json()["code"] == "comment_required"
    too_long = await client.post(f"/api/v1/review/responses/{rid}/comments", json={"body": "x" * 5001},
                                 headers=reviewer)
    assert too_long.status_code == 422 and too_long.json()["code"] == "comment_too_long"
    assert (await client.post("/api/v1/review/responses/987654/comments", json={"body": "x"},
                              headers=reviewer)).status_code == 404
    added = await client.post(f"/api/v1/review/responses/{rid}/comments",
                              json={"body": "Préciser l'hébergeur HDS."}, headers=reviewer)
    assert added.status_code == 201 and added.json()["body"] == "Préciser l'hébergeur HDS."
    async with db() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "review.commented"))).all()
        assert len(events) == 1 and events[0].actor_id == cast.reviewer.id
        assert events[0].company_id == cast.company.id and events[0].data["response_id"] == rid
    listed = (await client.get(f"/api/v1/review/responses/{rid}/comments", headers=reviewer)).json()
    assert listed["total"] == 1

    # The company's members with a read right see them (API and the include of the response page).
    manager = await token_for(client, cast.manager.email)
    seen = (await client.get(f"/api/v1/responses/{rid}/comments", headers=manager)).json()
    assert seen["total"] == 1 and seen["items"][0]["body"] == "Préciser l'hébergeur HDS."
    contributor = await token_for(client, cast.contributor.email)
    assert (await client.get(f"/api/v1/responses/{rid}/comments", headers=contributor)).status_code == 404
    outsider = await token_for(client, cast.outsider.email)
    assert (await client.get(f"/api/v1/responses/{rid}/comments", headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/responses/{rid}/comments", headers=reviewer)).status_code == 403

    await page_login(client, cast.manager.email)
    page = await client.get(f"/responses/{rid}")
    assert page.status_code == 200
    assert f'hx-get="/responses/{rid}/comments"' in page.text and f'hx-get="/responses/{rid}/market"' in page.text
    partial = await client.get(f"/responses/{rid}/comments", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "Préciser l&#39;hébergeur HDS." in partial.text
    assert "<form" not in partial.text
    full = await client.get(f"/responses/{rid}/comments")
    assert full.status_code == 200 and "<html" in full.text

    # The reviewer's form on the drill-down page.
    await page_login(client, cast.reviewer.email)
    await client.get(f"/review/products/{world['dossier']}")
    posted = await client.post(f"/review/responses/{rid}/comments", data={"body": "Merci.", "_csrf": csrf(client)})
    assert posted.status_code == 303 and posted.headers["location"].startswith(f"/review/products/{world['dossier']}")
    invalid = await client.post(f"/review/responses/{rid}/comments", data={"body": "", "_csrf": csrf(client)})
    assert invalid.status_code == 422 and 'aria-invalid' not in invalid.text and 'class="error"' in invalid.text
    async with db() as session:
        assert len((await session.scalars(select(ReviewComment))).all()) == 2


# ------------------------------------------------------------------------------------------- market

async def test_market_averages_need_three_companies(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    manager = await token_for(client, cast.manager.email)
    data = (await client.get("/api/v1/market/themes", headers=manager)).json()
    themes = {t["theme"]: t for t in data["items"]}
    assert data["min_companies"] == 3
    # ins: three companies contribute (dossier, agenda, portail); psc: only two.
    async with db() as session:
        scores = (await session.execute(select(Response.theme_scores).where(Response.status != "not_started"))).all()
    ins = [s[0]["ins"] for s in scores if "ins" in s[0]]
    assert themes["ins"]["enough_data"] and themes["ins"]["market_average"] == round(sum(ins) / len(ins), 1)
    assert themes["psc"]["enough_data"] is False and themes["psc"]["market_average"] is None
    async with db() as session:
        own_scores = (await session.scalars(select(Response.theme_scores).where(
            Response.company_id == cast.company.id, Response.status != "not_started"))).all()
    own_ins = [s["ins"] for s in own_scores if "ins" in s]
    assert themes["ins"]["own_average"] == round(sum(own_ins) / len(own_ins), 1)
    # A contributor without rights sees the market but no own average.
    contributor = await token_for(client, cast.contributor.email)
    theirs = {t["theme"]: t for t in (await client.get("/api/v1/market/themes", headers=contributor)).json()["items"]}
    assert theirs["ins"]["market_average"] == themes["ins"]["market_average"] and theirs["ins"]["own_average"] is None
    for email in (cast.reviewer.email, cast.support.email):
        assert (await client.get("/api/v1/market/themes", headers=await token_for(client, email))).status_code == 403
    assert (await client.get("/api/v1/market/themes")).status_code == 401
    # The include of the response page.
    async with db() as session:
        rid = await session.scalar(select(Response.id).where(Response.product_id == world["dossier"],
                                                             Response.step_id == world["first"]))
    await page_login(client, cast.manager.email)
    partial = await client.get(f"/responses/{rid}/market", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "Pas assez de données" in partial.text
    assert format_percent(themes["ins"]["market_average"], lang="fr") in partial.text  # "60 %", French format


# ------------------------------------------------------------------------------------------- scale

@contextmanager
def counting(engine: Any):
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def add_vendors(db: Any, settings: Any, count: int, steps: list[int]) -> None:
    async with unit_of_work(db) as session:
        questionnaires = (await session.scalars(select(Questionnaire).where(
            Questionnaire.step_id.in_(steps), Questionnaire.current.is_(True)))).all()
        statuses = ("not_started", "draft", "submitted", "validated")
        for index in range(count):
            company = await make_company(session, f"Éditeur Charge {index:02d}")
            for number in range(3):
                row = Product(company_id=company.id, name=f"Produit {index}-{number}", os="Linux", device="Website",
                              edition="", version="1", kind="base", description="",
                              identity_key=f"p{index}-{number}")
                session.add(row)
                await session.flush()
                for step_id in steps:
                    session.add(Enrolment(product_id=row.id, step_id=step_id))
                for q_index, questionnaire in enumerate(questionnaires):
                    status = statuses[(index + number + q_index) % 4]
                    value = float((index * 7 + number * 13 + q_index * 5) % 101)
                    session.add(Response(
                        company_id=company.id, product_id=row.id, questionnaire_id=questionnaire.id,
                        step_id=questionnaire.step_id, status=status, version=1, revision=1, answers={},
                        planned={}, maturity=value, theme_scores={"ins": value, "psc": 100 - value},
                        validated_at=utcnow() if status == "validated" else None))


async def test_dashboard_charts_and_exports_issue_a_bounded_number_of_queries(client, db, settings, cast, content):
    steps = (await doctrine_steps(db))[:2]
    reviewer = await token_for(client, cast.reviewer.email)
    await page_login(client, cast.reviewer.email)
    engine = client.app.state.engine
    paths = ["/review", "/review?status=draft&sort=-maturity&q=produit&page=2", "/api/v1/review/products",
             "/api/v1/review/products?min_maturity=10&sort=validated_at", "/api/v1/review/charts",
             "/api/v1/review/export.csv", "/api/v1/review/export.xlsx?sort=-step"]

    async def measure() -> dict[str, int]:
        counts = {}
        for path in paths:
            headers = reviewer if path.startswith("/api/") else {}
            with counting(engine) as statements:
                response = await client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text[:300])
            counts[path] = len(statements)
        return counts

    await add_vendors(db, settings, 2, steps)
    await measure()  # warm-up: the first request of a session may touch it
    small = await measure()
    await add_vendors(db, settings, 18, steps)
    large = await measure()
    assert small == large, (small, large)
    assert max(small.values()) <= 15
    total = (await rows(client, reviewer))["total"]
    assert total == 20 * 3 * len(steps)

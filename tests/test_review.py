"""ANS review: dashboard rows (filters, sorting, pages), charts, exports, drill-down, comments, market averages,
rights, and a bounded number of SQL statements whatever the number of vendors."""

from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
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
from tests.conftest import ROOT
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



async def test_dashboard_shows_key_figures_and_charts_before_the_filters_and_the_table(client, db, settings, cast,
                                                                                          content):
    world = await market(db, settings, cast)
    await page_login(client, cast.reviewer.email)
    page = (await client.get("/review")).text
    # Reading order: key figures, charts, the filter bar, then the table.
    order = [page.index('class="key-figures"'), page.index('id="status-chart-title"'),
             page.index('id="theme-chart-title"'), page.index('id="review-filters"'), page.index('id="review-results"'),
             page.index('<table class="review-rows"')]
    assert order == sorted(order)
    figures = page[page.index('class="key-figures"'):page.index("</ul>", page.index('class="key-figures"'))]
    # Five rows: two validated (40 %), one submitted, one draft... as market() enrolled them.
    assert '<span class="kf-value">5</span>' in figures and "40" in figures and "lignes validées" in figures
    assert "2 sur 5" in figures and "lignes soumises, à relire" in figures
    # Both maturity bounds have a real label (no bare "à").
    assert '<label for="f-min_maturity">Maturité minimale</label>' in page
    assert '<label for="f-max_maturity">Maturité maximale</label>' in page
    assert ">à</label>" not in page
    # The page has the overview in place; an HTMX filter change gets the results and, out of band, new figures.
    assert "hx-swap-oob" not in page
    partial = await client.get(f"/review?company={world['third']}", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="review-results">')
    overview = partial.text[partial.text.index('<div id="review-overview"'):]
    assert 'hx-swap-oob="true"' in overview.split(">", 1)[0]
    assert '<span class="kf-value">2</span>' in overview and "Portail Soins" not in overview
    assert f"/api/v1/review/export.xlsx?company={world['third']}" in partial.text
    # Every chart keeps its data as a table.
    assert page.count('<details class="chart-data">') == 2 and page.count("<table") >= 3


def test_key_figures_and_bars_come_from_the_chart_data_alone():
    from convergence.review.statistics import theme_stats
    from convergence.review.views import key_figures, status_chart

    steps = [{"id": 1, "title": "Socles", "track": "Doctrine", "total": 4,
              "counts": {"not_started": 1, "draft": 1, "submitted": 1, "validated": 1}},
             {"id": 2, "title": "Télésoin", "track": "Doctrine", "total": 2,
              "counts": {"not_started": 0, "draft": 0, "submitted": 0, "validated": 2}}]
    themes = [theme_stats("ins", "Identité", [(80, 2), (40, 1)]), theme_stats("hds", "Hébergement", [(30, 3)]),
              theme_stats("psc", "Pro Santé Connect", [])]
    figures = key_figures(steps, themes)
    assert figures["total"] == 6 and figures["steps"] == 2 and figures["validated_share"] == 50.0
    assert figures["by_status"] == {"not_started": 1, "draft": 1, "submitted": 1, "validated": 3}
    assert figures["weakest_theme"].theme == "hds"  # an empty theme has no median to compare
    assert key_figures([], [])["validated_share"] is None and key_figures([], [])["weakest_theme"] is None
    # Bars in percent of the largest step: its segments fill the row, the others in proportion.
    bars = status_chart(steps)["rows"]
    assert sum(s["width"] for s in bars[0]["segments"]) == 100
    assert [(s["status"], s["x"], s["width"]) for s in bars[1]["segments"]] == [("validated", 0.0, 50.0)]

class _SvgTexts(HTMLParser):
    """Each <svg> of a page with its viewBox and the font sizes of the texts it draws itself (nested SVGs
    apart), so that a test can tell a text's size in CSS pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, Any]] = []
        self.stack: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "svg":
            self.stack.append({"viewbox": values.get("viewbox"), "texts": []})
            self.svgs.append(self.stack[-1])
        elif tag == "text" and self.stack:
            self.stack[-1]["texts"].append(values.get("font-size"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self.stack:
            self.stack.pop()


def chart_text_sizes(html: str) -> list[float]:
    """The font sizes, in CSS pixels, of every text the page's SVGs draw; fails on a text whose size depends on
    how far its SVG is scaled (a text inside an SVG with a viewBox)."""
    parser = _SvgTexts()
    parser.feed(html)
    sizes = []
    for svg in parser.svgs:
        if svg["texts"]:
            assert svg["viewbox"] is None, "a text in a scaled SVG shrinks with it on a narrow screen"
        for size in svg["texts"]:
            assert size is not None, "every chart text states its size"
            sizes.append(float(size))
    return sizes


async def test_chart_labels_are_at_least_12_pixels(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    await page_login(client, cast.reviewer.email)
    dashboard = chart_text_sizes((await client.get("/review")).text)
    assert dashboard and min(dashboard) >= 12
    drill = chart_text_sizes((await client.get(f"/review/products/{world['dossier']}")).text)
    assert drill and min(drill) >= 12
    # The stylesheet, which wins over the attribute, says the same for the charts' texts.
    css = (ROOT / "static/css/app.css").read_text()
    rule = re.search(r"\.chart \.tick \{[^}]*font-size:\s*(\d+)px", css)
    assert rule and int(rule.group(1)) >= 12

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


async def test_drill_down_shows_one_response_at_a_time_with_links_to_the_others(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    async with db() as session:
        ids = list((await session.scalars(select(Response.id).where(Response.product_id == world["dossier"])
                                          .order_by(Response.id))).all())
        foreign = await session.scalar(select(Response.id).where(Response.product_id == world["agenda"]))
    assert len(ids) >= 2  # two steps, at least one questionnaire each
    await page_login(client, cast.reviewer.email)
    base = f"/review/products/{world['dossier']}"
    page = await client.get(base)
    assert page.status_code == 200
    shown = [int(found) for found in re.findall(r'<section class="card review-response" id="response-(\d+)"', page.text)]
    assert len(shown) == 1 and shown[0] in ids
    # The side menu links to every response of the product; the shown one is the current page.
    for rid in ids:
        assert f'href="{base}?response={rid}#response-{rid}"' in page.text
    menu = page.text[page.text.index('<nav class="review-sidemenu"'):page.text.index("</nav>",
                                                                                  page.text.index("review-sidemenu"))]
    assert menu.count("aria-current") == 1 and menu.count("?response=") == len(ids)
    assert re.search(rf'href="{base}\?response={shown[0]}#response-{shown[0]}" aria-current="page"', page.text)
    # Another response on demand: only its section, its comment form, its chart.
    other = next(rid for rid in ids if rid != shown[0])
    chosen = await client.get(f"{base}?response={other}")
    assert chosen.status_code == 200
    assert f'id="response-{other}"' in chosen.text and f'id="response-{shown[0]}"' not in chosen.text
    assert f'id="f-body-{other}"' in chosen.text and f'id="f-body-{shown[0]}"' not in chosen.text
    assert chosen.text.count("<polyline") == 1
    assert re.search(rf'href="{base}\?response={other}#response-{other}" aria-current="page"', chosen.text)
    # A response of another product (here another company's) or no number at all: not found, nothing shown.
    for bad in (str(foreign), "abc", "987654"):
        refused = await client.get(f"{base}?response={bad}")
        assert refused.status_code == 404, bad
        assert "Agenda Pro" not in refused.text
    # A comment brings the reviewer back to the response commented.
    posted = await client.post(f"/review/responses/{other}/comments", data={"body": "Vu.", "_csrf": csrf(client)})
    assert posted.status_code == 303 and posted.headers["location"].startswith(f"{base}?response={other}&")
    after = await client.get(posted.headers["location"].split("#")[0])
    assert f'id="response-{other}"' in after.text and "Vu." in after.text
    # An invalid comment re-renders the commented response with the message.
    invalid = await client.post(f"/review/responses/{other}/comments", data={"body": "", "_csrf": csrf(client)})
    assert invalid.status_code == 422 and f'id="response-{other}"' in invalid.text and 'class="error"' in invalid.text

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


# ------------------------------------------------------------------------------------------- streamed exports
# (This section's imports stay with it.)

import asyncio  # noqa: E402
import tracemalloc  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from openpyxl import load_workbook  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from convergence.companies.models import Company  # noqa: E402
from convergence.core.errors import Forbidden  # noqa: E402
from convergence.core.i18n import set_language  # noqa: E402
from convergence.identity.context import Context  # noqa: E402
from convergence.review.exports import csv_export, xlsx_export  # noqa: E402
from convergence.review.filters import parse_filters  # noqa: E402
from convergence.review.queries import ReviewQueries  # noqa: E402
from convergence.review.services import EXPORT_BATCH, ReviewService  # noqa: E402
from convergence.review.views import review_row  # noqa: E402


class Download:
    """A request sent straight to the ASGI app, as a server would, to watch the body arrive chunk by chunk (the
    test client hands over a finished body). Chunks are counted, not kept, unless `keep`; `hold` pauses the client
    after the first chunk of rows; `hang_up` makes it disconnect there instead of reading on. Run it in the app's
    event loop (`in_app_loop`): the test client serves the app from a loop of its own, and asyncpg's
    connections belong to the loop that opened them."""

    def __init__(self, app: Any, url: str, headers: dict[str, str], *, keep: bool = True, method: str = "GET",
                 body: bytes = b"") -> None:
        parts = urlsplit(url)
        self.app = app
        self.request_body = body
        self.scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": parts.path, "raw_path": parts.path.encode(),
            "root_path": "", "query_string": parts.query.encode(), "client": ("127.0.0.1", 50000),
            "server": ("testserver.local", 80),
            "headers": [(b"host", b"testserver.local"), (b"accept-language", b"en")]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        self.keep = keep
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.sizes: list[int] = []
        self.done = asyncio.Event()  # the client hangs up after the last chunk, as servers tell the app
        self.first_rows = asyncio.Event()
        self.resume = asyncio.Event()
        self.hold = False
        self.hang_up = False
        self._requested = False

    async def receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": self.request_body, "more_body": False}
        await self.done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            return
        body = message.get("body", b"")
        if body:
            self.sizes.append(len(body))
            if self.keep:
                self.chunks.append(body)
        if len(self.sizes) == 2 and not self.first_rows.is_set():  # the header, then the first rows
            self.first_rows.set()
            if self.hang_up:
                self.done.set()
            if self.hold:
                await self.resume.wait()
        if not message.get("more_body", False):
            self.done.set()

    async def run(self) -> Download:
        await self.app(self.scope, self.receive, self.send)
        return self

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def in_app_loop(client: Any, function: Any, *args: Any) -> Any:
    """`await function(*args)` in the event loop that serves the app (the test client's portal)."""
    return await asyncio.wrap_future(client.blocking_portal.start_task_soon(function, *args))


async def expected_rows(db: Any, query: str, language: str) -> list[Any]:
    """The export's rows read the way the whole-document export read them (ReviewQueries.rows)."""
    raw = dict(p.split("=", 1) for p in query.split("&") if p)
    set_language(language)
    async with db() as session:
        return [review_row(r) for r in await ReviewQueries(session).rows(parse_filters(raw))]


def sheet_values(data: bytes) -> tuple[list[tuple[Any, ...]], set[str]]:
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    return list(sheet.iter_rows(values_only=True)), {c.coordinate for c in cells if c.quotePrefix}


async def test_streamed_exports_are_the_whole_documents_chunk_by_chunk(client, db, settings, cast, content):
    world = await market(db, settings, cast)
    async with unit_of_work(db) as session:
        (await session.get(Product, world["dossier"])).name = "=cmd|' /C calc'!A0 <b>&"
        (await session.get(Product, world["agenda"])).name = "Acme;=2+5;@SUM(9+9) \"quoted\"\r\nnext"
    reviewer = await token_for(client, cast.reviewer.email)
    for query, language in (("", "en"), ("sort=-maturity", "fr"), (f"company={world['third']}", "fr"),
                            ("status=validated&sort=step", "en"), ("q=nothing-matches", "en")):
        rows_ = await expected_rows(db, query, language)
        csv_answer = await client.get(f"/api/v1/review/export.csv?{query}",
                                      headers={**reviewer, "Accept-Language": language})
        assert csv_answer.status_code == 200 and "content-length" not in csv_answer.headers
        assert csv_answer.headers["cache-control"] == "no-store"
        assert csv_answer.content == csv_export(rows_, language).encode("utf-8"), query  # byte for byte
        xlsx_answer = await client.get(f"/api/v1/review/export.xlsx?{query}",
                                       headers={**reviewer, "Accept-Language": language})
        assert xlsx_answer.status_code == 200 and xlsx_answer.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        # Same cells, same types, same quote prefixes as the workbook openpyxl built.
        assert sheet_values(xlsx_answer.content) == sheet_values(xlsx_export(rows_)), query
    assert len(rows_) == 0 and len(await expected_rows(db, "", "en")) == 5


async def test_exports_refuse_before_the_first_byte(client, db, settings, cast, content):
    await market(db, settings, cast)
    for user in (cast.contributor, cast.manager):
        headers = await token_for(client, user.email)
        for path in ("/api/v1/review/export.csv", "/api/v1/review/export.xlsx"):
            download = await in_app_loop(client, Download(client.app, path, headers).run)
            # The whole answer is the JSON refusal: no status 200, no byte of a file.
            assert download.status == 403 and download.headers["content-type"].startswith("application/json")
            assert b"product_id" not in download.body and not download.body.startswith(b"\xef\xbb\xbf")
    # The service checks the right when asked for the stream, not when the body is first read.
    async with db() as session:
        contributor = await session.get(type(cast.contributor), cast.contributor.id)
        service = ReviewService(Context(session=session, settings=settings, actor=contributor))
        for method in (service.export_csv, service.export_xlsx):
            with pytest.raises(Forbidden):
                method(parse_filters({}))
    bad = await in_app_loop(client, Download(client.app, "/api/v1/review/export.csv?status=finished",
                                             await token_for(client, cast.reviewer.email)).run)
    assert bad.status == 422  # filters too


async def bulk_market(db: Any, products: int, steps: list[int], start: int = 0) -> None:
    """`products` products of 50 companies, each enrolled in `steps` with one response per questionnaire:
    bulk INSERTs, a few statements whatever the size."""
    async with unit_of_work(db) as session:
        companies = [{"name": f"Éditeur Masse {start + n:04d}", "siren": f"{700000000 + start + n:09d}"}
                     for n in range(50)]
        company_ids = list((await session.scalars(insert(Company).returning(Company.id), companies)).all())
        product_ids = list((await session.scalars(insert(Product).returning(Product.id), [
            {"company_id": company_ids[n % 50], "name": f"=Produit {start + n}", "os": "Linux",
             "device": "Website", "edition": "", "version": "1", "kind": "base", "description": "",
             "identity_key": f"masse-{start + n}"} for n in range(products)])).all())
        await session.execute(insert(Enrolment), [{"product_id": p, "step_id": s}
                                                  for p in product_ids for s in steps])
        questionnaires = (await session.execute(select(Questionnaire.id, Questionnaire.step_id).where(
            Questionnaire.step_id.in_(steps), Questionnaire.current.is_(True)))).all()
        statuses = ("not_started", "draft", "submitted", "validated")
        await session.execute(insert(Response), [
            {"company_id": company_ids[n % 50], "product_id": p, "questionnaire_id": q, "step_id": s,
             "status": statuses[n % 4], "version": 1, "revision": 1, "answers": {}, "planned": {},
             "maturity": float(n % 101), "theme_scores": {"ins": float(n % 101)},
             "validated_at": utcnow() if n % 4 == 3 else None}
            for n, p in enumerate(product_ids) for q, s in questionnaires])


async def peak_of(download: Download) -> int:
    """Peak Python memory while the whole export is produced and consumed (chunks counted, not kept)."""
    tracemalloc.start()
    try:
        await download.run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("path", ["/api/v1/review/export.csv", "/api/v1/review/export.xlsx"])
async def test_a_large_export_streams_in_batches_with_memory_independent_of_the_rows(client, db, settings, cast,
                                                                                    content, path):
    steps = (await doctrine_steps(db))[:2]
    reviewer = await token_for(client, cast.reviewer.email)
    await bulk_market(db, 500, steps)  # 1,000 rows
    # Warm-up: statement caches, imports.
    await in_app_loop(client, Download(client.app, path, reviewer, keep=False).run)
    small = Download(client.app, path, reviewer, keep=False)
    small_peak = await in_app_loop(client, peak_of, small)
    await bulk_market(db, 2_000, steps, start=500)  # 5,000 rows
    large = Download(client.app, path, reviewer, keep=False)
    large_peak = await in_app_loop(client, peak_of, large)
    assert large.status == 200
    # Chunks as the batches of rows are read (the first long before the last row), not one body at the end; the
    # XLSX compressor holds back a little, so fewer chunks than batches.
    assert len(large.sizes) >= 5_000 // EXPORT_BATCH // 2
    # Five times the rows, about the same peak: a batch and the compressor, never the whole file.
    assert large_peak < 1.5 * small_peak + 256 * 1024, (small_peak, large_peak)
    whole = await client.get(path, headers=reviewer)
    if path.endswith(".csv"):
        assert whole.content.count(b"\r\n") == 5_001 and b'"\'=Produit 2499 Linux Website"' in whole.content
    else:
        values, prefixed = sheet_values(whole.content)
        assert len(values) == 5_001 and len(prefixed) == 5_000  # every product name begins with "="


async def test_a_long_export_blocks_no_writer_and_a_hang_up_returns_its_connection(client, db, settings, cast,
                                                                                  content):
    steps = (await doctrine_steps(db))[:2]
    await bulk_market(db, 1_500, steps)  # 3,000 rows: several batches
    async with db() as session:
        rid = await session.scalar(select(Response.id).order_by(Response.id).limit(1))
    reviewer = await token_for(client, cast.reviewer.email)
    pool = client.app.state.engine.pool

    async def scenario(path: str) -> None:
        # An export paused half-way (a slow client) holds its read transaction and its cursor...
        slow = Download(client.app, path, reviewer)
        slow.hold = True
        task = asyncio.create_task(slow.run())
        await asyncio.wait_for(slow.first_rows.wait(), 30)
        assert pool.checkedout() >= 1 and not task.done()
        # ...while a writer (on SQLite: the write gate, then BEGIN IMMEDIATE) commits at once.
        writer = Download(client.app, f"/api/v1/review/responses/{rid}/comments",
                          {**reviewer, "Content-Type": "application/json"}, method="POST",
                          body=f'{{"body": "Pendant l\'export {path}"}}'.encode())
        await asyncio.wait_for(writer.run(), 10)
        assert writer.status == 201, writer.body
        slow.resume.set()
        await asyncio.wait_for(task, 30)
        assert slow.status == 200 and pool.checkedout() == 0
        # A client that hangs up after the first rows: the body stops, the connection goes back to the pool.
        gone = Download(client.app, path, reviewer, keep=False)
        gone.hang_up = True
        await asyncio.wait_for(gone.run(), 30)
        assert gone.status == 200 and pool.checkedout() == 0
        assert sum(gone.sizes) < sum(slow.sizes)
        # The fetch in flight when the client left was let finish: the connection was pooled, not discarded
        # (SQLAlchemy discards one cut in the middle of an operation, with a close that never ends on aiosqlite).
        assert not [t for t in asyncio.all_tasks() if "_terminate_graceful_close" in repr(t.get_coro())]

    for path in ("/api/v1/review/export.csv", "/api/v1/review/export.xlsx"):
        await in_app_loop(client, scenario, path)
    # Nothing was left behind: the next export is whole.
    assert (await client.get("/api/v1/review/export.csv", headers=reviewer)).content.count(b"\r\n") == 3_001
    assert pool.checkedout() == 0
    async with db() as session:
        assert len((await session.scalars(select(ReviewComment).where(ReviewComment.response_id == rid))).all()) == 2

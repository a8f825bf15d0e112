"""Roadmaps (issue 18, point 1): lines derived from the answers not yet compliant with their planned dates,
grouped by quarter, owners (default and assigned), overdue with a fixed "today", the projected maturity per theme
checked against a hand computation, targets and gaps, the company roadmap's filters, CSV and iCalendar exports
parsed back, and who may do what."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from icalendar import Calendar
from sqlalchemy import func, select

from convergence.accounts.models import Role
from convergence.companies.team_models import MemberRight
from convergence.core.db import unit_of_work
from convergence.core.models import AuditEvent
from convergence.identity.context import Context
from convergence.questionnaires.models import Item, Response
from convergence.roadmap.models import RoadmapOwner, RoadmapTarget
from convergence.roadmap.services import RoadmapService, quarter_of
from tests.factories import csrf, make_user, page_login, token_for
from tests.test_questionnaires import content, enrolled_response, make_product

__all__ = ["content"]  # the fixture, used by name

TODAY = date(2026, 6, 15)


async def answered_product(client: Any, db: Any, cast: Any, *, name: str = "Dossier Patient",
                           today: date = TODAY, by: int | None = None) -> tuple[dict, int, int]:
    """A product whose doctrine response has its security questions answered, written straight to the row so
    that planned dates may lie anywhere around `today` (the API refuses a planned date already past):

    sec-strong-auth no (0) planned today+107 days, sec-traceability yes (100), sec-backup partial (60) planned
    today+214 days, sec-incident-process no (0) planned 45 days ago (overdue). Last changed by `by`."""
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id, name=name)
    rid = (await enrolled_response(client, db, manager, product))["id"]
    async with unit_of_work(db) as session:
        response = await session.get(Response, rid)
        items = {i.code: i for i in (await session.scalars(select(Item).where(
            Item.questionnaire_id == response.questionnaire_id))).all()}
        key = {code: str(item.id) for code, item in items.items()}
        response.answers = {key["sec-strong-auth"]: False, key["sec-traceability"]: True,
                            key["sec-backup"]: "partial", key["sec-incident-process"]: False}
        response.planned = {key["sec-strong-auth"]: (today + timedelta(days=107)).isoformat(),
                            key["sec-backup"]: (today + timedelta(days=214)).isoformat(),
                            key["sec-incident-process"]: (today - timedelta(days=45)).isoformat()}
        if by is not None:
            response.item_versions = {k: {"v": 1, "by": by, "at": "2026-01-01T00:00:00+00:00"}
                                      for k in response.answers}
        response.last_saved_by_id = cast.manager.id
        response.status = "draft"
        response.version = 1
    return manager, product, rid


async def service_for(db: Any, settings: Any, user: Any) -> tuple[Any, RoadmapService]:
    session = db()
    return session, RoadmapService(Context(session=session, settings=settings, actor=user))


async def test_lines_overdue_quarters_and_projection_by_hand(client, db, settings, cast, content):
    _manager, product, rid = await answered_product(client, db, cast, by=cast.contributor.id)
    session, service = await service_for(db, settings, cast.manager)
    async with session:
        roadmap = await service.product(product, today=TODAY)
    lines = {line.code: line for line in roadmap.lines}
    # Compliant (sec-traceability) and untouched questions are no line; the three others are.
    assert set(lines) == {"sec-strong-auth", "sec-backup", "sec-incident-process"}
    assert [line.code for line in roadmap.lines] == ["sec-incident-process", "sec-strong-auth", "sec-backup"]
    assert lines["sec-incident-process"].overdue and lines["sec-incident-process"].quarter == "2026-Q2"
    assert not lines["sec-strong-auth"].overdue and lines["sec-strong-auth"].planned == date(2026, 9, 30)
    assert lines["sec-strong-auth"].quarter == "2026-Q3" and lines["sec-backup"].quarter == "2027-Q1"
    assert lines["sec-backup"].score == 60.0 and roadmap.overdue == 1
    # Default owner: whoever last changed the answer.
    assert {line.owner_id for line in roadmap.lines} == {cast.contributor.id}
    assert not any(line.assigned for line in roadmap.lines)
    assert [(q, [t for t, _ in groups]) for q, groups in roadmap.quarters()] == [
        ("2026-Q2", ["security"]), ("2026-Q3", ["security"]), ("2027-Q1", ["security"])]
    # By hand, security = mean of strong-auth, traceability, backup, incident (pentest-fixed is disabled):
    # today (0 + 100 + 60 + 0) / 4 = 40; from 30 Sep 2026 strong-auth counts 100: 65; from 15 Jan 2027
    # backup too: 75. The overdue incident process never counts.
    security = next(row for row in roadmap.themes if row.code == "security")
    assert roadmap.dates == [TODAY, date(2026, 9, 30), date(2027, 1, 15)]
    assert security.values == [40.0, 65.0, 75.0]
    assert (security.current, security.projected, security.target) == (40.0, 75.0, None)
    # An unanswered theme is at 0 and stays there (each of its scored questions counts 0).
    assert next(row for row in roadmap.themes if row.code == "identity").values == [0.0, 0.0, 0.0]
    # The same figures as the response page's projection, which averages every theme together.
    assert quarter_of(date(2027, 12, 31)) == "2027-Q4"
    # A day later than the planned date of strong-auth, the line is overdue and the projection drops it.
    session, service = await service_for(db, settings, cast.manager)
    async with session:
        later = await service.product(product, today=date(2026, 10, 1))
    assert {line.code for line in later.lines if line.overdue} == {"sec-strong-auth", "sec-incident-process"}
    assert next(row for row in later.themes if row.code == "security").values == [40.0, 50.0]


async def test_api_roadmap_targets_and_gaps(client, db, cast, content):
    today = date.today()
    manager, product, _rid = await answered_product(client, db, cast, today=today)
    answer = await client.get(f"/api/v1/products/{product}/roadmap", headers=manager)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 3 and body["overdue"] == 1 and body["product_id"] == product
    security = next(t for t in body["themes"] if t["code"] == "security")
    assert (security["current"], security["projected"], security["target"]) == (40.0, 75.0, None)
    assert [p["maturity"] for p in security["projection"]] == [40.0, 65.0, 75.0]
    put = await client.put(f"/api/v1/products/{product}/roadmap/targets",
                           json={"targets": {"security": 80, "identity": 50.5}}, headers=manager)
    assert put.status_code == 200, put.text
    themes = {t["code"]: t for t in put.json()["themes"]}
    assert (themes["security"]["target"], themes["security"]["gap_current"], themes["security"]["gap_projected"]) \
        == (80.0, 40.0, 5.0)
    assert (themes["identity"]["gap_current"], themes["identity"]["gap_projected"]) == (50.5, 50.5)
    # A target already reached leaves no negative gap; null clears one; other themes keep theirs.
    put = await client.put(f"/api/v1/products/{product}/roadmap/targets",
                           json={"targets": {"security": 30, "identity": None}}, headers=manager)
    themes = {t["code"]: t for t in put.json()["themes"]}
    assert themes["security"]["gap_current"] == 0.0 and themes["identity"]["target"] is None
    async with db() as session:
        stored = {(t.theme, t.target) for t in (await session.scalars(select(RoadmapTarget))).all()}
        audit = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "roadmap.targets_set")
                                       .order_by(AuditEvent.id))).all()
    assert stored == {("security", 30.0)}
    assert [e.data["targets"] for e in audit] == [{"security": 80.0, "identity": 50.5},
                                                   {"security": 30.0, "identity": None}]
    # Bad input: 422 with a sentence, nothing changed.
    for targets, code in (({"astrology": 50}, "unknown_theme"), ({"security": 150}, "invalid_target"),
                          ({"security": -1}, "invalid_target"), ({"security": "high"}, "invalid_target"),
                          ({"security": True}, "invalid_target"), ({}, "invalid_input"),
                          ({"security": 50, "astrology": 1}, "unknown_theme")):
        bad = await client.put(f"/api/v1/products/{product}/roadmap/targets", json={"targets": targets},
                               headers=manager)
        assert bad.status_code == 422 and bad.json()["code"] == code, (targets, bad.text)
        assert bad.json()["detail"].endswith(".")
    bad = await client.put(f"/api/v1/products/{product}/roadmap/targets", json={"targets": [1]}, headers=manager)
    assert bad.status_code == 422
    async with db() as session:
        assert {(t.theme, t.target) for t in (await session.scalars(select(RoadmapTarget))).all()} == stored


async def test_rights_foreign_404_lower_level_403_reviewer_reads(client, db, settings, cast, content):
    manager, product, _rid = await answered_product(client, db, cast, today=date.today())
    outsider = await token_for(client, cast.outsider.email)
    contributor = await token_for(client, cast.contributor.email)
    reviewer = await token_for(client, cast.reviewer.email)
    targets = {"targets": {"security": 80}}
    owner = {"owner_id": cast.manager.id}
    line = f"/api/v1/products/{product}/roadmap/lines/sec-backup/owner"
    # Another company's product, or one the contributor holds no right on: 404, never a hint it exists.
    for headers in (outsider, contributor):
        assert (await client.get(f"/api/v1/products/{product}/roadmap", headers=headers)).status_code == 404
        assert (await client.get(f"/api/v1/products/{product}/roadmap.csv", headers=headers)).status_code == 404
        assert (await client.put(f"/api/v1/products/{product}/roadmap/targets", json=targets,
                                 headers=headers)).status_code == 404
        assert (await client.put(line, json=owner, headers=headers)).status_code == 404
    assert (await client.get("/api/v1/products/999999/roadmap", headers=manager)).status_code == 404
    async with unit_of_work(db) as session:
        right = MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product, level="read")
        session.add(right)
    # Read level: reads; neither targets (validate) nor owners (edit).
    assert (await client.get(f"/api/v1/products/{product}/roadmap", headers=contributor)).status_code == 200
    assert (await client.put(f"/api/v1/products/{product}/roadmap/targets", json=targets,
                             headers=contributor)).status_code == 403
    assert (await client.put(line, json=owner, headers=contributor)).status_code == 403
    async with unit_of_work(db) as session:
        (await session.get(MemberRight, right.id)).level = "edit"
    assert (await client.put(line, json=owner, headers=contributor)).status_code == 200
    assert (await client.put(f"/api/v1/products/{product}/roadmap/targets", json=targets,
                             headers=contributor)).status_code == 403
    async with unit_of_work(db) as session:
        (await session.get(MemberRight, right.id)).level = "validate"
    assert (await client.put(f"/api/v1/products/{product}/roadmap/targets", json=targets,
                             headers=contributor)).status_code == 200
    # ANS reviewers read any product's roadmap, change nothing, and have no company roadmap.
    read = await client.get(f"/api/v1/products/{product}/roadmap", headers=reviewer)
    assert read.status_code == 200 and read.json()["total"] == 3
    assert (await client.put(f"/api/v1/products/{product}/roadmap/targets", json=targets,
                             headers=reviewer)).status_code == 403
    assert (await client.put(line, json=owner, headers=reviewer)).status_code == 403
    assert (await client.get("/api/v1/roadmap", headers=reviewer)).status_code == 403
    assert (await client.get(f"/api/v1/products/{product}/roadmap")).status_code == 401


async def test_owner_assignment_rules(client, db, settings, cast, content):
    manager, product, _rid = await answered_product(client, db, cast, today=date.today())
    async with unit_of_work(db) as session:
        company = cast.company
        without_right = await make_user(session, settings, role=Role.CONTRIBUTOR, company=company)
        gone = await make_user(session, settings, role=Role.CONTRIBUTOR, company=company, active=False)
        session.add(MemberRight(company_id=company.id, user_id=cast.contributor.id, product_id=product, level="read"))
        session.add(MemberRight(company_id=company.id, user_id=gone.id, product_id=product, level="edit"))
    url = f"/api/v1/products/{product}/roadmap/lines/sec-backup/owner"
    for owner_id in (without_right.id, gone.id, cast.outsider.id, cast.reviewer.id, 999999, "abc", True, -1):
        bad = await client.put(url, json={"owner_id": owner_id}, headers=manager)
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_owner", (owner_id, bad.text)
    # A question that is no line of this product (compliant, or unknown): 404.
    for code in ("sec-traceability", "no-such-item"):
        missing = await client.put(f"/api/v1/products/{product}/roadmap/lines/{code}/owner",
                                   json={"owner_id": cast.contributor.id}, headers=manager)
        assert missing.status_code == 404
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(RoadmapOwner)) == 0
    done = await client.put(url, json={"owner_id": cast.contributor.id}, headers=manager)
    assert done.status_code == 200, done.text
    assert (done.json()["owner_id"], done.json()["assigned"]) == (cast.contributor.id, True)
    assert done.json()["owner"] == cast.contributor.full_name
    lines = (await client.get(f"/api/v1/products/{product}/roadmap", headers=manager)).json()["items"]
    assert {line["item_code"]: line["owner_id"] for line in lines}["sec-backup"] == cast.contributor.id
    back = await client.put(url, json={"owner_id": None}, headers=manager)
    assert back.status_code == 200 and back.json()["assigned"] is False
    assert back.json()["owner_id"] == cast.manager.id  # the answer's last editor
    async with db() as session:
        audit = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "roadmap.owner_assigned")
                                       .order_by(AuditEvent.id))).all()
        assert await session.scalar(select(func.count()).select_from(RoadmapOwner)) == 0
    assert [(e.data["item_code"], e.data["owner_id"]) for e in audit] == [("sec-backup", cast.contributor.id),
                                                                          ("sec-backup", None)]


async def test_company_roadmap_filters_pagination_and_scope(client, db, settings, cast, content):
    manager, first, _ = await answered_product(client, db, cast, name="Premier", today=date.today())
    _, second, _ = await answered_product(client, db, cast, name="Second", today=date.today())
    await client.put(f"/api/v1/products/{first}/roadmap/lines/sec-backup/owner",
                     json={"owner_id": cast.manager.id}, headers=manager)
    await client.put(f"/api/v1/products/{second}/roadmap/targets", json={"targets": {"security": 90}},
                     headers=manager)
    everything = (await client.get("/api/v1/roadmap", headers=manager)).json()
    assert everything["total"] == 6 and len(everything["items"]) == 6
    assert [(g["product_id"], g["theme"], g["gap_current"], g["gap_projected"]) for g in everything["gaps"]] == [
        (second, "security", 50.0, 15.0)]
    overdue = (await client.get("/api/v1/roadmap?overdue=true", headers=manager)).json()
    assert overdue["total"] == 2 and all(i["overdue"] for i in overdue["items"])
    assert (await client.get("/api/v1/roadmap?theme=identity", headers=manager)).json()["total"] == 0
    assert (await client.get("/api/v1/roadmap?theme=security", headers=manager)).json()["total"] == 6
    mine = (await client.get(f"/api/v1/roadmap?owner={cast.manager.id}", headers=manager)).json()
    assert mine["total"] == 6  # the manager last saved every answer, and was assigned one line
    assert (await client.get(f"/api/v1/roadmap?owner={cast.contributor.id}", headers=manager)).json()["total"] == 0
    window = (await client.get("/api/v1/roadmap?limit=4&offset=4", headers=manager)).json()
    assert window["total"] == 6 and len(window["items"]) == 2 and (window["limit"], window["offset"]) == (4, 4)
    for query in ("theme=astrology", "owner=somebody"):
        assert (await client.get(f"/api/v1/roadmap?{query}", headers=manager)).status_code == 422
    # A contributor sees only the products they hold a right on; the other company sees none of these.
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=second,
                                level="read"))
    contributor = await token_for(client, cast.contributor.email)
    theirs = (await client.get("/api/v1/roadmap", headers=contributor)).json()
    assert theirs["total"] == 3 and {i["product_id"] for i in theirs["items"]} == {second}
    outsider = await token_for(client, cast.outsider.email)
    assert (await client.get("/api/v1/roadmap", headers=outsider)).json()["total"] == 0


async def test_csv_and_ics_exports_parse_back(client, db, settings, cast, content):
    today = date.today()
    manager, product, _ = await answered_product(client, db, cast, name="=HYPERLINK(1)", today=today)
    answer = await client.get(f"/api/v1/products/{product}/roadmap.csv", headers=manager)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert len(rows) == 4
    by_code = {row[5]: row for row in rows[1:]}
    assert set(by_code) == {"sec-strong-auth", "sec-backup", "sec-incident-process"}
    # Formula-safe: a product name that a spreadsheet would run is quoted.
    assert all(row[0].startswith("'=HYPERLINK") for row in rows[1:])
    assert by_code["sec-backup"][3] == (today + timedelta(days=214)).isoformat()
    assert by_code["sec-backup"][2] == quarter_of(today + timedelta(days=214))
    assert by_code["sec-incident-process"][4] in ("oui", "yes") and by_code["sec-backup"][4] in ("non", "no")
    ics = await client.get(f"/api/v1/products/{product}/roadmap.ics", headers=manager)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(ics.content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == 3
    uid = f"roadmap-{product}-sec-backup@localhost"
    assert uid in events or any(u.startswith(f"roadmap-{product}-sec-backup@") for u in events)
    backup = next(e for u, e in events.items() if u.startswith(f"roadmap-{product}-sec-backup@"))
    assert backup.decoded("dtstart") == today + timedelta(days=214)
    assert "=HYPERLINK(1)" in str(backup["summary"])
    overdue = next(e for u, e in events.items() if "sec-incident-process" in u)
    assert overdue.decoded("dtstart") == today - timedelta(days=45)
    # The company exports carry the same lines; the page downloads need the session.
    company_csv = await client.get("/api/v1/roadmap.csv?overdue=true", headers=manager)
    assert len(list(csv.reader(io.StringIO(company_csv.content.decode().removeprefix("\ufeff")),
                               delimiter=";"))) == 2
    company_ics = Calendar.from_ical((await client.get("/api/v1/roadmap.ics", headers=manager)).content)
    assert len(list(company_ics.walk("VEVENT"))) == 3


async def test_pages_set_targets_assign_and_filter(client, db, settings, cast, content):
    _manager, product, _ = await answered_product(client, db, cast, today=date.today())
    await page_login(client, cast.manager.email)
    page = await client.get(f"/products/{product}/roadmap")
    assert page.status_code == 200 and "<svg" in page.text and 'data-overdue="true"' in page.text
    assert 'name="target-security"' in page.text
    detail = await client.get(f"/products/{product}")
    assert f'href="/products/{product}/roadmap"' in detail.text
    saved = await client.post(f"/products/{product}/roadmap/targets",
                              data={"_csrf": csrf(client), "target-security": "80,5", "target-identity": ""})
    assert saved.status_code == 303
    async with db() as session:
        assert {(t.theme, t.target) for t in (await session.scalars(select(RoadmapTarget))).all()} == {
            ("security", 80.5)}
    bad = await client.post(f"/products/{product}/roadmap/targets",
                            data={"_csrf": csrf(client), "target-security": "200"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text and "error-summary" in bad.text
    assigned = await client.post(f"/products/{product}/roadmap/lines/sec-backup/owner",
                                 data={"_csrf": csrf(client), "owner_id": str(cast.manager.id)})
    assert assigned.status_code == 303
    refused = await client.post(f"/products/{product}/roadmap/lines/sec-backup/owner",
                                data={"_csrf": csrf(client), "owner_id": str(cast.outsider.id)})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    assert "Le responsable doit être un membre actif de l'entreprise" in refused.text.replace("&#39;", "'")
    company = await client.get("/roadmap?overdue=1")
    assert company.status_code == 200 and company.text.count('data-overdue="true"') == 1
    assert 'href="/roadmap"' in company.text  # the main navigation
    partial = await client.get("/roadmap?theme=security", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and 'id="roadmap-results"' in partial.text
    wrong = await client.get("/roadmap?theme=astrology")
    assert wrong.status_code == 422
    assert (await client.get("/roadmap.csv")).status_code == 200
    assert (await client.get(f"/products/{product}/roadmap.ics")).status_code == 200
    # French by default, English by the switch.
    assert "Feuille de route de l'entreprise" in company.text.replace("&#39;", "'")
    switched = await client.post("/lang", data={"lang": "en", "next": "/roadmap", "_csrf": csrf(client)})
    assert switched.status_code == 303
    english = await client.get(f"/products/{product}/roadmap")
    assert "Maturity per theme and targets" in english.text and "Save the targets" in english.text
    # Without the session's CSRF token nothing is saved.
    forged = await client.post(f"/products/{product}/roadmap/targets", data={"target-security": "10"})
    assert forged.status_code == 403


async def test_simulation_sets_targets_and_owners_once(client, db, settings, cast, content, monkeypatch):
    import random

    from convergence.roadmap import simulate

    _manager, product, _ = await answered_product(client, db, cast, today=date.today())
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product,
                                level="edit"))
    monkeypatch.setattr(simulate, "TARGET_RATE", 1.0)
    async with unit_of_work(db) as session:
        assert await simulate.simulate_roadmaps(session, random.Random(7), settings) == 1
    async with db() as session:
        targets = (await session.scalars(select(RoadmapTarget))).all()
        owners = (await session.scalars(select(RoadmapOwner))).all()
    assert targets and all(0 <= t.target <= 100 and t.target % 5 == 0 for t in targets)
    assert owners and {o.owner_id for o in owners} == {cast.contributor.id}
    async with unit_of_work(db) as session:
        assert await simulate.simulate_roadmaps(session, random.Random(7), settings) == 0


async def test_reviewer_reads_a_product_roadmap_page_without_forms(client, db, settings, cast, content):
    _manager, product, _ = await answered_product(client, db, cast, today=date.today())
    await page_login(client, cast.reviewer.email)
    page = await client.get(f"/products/{product}/roadmap")
    assert page.status_code == 200 and 'data-overdue="true"' in page.text
    assert "<form" not in page.text.split('id="roadmap"', 1)[1]
    assert (await client.get("/roadmap")).status_code == 403

"""Item bounds and planned dates: the engine's rules (pure, no database), then the API refusing with a clear 422
and saving nothing, the projection ignoring overdue plans, and `fixtures load` giving bounds to loaded items."""

from __future__ import annotations

import ast
from datetime import date, timedelta
from typing import Any

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select, update

from convergence.core.db import unit_of_work
from convergence.core.errors import Invalid
from convergence.core.i18n import load_catalogues, set_language
from convergence.questionnaires import engine
from convergence.questionnaires.fixtures import bounds_from_fixture, load_questionnaires
from convergence.questionnaires.models import Item, Response
from convergence.questionnaires.services import local_today
from tests.conftest import ROOT
from tests.factories import token_for
from tests.test_questionnaires import content, enrolled_response, items_of, make_product  # noqa: F401

TODAY = date(2026, 11, 30)
HOURS = {"min": 0, "max": 720, "integer": True, "unit_fr": "heures", "unit_en": "hours"}
NNBSP = "\u202f"


def item(kind: str, bounds: dict[str, Any] | None = None, **extra: Any) -> Item:
    return Item(id=7, code=f"{kind}-item", type=kind, bounds=bounds, scored=extra.pop("scored", False), **extra)


@pytest.fixture
def english():
    load_catalogues(ROOT / "locale")
    set_language("en")
    yield
    set_language("fr")


@pytest.fixture
def french():
    load_catalogues(ROOT / "locale")
    set_language("fr")
    yield


def refusal(kind_item: Item, value: Any, today: date = TODAY) -> engine.InvalidAnswer:
    with pytest.raises(engine.InvalidAnswer) as caught:
        engine.coerce(kind_item, value, today)
    assert caught.value.code == "invalid_answer" and caught.value.extra["item_id"] == kind_item.id
    assert isinstance(caught.value, Invalid) and caught.value.status_code == 422
    return caught.value


# ------------------------------------------------------------------------------------------- numbers

def test_number_within_bounds_is_kept_and_an_integer_item_stores_an_int():
    hours = item("number", HOURS)
    assert engine.coerce(hours, 0) == 0 and engine.coerce(hours, 720) == 720
    assert engine.coerce(hours, 12.0) == 12 and isinstance(engine.coerce(hours, 12.0), int)
    assert engine.coerce(item("number", {"min": 0, "max": 10}), 2.5) == 2.5
    assert engine.coerce(hours, None) is None


def test_number_outside_bounds_is_refused_with_the_bounds_and_unit(english):
    hours = item("number", HOURS)
    for value in (-1, 721, 1e300, -1e300):
        assert refusal(hours, value).message == "This answer must be between 0 and 720 hours."
    assert refusal(hours, 2.5).message == "This answer must be a whole number."
    assert refusal(hours, True).message == "This answer must be a number."
    assert refusal(hours, float("nan")).message == "This answer must be a number."
    big = item("number", {"min": 0, "max": 1_000_000})
    assert refusal(big, 10**9).message == "This answer must be between 0 and 1,000,000."
    assert refusal(item("number", {"min": 1}), 0).message == "This answer must be at least 1."
    assert refusal(item("number", {"max": 5, "unit_en": "days"}), 6).message == "This answer must be at most 5 days."


def test_a_number_without_bounds_still_has_a_sane_limit(english):
    free = item("number")
    assert engine.coerce(free, -3.5) == -3.5 and engine.coerce(free, 10**15) == 10**15
    assert refusal(free, 1e300).message == "This number is too large."


def test_refusals_are_translated_and_formatted_when_shown(french):
    error = refusal(item("number", {"min": 0, "max": 1_000_000, "unit_fr": "messages par mois"}), 1e300)
    assert error.message == f"Cette réponse doit être comprise entre 0 et 1{NNBSP}000{NNBSP}000 messages par mois."
    set_language("en")  # the same error, shown to an English reader (the unit falls back to French, like labels)
    assert error.message == "This answer must be between 0 and 1,000,000 messages par mois."
    assert error.payload(error.message)["code"] == "invalid_answer"


# --------------------------------------------------------------------------------------------- dates

def test_date_window_with_today(english):
    pentest = item("date", {"min": "2000-01-01", "max": "today"})
    assert engine.coerce(pentest, "2000-01-01", TODAY) == "2000-01-01"
    assert engine.coerce(pentest, TODAY.isoformat(), TODAY) == TODAY.isoformat()
    message = "This date must be between 1 Jan 2000 and today."
    assert refusal(pentest, "2026-12-01").message == message
    assert refusal(pentest, "1999-12-31").message == message
    assert refusal(pentest, "31/01/2026").message == "This answer must be a date written YYYY-MM-DD."
    assert refusal(item("date", {"min": "today"}), "2026-11-29").message == "This date must be on or after today."
    assert (refusal(item("date", {"max": "2035-12-31"}), "2036-01-01").message
            == "This date must be on or before 31 Dec 2035.")


def test_date_refusal_in_french(french):
    pentest = item("date", {"min": "2000-01-01", "max": "today"})
    assert refusal(pentest, "2027-01-01").message == "Cette date doit être comprise entre 1 janv. 2000 et aujourd'hui."


def test_resolved_bounds_for_inputs():
    assert engine.resolved_bounds(item("number", HOURS), TODAY) == HOURS
    assert engine.resolved_bounds(item("number"), TODAY) == {"min": None, "max": None, "integer": False,
                                                             "unit_fr": "", "unit_en": ""}
    assert engine.resolved_bounds(item("date", {"min": "2000-01-01", "max": "today"}), TODAY) == {
        "min": "2000-01-01", "max": "2026-11-30"}
    assert engine.resolved_bounds(item("date"), TODAY) == {"min": None, "max": None}
    assert engine.resolved_bounds(item("boolean"), TODAY) == {}


def test_bounds_hints(english):
    def hint(i: Item) -> list[str]:
        return [str(p) for p in engine.bounds_hint(i, TODAY)]
    assert hint(item("number", HOURS)) == ["Between 0 and 720 hours.", "A whole number."]
    assert hint(item("number", {"min": 0})) == ["At least 0."]
    assert hint(item("date", {"min": "2000-01-01", "max": "today"})) == ["A date between 1 Jan 2000 and today."]
    assert hint(item("number")) == [] and hint(item("text")) == []
    set_language("fr")
    assert hint(item("number", HOURS)) == ["Entre 0 et 720 heures.", "Un nombre entier."]


# ------------------------------------------------------------------------------------- planned dates

def test_planned_date_must_be_after_today_and_within_ten_years(english):
    scored = item("boolean", scored=True)
    assert engine.coerce_planned(scored, None, TODAY) is None and engine.coerce_planned(scored, "", TODAY) is None
    assert engine.coerce_planned(scored, "2026-12-01", TODAY) == "2026-12-01"
    assert engine.coerce_planned(scored, "2036-11-30", TODAY) == "2036-11-30"  # ten years exactly
    for value, sentence in (
            ("2026-11-29", "A planned date of compliance must be in the future (after 30 Nov 2026)."),
            ("2026-11-30", "A planned date of compliance must be in the future (after 30 Nov 2026)."),
            ("2036-12-01", "A planned date of compliance must be within ten years (on or before 30 Nov 2036)."),
            ("demain", "A planned date must be written YYYY-MM-DD."),
            (20261201, "A planned date must be written YYYY-MM-DD.")):
        with pytest.raises(engine.InvalidAnswer) as caught:
            engine.coerce_planned(scored, value, TODAY)
        assert caught.value.message == sentence and caught.value.code == "invalid_answer"
        assert caught.value.extra["item_id"] == scored.id
    assert engine.planned_window(date(2028, 2, 29)) == (date(2028, 3, 1), date(2038, 2, 28))


def test_a_past_planned_date_never_raises_the_projection():
    items = [Item(id=1, code="a", type="boolean", scored=True, score_true=100, score_false=0),
             Item(id=2, code="b", type="boolean", scored=True, score_true=100, score_false=0)]
    answers = {"1": True, "2": False}
    overdue = engine.projection(items, answers, {"2": "2026-11-01"}, TODAY)
    assert overdue == [(TODAY, 50.0), (TODAY + timedelta(days=30), 50.0)]
    assert engine.projection(items, answers, {"2": TODAY.isoformat()}, TODAY)[0] == (TODAY, 50.0)
    assert engine.projection(items, answers, {"2": "not a date"}, TODAY)[0] == (TODAY, 50.0)
    ahead = engine.projection(items, answers, {"2": "2027-03-01"}, TODAY)
    assert ahead == [(TODAY, 50.0), (date(2027, 3, 1), 100.0)]


# ----------------------------------------------------------------------------------- fixture schema

def test_fixture_bounds_are_checked():
    assert bounds_from_fixture({"code": "x", "type": "number", "bounds": HOURS}) == HOURS
    assert bounds_from_fixture({"code": "x", "type": "date"}) is None
    for wrong in ({"code": "x", "type": "number", "bounds": {"min": "0"}},
                  {"code": "x", "type": "number", "bounds": {"min": 5, "max": 1}},
                  {"code": "x", "type": "number", "bounds": {"integer": "yes"}},
                  {"code": "x", "type": "date", "bounds": {"min": "yesterday"}},
                  {"code": "x", "type": "date", "bounds": {"unit_fr": "jours"}},
                  {"code": "x", "type": "boolean", "bounds": {"min": 0}}):
        with pytest.raises(ValueError):
            bounds_from_fixture(wrong)


def test_every_engine_sentence_has_a_french_translation():
    """The catalogue check (test_i18n) does not see sentences given to `_fail` or `Phrase`: checked here."""
    found = set()
    for module in ("engine.py", "item_types.py"):  # the item types' sentences live in item_types
        tree = ast.parse((ROOT / "convergence" / "questionnaires" / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_fail", "Phrase"):
                found.update(a.value for a in node.args
                             if isinstance(a, ast.Constant) and isinstance(a.value, str))
    assert len(found) > 20
    with (ROOT / "locale" / "fr" / "LC_MESSAGES" / "values.po").open("rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh, locale="fr") if m.id}
    assert sorted(m for m in found if not catalogue.get(m)) == []


# ------------------------------------------------------------------------------------------ through HTTP

def by_code(items: list[Item]) -> dict[str, Item]:
    return {i.code: i for i in items}


async def test_api_refuses_out_of_bounds_numbers_and_dates_and_saves_nothing(client, db, cast, content):  # noqa: F811
    headers = await token_for(client, cast.manager.email)
    response = await enrolled_response(client, db, headers, await make_product(db, cast.company.id))
    items = by_code(await items_of(db, response["id"]))
    volume, pentest, strong = items["mss-volume"], items["sec-last-pentest"], items["sec-strong-auth"]
    url = f"/api/v1/responses/{response['id']}/answers"
    english = {**headers, "Accept-Language": "en"}
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    for value, sentence in ((1e300, "This answer must be between 0 and 1,000,000 messages per month."),
                            (-1, "This answer must be between 0 and 1,000,000 messages per month."),
                            (12.5, "This answer must be a whole number.")):
        refused = await client.patch(url, json={"version": 0, "answers": {str(strong.id): True,
                                                                          str(volume.id): value}}, headers=english)
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert body == {"detail": sentence, "code": "invalid_answer", "item_id": volume.id,
                        "item_code": "mss-volume"}
    future = await client.patch(url, json={"version": 0, "answers": {str(pentest.id): tomorrow}}, headers=english)
    assert future.status_code == 422
    assert future.json()["detail"] == "This date must be between 1 Jan 2000 and today."
    french = await client.patch(url, json={"version": 0, "answers": {str(volume.id): 10**9}},
                                headers={**headers, "Accept-Language": "fr"})
    assert french.json()["detail"] == ("Cette réponse doit être comprise entre 0 et 1\u202f000\u202f000 messages "
                                       "par mois.")
    after = (await client.get(f"/api/v1/responses/{response['id']}", headers=headers)).json()
    assert after["answers"] == {} and after["version"] == 0
    saved = await client.patch(url, json={"version": 0, "answers": {str(volume.id): 1200,
                                                                    str(pentest.id): "2025-06-01"}}, headers=headers)
    assert saved.status_code == 200, saved.text
    assert (await client.get(f"/api/v1/responses/{response['id']}", headers=headers)).json()["answers"] == {
        str(volume.id): 1200, str(pentest.id): "2025-06-01"}


async def test_api_refuses_a_planned_date_in_the_past_or_beyond_ten_years(client, db, cast, content):  # noqa: F811
    """Depends on QuestionnaireService.save_answers calling engine.coerce_planned (wired by the lead)."""
    headers = {**await token_for(client, cast.manager.email), "Accept-Language": "en"}
    response = await enrolled_response(client, db, headers, await make_product(db, cast.company.id))
    strong = by_code(await items_of(db, response["id"]))["sec-strong-auth"]
    url = f"/api/v1/responses/{response['id']}/answers"
    today = local_today()
    for day in (today - timedelta(days=1), today, engine.ten_years_after(today) + timedelta(days=1)):
        refused = await client.patch(url, json={"version": 0, "answers": {str(strong.id): False},
                                                "planned": {str(strong.id): day.isoformat()}}, headers=headers)
        assert refused.status_code == 422, (day, refused.text)
        assert refused.json()["code"] == "invalid_answer" and refused.json()["item_id"] == strong.id
        assert refused.json()["detail"].startswith("A planned date of compliance must be")
    after = (await client.get(f"/api/v1/responses/{response['id']}", headers=headers)).json()
    assert after["version"] == 0 and after["answers"] == {}
    good = (today + timedelta(days=60)).isoformat()
    saved = await client.patch(url, json={"version": 0, "answers": {str(strong.id): False},
                                          "planned": {str(strong.id): good}}, headers=headers)
    assert saved.status_code == 200, saved.text


async def test_an_overdue_planned_date_does_not_raise_the_projected_maturity(client, db, cast, content):  # noqa: F811
    headers = await token_for(client, cast.manager.email)
    response = await enrolled_response(client, db, headers, await make_product(db, cast.company.id))
    rid = response["id"]
    strong = by_code(await items_of(db, rid))["sec-strong-auth"]
    saved = await client.patch(f"/api/v1/responses/{rid}/answers",
                               json={"version": 0, "answers": {str(strong.id): False}}, headers=headers)
    assert saved.status_code == 200
    maturity = saved.json()["maturity"]
    past = (local_today() - timedelta(days=10)).isoformat()  # valid when planned, overdue now
    async with unit_of_work(db) as session:
        await session.execute(update(Response).where(Response.id == rid).values(planned={str(strong.id): past}))
    points = (await client.get(f"/api/v1/responses/{rid}/projection", headers=headers)).json()["points"]
    assert all(p["maturity"] == maturity for p in points)


async def test_items_expose_their_bounds(client, cast, content):  # noqa: F811
    headers = await token_for(client, cast.manager.email)
    data = (await client.get("/api/v1/tracks", headers=headers)).json()
    items = [i for t in data["items"] for s in t["steps"] for q in s["questionnaires"] for i in q["items"]]
    items += [i for q in data["global_strategy"] for i in q["items"]]
    assert all("bounds" in i for i in items if i["type"] in ("number", "date"))
    found = {i["code"]: i["bounds"] for i in items if "bounds" in i}
    assert found["tc-report-delay"] == HOURS
    assert found["sec-last-pentest"] == {"min": "2000-01-01", "max": "today"}


async def test_fixtures_load_gives_bounds_to_items_already_loaded(settings, db, content):  # noqa: F811
    async with unit_of_work(db) as session:
        await session.execute(update(Item).values(bounds=None))  # a database loaded before bounds existed
    async with unit_of_work(db) as session:
        assert await load_questionnaires(settings, session) == 0
    async with db() as session:
        rows = (await session.scalars(select(Item).where(Item.type.in_(("number", "date"))))).all()
        assert rows and all(r.bounds for r in rows)
        assert {r.code: r.bounds for r in rows}["tc-report-delay"] == HOURS
    async with unit_of_work(db) as session:  # idempotent
        assert await load_questionnaires(settings, session) == 0

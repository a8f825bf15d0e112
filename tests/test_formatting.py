"""Values formatted by locale (Babel) and shown in Europe/Paris: fast, no database."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from jinja2 import Environment

from convergence.core import formatting
from convergence.core.formatting import (
    FILTERS, format_date, format_datetime, format_maturity, format_number, format_percent, format_time,
)
from convergence.core.i18n import load_catalogues, set_language
from tests.conftest import ROOT

NBSP = "\u00a0"
NNBSP = "\u202f"
WINTER = datetime(2026, 11, 30, 13, 2, tzinfo=timezone.utc)  # 14:02 in Paris (UTC+1)
SUMMER = datetime(2026, 7, 14, 22, 30, tzinfo=timezone.utc)  # 00:30 the next day in Paris (UTC+2)


@pytest.fixture(autouse=True)
def _catalogues():
    load_catalogues(ROOT / "locale")
    set_language("fr")
    yield
    set_language("fr")


def test_default_zone_is_paris():
    assert formatting.DEFAULT_TZ == "Europe/Paris"


def test_numbers_follow_the_language():
    assert format_number(76.7) == "76,7"
    assert format_number(76.7, lang="en") == "76.7"
    assert format_number(1_000_000) == f"1{NNBSP}000{NNBSP}000"
    assert format_number(1_000_000, lang="en") == "1,000,000"
    assert format_number(0) == "0"
    assert format_number(-3.25) == "-3,25"
    assert format_number(1e300) == "1E300"  # beyond Babel's decimal precision: scientific, no crash
    assert format_number(None) == "—"
    set_language("en")
    assert format_number(76.7) == "76.7"


def test_percent_on_a_zero_to_hundred_scale():
    assert format_percent(76.7) == f"76,7{NBSP}%"
    assert format_percent(76.7, lang="en") == "76.7%"
    assert format_percent(100) == f"100{NBSP}%"
    assert format_percent(0.0, lang="en") == "0%"
    assert format_percent(66.66666) == f"66,7{NBSP}%"
    assert format_percent(None) == "—"


def test_maturity_of_a_response_not_started_is_a_dash():
    assert format_maturity(0.0, "not_started") == "—"
    assert format_maturity(None) == "—"
    assert format_maturity(0.0, "draft") == f"0{NBSP}%"
    assert format_maturity(76.7, "submitted", lang="en") == "76.7%"

    class Status:
        value = "not_started"
    assert format_maturity(12.5, Status()) == "—"  # an enum is compared by its value


def test_datetime_in_paris_with_the_zone():
    assert format_datetime(WINTER) == "30 nov. 2026 à 14:02 (heure de Paris)"
    assert format_datetime(WINTER, lang="en") == "30 Nov 2026, 14:02 (Paris time)"
    assert format_datetime(SUMMER) == "15 juil. 2026 à 00:30 (heure de Paris)"
    assert format_datetime(WINTER, zone=False) == "30 nov. 2026 à 14:02"
    assert format_datetime("2026-11-30T13:02:00+00:00") == "30 nov. 2026 à 14:02 (heure de Paris)"
    assert format_datetime("2026-11-30T13:02:00Z", lang="en") == "30 Nov 2026, 14:02 (Paris time)"
    # A naive datetime is what SQLite may hand back: it is UTC.
    assert format_datetime(datetime(2026, 11, 30, 13, 2)) == "30 nov. 2026 à 14:02 (heure de Paris)"
    assert format_datetime(None) == "—"


def test_datetime_in_another_zone_names_it():
    text = format_datetime(WINTER, "America/New_York", lang="en")
    assert text.startswith("30 Nov 2026, 08:02 (") and "New York" in text


def test_time_is_local_and_24_hour():
    assert format_time(WINTER) == "14:02"
    assert format_time(SUMMER, lang="en") == "00:30"
    assert format_time("2026-11-30T13:02:00+00:00") == "14:02"
    assert format_time(None) == "—"


def test_dates():
    assert format_date(date(2026, 11, 30)) == "30 nov. 2026"
    assert format_date(date(2026, 11, 30), lang="en") == "30 Nov 2026"
    assert format_date("2026-11-30") == "30 nov. 2026"
    assert format_date(SUMMER) == "15 juil. 2026"  # a moment's date is its Paris date
    assert format_date(None) == "—" and format_date("") == "—"


def test_filters_in_a_template():
    env = Environment(autoescape=True)
    env.filters.update(FILTERS)
    template = env.from_string("{{ m|maturity(s) }} · {{ n|number }} · {{ p|percent }} · {{ at|datetime }} · "
                               "{{ at|time }} · {{ d|date }}")
    text = template.render(m=0.0, s="not_started", n=76.7, p=76.7, at=WINTER, d="2026-11-30")
    assert text == f"— · 76,7 · 76,7{NBSP}% · 30 nov. 2026 à 14:02 (heure de Paris) · 14:02 · 30 nov. 2026"
    assert set(FILTERS) == {"number", "percent", "maturity", "datetime", "time", "date", "markdown"}


def test_month_for_chart_axes():
    assert format_date("2026-11-30", month=True) == "nov. 2026"
    assert format_date(date(2026, 11, 30), lang="en", month=True) == "Nov 2026"


def test_the_app_registers_the_filters_and_the_chart_uses_them():
    from convergence.app import create_app
    from convergence.core.i18n import gettext
    from tests.conftest import base_settings

    env = create_app(base_settings("sqlite+aiosqlite:///:memory:")).template_engine.engine
    assert set(FILTERS) <= set(env.filters)
    chart = {"width": 640, "height": 220, "pad": 36, "polyline": "", "gridlines": [{"y": 20, "label": 75}],
             "dots": [{"x": 40, "y": 60, "date": "2026-11-30", "maturity": 76.7}],
             "points": [(date(2026, 11, 30), 76.7)]}
    html = env.get_template("questionnaires/_chart.html").render(chart=chart, _=gettext)
    assert f"<title>30 nov. 2026 : 76,7{NBSP}%</title>" in html
    assert f"<td>30 nov. 2026</td><td>76,7{NBSP}%</td>" in html
    assert ">nov. 2026</text>" in html and f">75{NBSP}%</text>" in html

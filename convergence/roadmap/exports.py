"""A roadmap as a spreadsheet (formula-safe CSV) and as an iCalendar file of its milestones (one all-day event
per dated line), in the reader's language."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event

from convergence.core.csv_safe import csv_text
from convergence.core.i18n import gettext as _
from convergence.core.models import utcnow
from convergence.questionnaires.services import localized
from convergence.roadmap.services import Roadmap

PRODID = "-//Convergence simulator//Roadmap//FR"


def roadmap_csv(roadmap: Roadmap) -> str:
    header = [_("Product"), _("Theme"), _("Quarter"), _("Planned date"), _("Overdue"), _("Question code"),
              _("Question"), _("Questionnaire"), _("Current score"), _("Owner")]
    rows = [[line.product, roadmap.theme_title(line.theme), line.quarter or "",
             line.planned.isoformat() if line.planned else "", _("yes") if line.overdue else _("no"), line.code,
             line.label, localized(line.questionnaire, "title"), line.score, line.owner or ""]
            for line in roadmap.lines]
    return csv_text(header, rows)


def roadmap_ics(roadmap: Roadmap, host: str, now: datetime | None = None) -> bytes:
    """UIDs name the product and the question, so that a calendar re-importing the file updates its events
    instead of doubling them."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("Roadmap: %(name)s") % {
        "name": roadmap.product.label if roadmap.product else _("every product")})
    stamp = now or utcnow()
    for line in roadmap.lines:
        if line.planned is None:
            continue
        event = Event()
        event.add("uid", f"roadmap-{line.product_id}-{line.code}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", line.planned)
        event.add("dtend", line.planned + timedelta(days=1))
        event.add("summary", f"{line.product}: {line.label}")
        details = [_("Theme: %(theme)s") % {"theme": roadmap.theme_title(line.theme)},
                   _("Owner: %(owner)s") % {"owner": line.owner or _("nobody")},
                   _("Questionnaire: %(title)s") % {"title": localized(line.questionnaire, "title")}]
        if line.overdue:
            details.insert(0, _("Overdue: the planned date has passed and the answer is not compliant yet."))
        event.add("description", "\n".join(details))
        event.add("categories", [roadmap.theme_title(line.theme)])
        calendar.add_component(event)
    return calendar.to_ical()

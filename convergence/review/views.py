"""What the review's templates and JSON receive: rows, the drill-down's response views, comments, the charts'
data and their SVG geometry. Built from records already read; nothing here queries or checks rights."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from convergence.accounts.models import User
from convergence.core.formatting import local_today
from convergence.core.i18n import current_language
from convergence.core.models import AuditEvent
from convergence.products.models import compose_name
from convergence.questionnaires import engine
from convergence.questionnaires.answers import answer_text, changes_between
from convergence.questionnaires.models import Response, ResponseRevision, Step, Theme, Track
from convergence.questionnaires.services import localized
from convergence.review.filters import STATUSES
from convergence.review.models import ReviewComment
from convergence.review.queries import ProductRecords
from convergence.review.schemas import ReviewRowOut
from convergence.review.statistics import MIN_COMPANIES, Counts, ThemeStats, theme_order, theme_stats

STATUS_COLOURS = {"not_started": "#c9c9c9", "draft": "#9fb4ff", "submitted": "#f5c542", "validated": "#3a9d5d"}
# The dashboard's charts are drawn in percentages of their width and in CSS pixels of height (SVG without a
# viewBox): the bars stretch with the card while the labels, written in HTML beside them, keep their size.
BAR_PCT = 100  # a step's bar at the largest total fills the whole row


# ------------------------------------------------------------------------------------------------ rows

def review_row(row: Any) -> ReviewRowOut:
    """A row of ReviewQueries.rows, with the step's title in the request language: the dashboard's, the export's
    and the API's row alike."""
    return ReviewRowOut(
        product_id=row.product_id, company_id=row.company_id, company_name=row.company_name,
        display_name=compose_name(row.name, row.os, row.os_other, row.device),
        commercial_name=row.commercial_name, edition=row.edition, version=row.version, step_id=row.step_id,
        step_code=row.step_code, step=row.step_title_en if current_language() == "en" else row.step_title_fr,
        track=row.track_code, status=STATUSES[int(row.rank)], maturity=float(row.maturity or 0),
        validated_at=row.validated_at.isoformat() if row.validated_at else None)


def theme_titles(themes: Iterable[Theme]) -> dict[str, str]:
    return {t.code: localized(t, "title") for t in themes}


def choices(tracks: list[Track]) -> dict[str, Any]:
    """What the filter form offers: tracks with their steps (companies are searched, not listed)."""
    return {"tracks": tracks}


# ------------------------------------------------------------------------------------------------ charts

def charts(steps: list[Step], titles: dict[str, str], by_step: dict[int, dict[str, int]],
           scores: dict[str, Counts]) -> dict[str, Any]:
    """Status counts per step (the steps that have rows) and the score distribution per theme."""
    return {
        "steps": [{"id": s.id, "title": localized(s, "title"), "track": localized(s.track, "title"),
                   "counts": by_step[s.id], "total": sum(by_step[s.id].values())}
                  for s in steps if s.id in by_step],
        "themes": [theme_stats(code, titles.get(code, code), scores[code])
                   for code in theme_order(titles, scores) if code in scores],
    }


def status_chart(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Stacked horizontal bars: per step, how many product × step rows are at each status, in percent of the
    largest step so that the bars compare across steps."""
    largest = max((s["total"] for s in steps), default=0) or 1
    rows = []
    for step in steps:
        x = 0.0
        segments = []
        for status in STATUSES:
            count = step["counts"].get(status, 0)
            if not count:
                continue
            width = round(count / largest * BAR_PCT, 2)
            segments.append({"status": status, "count": count, "x": round(x, 2), "width": width,
                             "fill": STATUS_COLOURS[status]})
            x += width
        rows.append({"label": step["title"], "track": step["track"], "total": step["total"],
                     "counts": step["counts"], "segments": segments})
    return {"rows": rows, "legend": [{"status": s, "fill": STATUS_COLOURS[s]} for s in STATUSES]}


def theme_chart(themes: list[ThemeStats]) -> dict[str, Any]:
    """A box plot per theme on a 0-100 axis (positions are percentages of the plot's width): whiskers min-max,
    box between quartiles, median and mean."""
    rows = [{"stats": t, "min": t.minimum, "q1": t.q1, "median": t.median, "q3": t.q3, "max": t.maximum,
             "mean": t.mean, "box_w": round(t.q3 - t.q1, 2)} for t in themes]
    return {"rows": rows, "ticks": [0, 25, 50, 75, 100]}


def key_figures(steps: list[dict[str, Any]], themes: list[ThemeStats]) -> dict[str, Any]:
    """The dashboard's headline numbers, from the chart data already read (no statement of their own): rows,
    rows per status, the validated share and the theme with the lowest median score."""
    by_status = dict.fromkeys(STATUSES, 0)
    for step in steps:
        for status, count in step["counts"].items():
            by_status[status] = by_status.get(status, 0) + count
    total = sum(by_status.values())
    scored = [t for t in themes if t.count]
    weakest = min(scored, key=lambda t: (t.median, t.title)) if scored else None
    return {"total": total, "by_status": by_status, "steps": len(steps),
            "validated_share": round(by_status["validated"] / total * 100, 1) if total else None,
            "weakest_theme": weakest}


# ------------------------------------------------------------------------------------------------ drill-down

def comment_json(comment: ReviewComment, author: User | None) -> dict[str, Any]:
    return {"id": comment.id, "response_id": comment.response_id, "body": comment.body,
            "author": author.full_name if author else None, "author_id": comment.author_id,
            "created_at": comment.created_at.isoformat()}


def _full_name(users: dict[int, User], user_id: int | None) -> str | None:
    return users[user_id].full_name if user_id in users else None


def product_view(records: ProductRecords, themes: dict[str, str]) -> dict[str, Any]:
    """A product of any company, read-only: its responses with labelled answers, history, changes, comments."""
    comments: dict[int, list[dict[str, Any]]] = {}
    for comment in records.comments:
        comments.setdefault(comment.response_id, []).append(comment_json(comment,
                                                                         records.users.get(comment.author_id)))
    views = []
    for response in records.responses:
        own_events = [e for e in records.events if (e.target_type == "response" and e.target_id == response.id)
                      or (e.target_type == "review_comment" and e.data.get("response_id") == response.id)]
        views.append(response_view(response, records.steps.get(response.step_id),
                                   records.revisions.get(response.id, []), own_events, records.users,
                                   comments.get(response.id, []), themes))
    return {"product": records.product, "company": records.company, "responses": views}


def response_view(response: Response, step: Step | None, revisions: list[ResponseRevision],
                  events: list[AuditEvent], users: dict[int, User], comments: list[dict[str, Any]],
                  themes: dict[str, str]) -> dict[str, Any]:
    items = response.questionnaire.items
    by_code = {i.code: i for i in items}
    answers = response.answers or {}
    planned = response.planned or {}
    rows = [{"item": i, "id": i.id, "code": i.code, "label": localized(i, "label"), "theme": i.theme,
             "theme_title": themes.get(i.theme, i.theme), "value": answers.get(str(i.id)),
             "text": answer_text(i, answers.get(str(i.id))), "planned": planned.get(str(i.id))}
            for i in items if engine.is_enabled(i, answers, by_code)]
    last = revisions[-1] if revisions else None
    changes = [{"id": c.item.id, "code": c.item.code, "label": localized(c.item, "label"), "kind": c.kind,
                "before": c.before, "after": c.after, "before_text": c.before_text, "after_text": c.after_text}
               for c in changes_between(items, last.answers, answers)] if last is not None else []
    history = [{"action": e.action, "at": e.created_at, "by": _full_name(users, e.actor_id),
                "comment": e.data.get("comment")} for e in events]
    return {
        "response": response, "id": response.id, "questionnaire": response.questionnaire,
        "title": localized(response.questionnaire, "title"), "step": step, "status": response.status,
        "maturity": response.maturity, "revision": response.revision,
        "theme_scores": [{"theme": k, "title": themes.get(k, k), "value": v}
                         for k, v in (response.theme_scores or {}).items()],
        "validated_at": response.validated_at, "answers": rows,
        "revisions": [{"revision": r.revision, "maturity": r.maturity, "validated_at": r.validated_at,
                       "validated_by": _full_name(users, r.validated_by_id), "answers": r.answers}
                      for r in revisions],
        "last_validated_revision": last.revision if last else None, "changes": changes,
        "history": history, "comments": comments,
        "projection": engine.projection(items, answers, planned, local_today()),
    }


def selected_response(views: list[dict[str, Any]], raw: str | None) -> dict[str, Any] | None:
    """The response the drill-down shows: `?response=<id>` among this product's responses, else the first one.
    None when the id is not one of them (another product's, another company's, or not a number)."""
    if not views:
        return None
    if raw is None or raw == "":
        return views[0]
    return next((v for v in views if str(v["id"]) == raw.strip()), None)


def response_menu(views: list[dict[str, Any]], selected_id: int | None) -> list[dict[str, Any]]:
    """The drill-down's side menu: the responses grouped by step (in the order they come), one link each."""
    groups: list[dict[str, Any]] = []
    for view in views:
        step = view["step"]
        key = step.id if step is not None else None
        if not groups or groups[-1]["key"] != key:
            title = f"{localized(step.track, 'title')} · {localized(step, 'title')}" if step is not None else ""
            groups.append({"key": key, "title": title, "items": []})
        groups[-1]["items"].append({"id": view["id"], "title": view["title"], "status": view["status"],
                                    "maturity": view["maturity"], "comments": len(view["comments"]),
                                    "current": view["id"] == selected_id})
    return groups


# ------------------------------------------------------------------------------------------------ market

def market_for_response(response: Response, scored_themes: Iterable[str], market: list[dict[str, Any]],
                        themes: dict[str, str]) -> dict[str, Any]:
    """A response's own theme scores beside the market averages (the themes it scored, else those it has)."""
    by_theme = {row["theme"]: row for row in market}
    own = response.theme_scores or {}
    codes = list(own) or list(dict.fromkeys(scored_themes))
    return {"response": response, "min_companies": MIN_COMPANIES, "rows": [
        {"theme": code, "title": themes.get(code, code), "own": own.get(code),
         "market_average": by_theme[code]["market_average"] if code in by_theme else None,
         "enough_data": bool(by_theme.get(code, {}).get("enough_data"))} for code in codes]}

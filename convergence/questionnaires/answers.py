"""Answers as people read them: the text of a value, and what changed between two sets of answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convergence.core.formatting import format_date, format_number
from convergence.core.i18n import current_language, gettext as _
from convergence.questionnaires import engine
from convergence.questionnaires.models import Item


def option_label(option: dict[str, Any]) -> str:
    return option.get(f"label_{current_language()}") or option.get("label_fr") or option["value"]


def answer_text(item: Item, value: Any) -> str:
    """An answer as the reader sees it: option labels, yes/no, dates."""
    if not engine.is_answered(value):
        return "—"
    labels = {o["value"]: option_label(o) for o in item.options or []}
    if item.type == "boolean":
        return _("Yes") if value else _("No")
    if item.type == "choice":
        return str(labels.get(value, value))
    if item.type == "multi_choice" and isinstance(value, list):
        return ", ".join(str(labels.get(v, v)) for v in value)
    if item.type == "number":
        unit = (item.bounds or {}).get(f"unit_{current_language()}") or ""
        return f"{format_number(value)} {unit}".strip()
    if item.type == "date":
        return format_date(value)
    return str(value)


@dataclass
class AnswerChange:
    item: Item
    kind: str  # "added", "changed" or "removed"
    before: Any
    after: Any

    @property
    def before_text(self) -> str:
        return answer_text(self.item, self.before)

    @property
    def after_text(self) -> str:
        return answer_text(self.item, self.after)


def changes_between(items: list[Item], before: dict[str, Any], after: dict[str, Any]) -> list[AnswerChange]:
    """Answers given, changed or withdrawn from `before` to `after`, in questionnaire order."""
    out = []
    for item in items:
        key = str(item.id)
        old, new = before.get(key), after.get(key)
        if old == new or (not engine.is_answered(old) and not engine.is_answered(new)):
            continue
        kind = "added" if not engine.is_answered(old) else "removed" if not engine.is_answered(new) else "changed"
        out.append(AnswerChange(item=item, kind=kind, before=old, after=new))
    return out

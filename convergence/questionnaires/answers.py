"""Answers as people read them: the text of a value, and what changed between two sets of answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convergence.questionnaires import engine, item_types
from convergence.questionnaires.models import Item


def answer_text(item: Item, value: Any) -> str:
    """An answer as the reader sees it: option labels, yes/no, dates (each type's `text`, see item_types)."""
    return item_types.text(item, value)


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

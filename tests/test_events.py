"""core/events.py: in-transaction hooks, and the one identity emits when it creates a company."""

from __future__ import annotations

from typing import Any

from convergence.app import create_app
from convergence.core import events
from convergence.questionnaires.services import ensure_global_responses


async def test_emit_awaits_each_subscriber_once_in_order(monkeypatch):
    monkeypatch.setattr(events, "_handlers", {})
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    async def first(session: Any, **data: Any) -> None:
        calls.append(("first", session, data))

    async def second(session: Any, **data: Any) -> None:
        calls.append(("second", session, data))

    events.subscribe("thing.done", first)
    events.subscribe("thing.done", second)
    events.subscribe("thing.done", first)  # twice: still once
    await events.emit("SESSION", "thing.done", thing_id=7)
    await events.emit("SESSION", "nobody.listens", thing_id=8)
    assert calls == [("first", "SESSION", {"thing_id": 7}), ("second", "SESSION", {"thing_id": 7})]


def test_the_app_subscribes_questionnaires_to_company_creation():
    create_app()
    assert ensure_global_responses in events._handlers[events.COMPANY_CREATED]

"""One autosave under the microscope: its SQL statements and where the time of the request goes.

    CONVERGENCE_DATABASE_URL=... .venv/bin/python bench/autosave.py [--saves 300] [--profile] [--clients 32]

Runs the app in process (no network, no server) on an existing market (`convergence simulate`), signs in the
first simulated manager with a bearer token, as the page's script and API clients do, and saves one text answer
of an editable response again and again (`PATCH /api/v1/responses/{id}/answers`, a new value each time, so that
every save writes). Prints:

- the statements of one save, in order, each abbreviated with its time;
- the time of a save split into authentication (the statement reading the token, its user and the terms
  version), the service (rights, checks, compare-and-set, audit; its SQL shown apart), the commit, and the rest
  (routing, middlewares, guards, dependency injection, body decoding and JSON encoding);
- with `--profile`, the functions where a save spends its time (cProfile, cumulative);
- with `--clients 32`, saves per second and latency when 32 managers (of 32 companies) save at once.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import contextlib
from collections.abc import AsyncIterator

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

import convergence.app as app_module  # noqa: E402
from common import SIM_PASSWORD, editable_text_item, manager_email  # noqa: E402  (bench/common.py)
from convergence.questionnaires.services import QuestionnaireService  # noqa: E402
from convergence.settings import Settings  # noqa: E402


class Clock:
    """Time spent per phase during the current request, and the statements it ran."""

    def __init__(self) -> None:
        self.phase = "framework"
        self.spent: dict[str, float] = defaultdict(float)
        self.sql: dict[str, float] = defaultdict(float)
        self.statements: list[tuple[str, str, float]] = []
        self._started: dict[int, float] = {}

    def reset(self) -> None:
        self.spent.clear()
        self.sql.clear()
        self.statements.clear()

    def wrap(self, phase: str, fn: Any) -> Any:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            outer, self.phase = self.phase, phase
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.spent[phase] += time.perf_counter() - started
                self.phase = outer
        return timed

    def before(self, conn: Any, *_: Any) -> None:
        self._started[id(conn)] = time.perf_counter()

    def after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        elapsed = time.perf_counter() - self._started.pop(id(conn), time.perf_counter())
        self.sql[self.phase] += elapsed
        self.statements.append((self.phase, statement, elapsed))


CLOCK = Clock()
event.listen(Engine, "before_cursor_execute", CLOCK.before)
event.listen(Engine, "after_cursor_execute", CLOCK.after)


def abbreviate(statement: str, width: int = 110) -> str:
    text = re.sub(r"\s+", " ", statement).strip()
    # Long column lists say nothing: keep the verb, the table and the condition.
    text = re.sub(r"SELECT (.{40}).*? FROM", r"SELECT \1… FROM", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def instrument() -> None:
    """Phases are timed around the functions the app is built from (patched before `create_app`)."""
    app_module.authenticate = CLOCK.wrap("authentication", app_module.authenticate)  # type: ignore[assignment]
    app_module.commit_on_success = CLOCK.wrap("commit", app_module.commit_on_success)  # type: ignore[assignment]
    QuestionnaireService.save_answers = CLOCK.wrap(  # type: ignore[method-assign]
        "service", QuestionnaireService.save_answers)


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[None]:
    """The app's lifespan run in this event loop (the test client's portal thread would hide the app from the
    profiler and add two thread hand-offs per request)."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started, stopped = asyncio.Event(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()
        elif message["type"].startswith("lifespan.shutdown"):
            stopped.set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    await started.wait()
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await stopped.wait()
        await task


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f}"


async def main(args: argparse.Namespace) -> None:
    logging.disable(logging.INFO)
    instrument()
    settings = Settings.from_env()
    app = app_module.create_app(settings)
    async with served(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                              base_url=settings.base_url) as http:
        email = manager_email(args.company)
        signed = await http.post("/api/v1/auth/token", json={"email": email, "password": SIM_PASSWORD})
        if signed.status_code != 200:
            raise SystemExit(f"Sign-in of {email} failed ({signed.status_code}): simulate a market first.")
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        company = (await http.get("/api/v1/me", headers=headers)).json()["company_id"]
        response_id, item_id, value = await editable_text_item(http, headers, company)
        version = (await http.get(f"/api/v1/responses/{response_id}", headers=headers)).json()["version"]
        url = f"/api/v1/responses/{response_id}/answers"
        counter = 0

        async def save() -> float:
            nonlocal version, counter
            counter += 1
            body = {"version": version, "answers": {item_id: value(counter + int(time.time()))}}
            CLOCK.reset()
            started = time.perf_counter()
            answer = await http.patch(url, headers=headers, json=body)
            elapsed = time.perf_counter() - started
            if answer.status_code != 200:
                raise SystemExit(f"The save answered {answer.status_code}: {answer.text[:300]}")
            version = answer.json()["version"]
            return elapsed

        for _ in range(20):  # warm-up: caches, compiled statements, the pool
            await save()
        await save()
        print(f"Autosave of response {response_id}, item {item_id} ({settings.database_url.split(':')[0]}):")
        print(f"\n{len(CLOCK.statements)} SQL statements in one save:\n")
        print(f"  {'phase':<15} {'ms':>7}  statement")
        for phase, statement, elapsed in CLOCK.statements:
            print(f"  {phase:<15} {ms(elapsed)}  {abbreviate(statement)}")

        totals: list[float] = []
        phases: dict[str, list[float]] = defaultdict(list)
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        for _ in range(args.saves):
            totals.append(await save())
            for phase in ("authentication", "service", "commit"):
                phases[phase].append(CLOCK.spent[phase])
                phases[f"{phase} SQL"].append(CLOCK.sql[phase])
            phases["statements"].append(len(CLOCK.statements))
        if profiler:
            profiler.disable()
        ordered = sorted(totals)
        p50, p99 = statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        mean = statistics.fmean(totals)
        print(f"\nWhere the time of a save goes ({args.saves} saves, in process; mean ms; p50 {p50 * 1000:.2f}, "
              f"p99 {p99 * 1000:.2f}):\n")
        rows = [("authentication (token, user, terms: 1 statement)", "authentication"),
                ("service: rights, checks, compare-and-set, audit", "service"),
                ("commit (review_summary triggers run in the UPDATE)", "commit")]
        accounted = 0.0
        for label, phase in rows:
            spent, sql = statistics.fmean(phases[phase]), statistics.fmean(phases[f"{phase} SQL"])
            accounted += spent
            print(f"  {label:<58} {ms(spent)}   of which SQL {ms(sql)}")
        print(f"  {'framework: routing, middlewares, guards, DI, JSON in/out':<58} {ms(mean - accounted)}")
        print(f"  {'total':<58} {ms(mean)}")
        print(f"\n  statements per save: {statistics.fmean(phases['statements']):g}")
        if args.clients > 1:
            await concurrent(http, args.clients, args.seconds)
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())


async def concurrent(http: httpx.AsyncClient, clients: int, seconds: float) -> None:
    """`clients` managers of as many companies save at once, each its own response, for `seconds`: the saves per
    second and the latency percentiles (Little's law: p50 ≈ clients ÷ saves per second)."""
    savers = []
    for number in range(1, clients + 1):
        signed = await http.post("/api/v1/auth/token", json={"email": manager_email(number), "password": SIM_PASSWORD})
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        company = (await http.get("/api/v1/me", headers=headers)).json()["company_id"]
        response_id, item_id, value = await editable_text_item(http, headers, company)
        version = (await http.get(f"/api/v1/responses/{response_id}", headers=headers)).json()["version"]
        savers.append({"headers": headers, "url": f"/api/v1/responses/{response_id}/answers", "item": item_id,
                       "value": value, "version": version})
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds

    async def run(saver: dict[str, Any]) -> None:
        nonlocal errors
        counter = 0
        while time.perf_counter() < end:
            counter += 1
            started = time.perf_counter()
            answer = await http.patch(saver["url"], headers=saver["headers"], json={
                "version": saver["version"], "answers": {saver["item"]: saver["value"](counter + int(started))}})
            latencies.append(time.perf_counter() - started)
            if answer.status_code == 200:
                saver["version"] = answer.json()["version"]
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(run(s) for s in savers))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000  # noqa: E731
    print(f"\n{clients} savers at once for {elapsed:.1f} s (in process): {len(latencies) / elapsed:.0f} saves/s, "
          f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, {errors} errors")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=300, help="measured saves (default 300)")
    parser.add_argument("--company", type=int, default=1, help="simulated company number (default 1)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured saves")
    parser.add_argument("--top", type=int, default=40, help="profile lines (default 40)")
    parser.add_argument("--clients", type=int, default=1, help="then this many savers at once (default 1: none)")
    parser.add_argument("--seconds", type=float, default=10, help="duration of the concurrent run (default 10)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))

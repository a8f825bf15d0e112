"""Streamed review exports: time to first byte, total time and peak memory by number of rows.

    .venv/bin/python bench/exports.py                      # 1,000 / 10,000 / 50,000 rows, temporary SQLite
    .venv/bin/python bench/exports.py --rows 1000,20000    # other sizes
    .venv/bin/python bench/exports.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/empty_db

A fresh database (`convergence db upgrade`, `fixtures load`, `users create --role reviewer`) gets synthetic rows
by bulk INSERT (companies, products enrolled in two steps, one response per questionnaire: one export row per
(product, step)); then `GET /api/v1/review/export.csv` and `.xlsx` are sent straight to the app in this process,
as a server would, and the body is counted as it arrives. Times come from a run without tracing; the peak of
Python memory (tracemalloc, which slows the code down) from a second run. "whole" is the former way, every row
read and the whole document built before the first byte (`csv_export`, `xlsx_export`), for comparison.
Figures, not assertions: the tests check the behaviour (tests/test_review.py, streamed exports).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import log  # bench/common.py, next to this file

ROOT = Path(__file__).resolve().parents[1]
CONVERGENCE = str(Path(sys.executable).parent / "convergence")
REVIEWER_EMAIL = "reviewer@bench.example"
REVIEWER_PASSWORD = "Mesure-Charge-Convergence-2026"
COMPANIES = 200
PATHS = ("/api/v1/review/export.csv", "/api/v1/review/export.xlsx")


def cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([CONVERGENCE, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`convergence {' '.join(args[:2])}` failed:\n{done.stdout}\n{done.stderr}")


class Exchange:
    """One request to the ASGI app; the body is counted, not kept, and the time of its first chunks noted."""

    def __init__(self, path: str, headers: dict[str, str], method: str = "GET", body: bytes = b"",
                 keep: bool = False) -> None:
        self.keep = keep  # the body too (small JSON answers)
        self.scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
            "headers": [(b"host", b"127.0.0.1"), (b"accept-language", b"fr")]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        self.request_body = body
        self.requested = False
        self.finished = asyncio.Event()
        self.status = 0
        self.size = 0
        self.chunks = 0
        self.started = 0.0
        self.first_byte: float | None = None  # the BOM and header (CSV) or the zip's first parts (XLSX)
        self.first_rows: float | None = None  # the chunk that carries the first rows
        self.kept = b""

    async def receive(self) -> dict[str, Any]:
        if not self.requested:
            self.requested = True
            return {"type": "http.request", "body": self.request_body, "more_body": False}
        await self.finished.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            return
        body = message.get("body", b"")
        if body:
            now = time.perf_counter() - self.started
            if self.first_byte is None:
                self.first_byte = now
            elif self.first_rows is None:
                self.first_rows = now
            self.size += len(body)
            self.chunks += 1
            if self.keep or not self.kept:
                self.kept += body if self.keep else body[:300]
        if not message.get("more_body", False):
            self.finished.set()

    async def run(self, app: Any, expect: int = 200) -> Exchange:
        self.started = time.perf_counter()
        await app(self.scope, self.receive, self.send)
        self.total = time.perf_counter() - self.started
        if self.status != expect:
            raise SystemExit(f"{self.scope['path']}: {self.status} {self.kept[:300]!r}")
        return self


async def fill(maker: Any, rows: int, start: int) -> int:
    """Products enrolled in the first two doctrine steps, numbered from `start` (those already made), up to
    `rows` export rows; returns how many products were made."""
    from sqlalchemy import func, insert, select

    from convergence.companies.models import Company
    from convergence.core.db import unit_of_work
    from convergence.core.models import utcnow
    from convergence.products.models import Product
    from convergence.questionnaires.models import Enrolment, Questionnaire, Response, Step, Track

    async with unit_of_work(maker) as session:
        steps = list((await session.scalars(select(Step.id).join(Track).where(Track.code == "doctrine")
                                            .order_by(Step.position).limit(2))).all())
        questionnaires = (await session.execute(select(Questionnaire.id, Questionnaire.step_id).where(
            Questionnaire.step_id.in_(steps), Questionnaire.current.is_(True)))).all()
        companies = list((await session.scalars(select(Company.id).where(Company.name.like("Bench %"))
                                                .order_by(Company.id))).all())
        if not companies:
            companies = list((await session.scalars(insert(Company).returning(Company.id), [
                {"name": f"Bench Éditeur {n:03d} SAS", "siren": f"{600000000 + n:09d}"}
                for n in range(COMPANIES)])).all())
        products = rows // len(steps) - start
        statuses = ("not_started", "draft", "submitted", "validated")
        for first in range(start, start + products, 5_000):  # a few thousand rows per INSERT
            numbers = range(first, min(first + 5_000, start + products))
            ids = list((await session.scalars(insert(Product).returning(Product.id), [
                {"company_id": companies[n % COMPANIES], "name": f"Logiciel Santé {n}", "os": "Linux",
                 "device": "Website", "edition": "", "version": "1", "kind": "base", "description": "",
                 "identity_key": f"bench-{n}", "commercial_name": f"Marque {n % 97}"} for n in numbers])).all())
            await session.execute(insert(Enrolment), [{"product_id": p, "step_id": s} for p in ids for s in steps])
            await session.execute(insert(Response), [
                {"company_id": companies[n % COMPANIES], "product_id": p, "questionnaire_id": q, "step_id": s,
                 "status": statuses[n % 4], "version": 1, "revision": 1, "answers": {}, "planned": {},
                 "maturity": float(n % 101) + 0.5, "theme_scores": {"ins": float(n % 101)},
                 "validated_at": utcnow() if n % 4 == 3 else None}
                for n, p in zip(numbers, ids) for q, s in questionnaires])
        total = await session.scalar(select(func.count()).select_from(Enrolment))
    assert total == rows, (total, rows)
    return products


async def whole(app: Any, path: str) -> tuple[float, int]:
    """The former export: every row read, then the whole document built (seconds, bytes)."""
    from convergence.core.i18n import set_language
    from convergence.review.exports import csv_export, xlsx_export
    from convergence.review.filters import parse_filters
    from convergence.review.queries import ReviewQueries
    from convergence.review.views import review_row

    set_language("fr")
    started = time.perf_counter()
    async with app.state.sessionmaker() as session:
        rows = [review_row(r) for r in await ReviewQueries(session).rows(parse_filters({}))]
    body = csv_export(rows, "fr").encode("utf-8") if path.endswith(".csv") else xlsx_export(rows)
    return time.perf_counter() - started, len(body)


async def traced(make: Any) -> int:
    tracemalloc.start()
    try:
        await make()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def mib(value: float) -> str:
    return f"{value / 1024 / 1024:.1f}"


async def measure(database_url: str, sizes: list[int], include_whole: bool) -> None:
    from convergence.app import create_app
    from convergence.settings import Settings

    settings = Settings(root=ROOT, database_url=database_url, secret_key="bench-secret-key-not-for-production",
                        base_url="http://127.0.0.1")
    app = create_app(settings)
    table = []
    async with app.lifespan():
        sign_in = await Exchange("/api/v1/auth/token", {"content-type": "application/json"}, "POST", json.dumps(
            {"email": REVIEWER_EMAIL, "password": REVIEWER_PASSWORD}).encode(), keep=True).run(app)
        headers = {"Authorization": f"Bearer {json.loads(sign_in.kept)['access_token']}"}
        version = json.loads((await Exchange("/api/v1/terms/current", headers, keep=True).run(app)).kept)["version"]
        await Exchange("/api/v1/me/terms/accept", {**headers, "content-type": "application/json"}, "POST",
                       json.dumps({"version": version}).encode()).run(app, expect=204)
        made = 0  # products so far
        for rows in sizes:
            started = time.perf_counter()
            made += await fill(app.state.sessionmaker, rows, made)
            log(f"{rows:,} rows ready ({time.perf_counter() - started:.1f} s)")
            for path in PATHS:
                await Exchange(path, headers).run(app)  # warm-up: statement caches
                timed = await Exchange(path, headers).run(app)
                peak = await traced(lambda: Exchange(path, headers).run(app))
                line = {"rows": rows, "format": path.rsplit(".", 1)[1], "ttfb": timed.first_byte,
                        "first_rows": timed.first_rows, "total": timed.total, "size": timed.size,
                        "chunks": timed.chunks, "peak": peak}
                if include_whole:
                    line["whole_time"], _size = await whole(app, path)
                    line["whole_peak"] = await traced(lambda: whole(app, path))
                table.append(line)
                log(f"  {path}: first byte {line['ttfb'] * 1000:.1f} ms, first rows "
                    f"{(line['first_rows'] or 0) * 1000:.0f} ms, total {line['total'] * 1000:.0f} ms, "
                    f"{mib(line['size'])} MiB in {line['chunks']} chunks, peak {mib(peak)} MiB")
    log("")
    log("| rows | format | first byte (ms) | first rows (ms) | total (ms) | size (MiB) | chunks | peak (MiB) |"
        + (" whole: time (ms) | whole: peak (MiB) |" if include_whole else ""))
    log("|---:|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if include_whole else ""))
    for line in table:
        log(f"| {line['rows']:,} | {line['format']} | {line['ttfb'] * 1000:.1f} "
            f"| {(line['first_rows'] or 0) * 1000:.0f} | {line['total'] * 1000:.0f} | {mib(line['size'])} | {line['chunks']} | {mib(line['peak'])} |"
            + (f" {line['whole_time'] * 1000:.0f} | {mib(line['whole_peak'])} |" if include_whole else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,10000,50000", help="export sizes, comma-separated, increasing")
    parser.add_argument("--database-url", help="an empty database to use instead of a temporary SQLite file")
    parser.add_argument("--no-whole", action="store_true", help="skip the former whole-document export")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.rows.split(","))
    with tempfile.TemporaryDirectory(prefix="convergence-bench-exports-") as workdir:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}"
        env = {**os.environ, "CONVERGENCE_ROOT": os.environ.get("CONVERGENCE_ROOT", str(ROOT)),
               "CONVERGENCE_DATABASE_URL": url, "CONVERGENCE_SECRET_KEY": "bench-secret-key-not-for-production"}
        log(f"Database: {url.split('@')[-1]}")
        cli(env, "db", "upgrade")
        cli(env, "fixtures", "load")
        cli(env, "users", "create", "--role", "reviewer", "--email", REVIEWER_EMAIL, "--password",
            REVIEWER_PASSWORD)
        asyncio.run(measure(url, sizes, not args.no_whole))


if __name__ == "__main__":
    main()

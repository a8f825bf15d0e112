"""Benchmark of the key routes on SQLite and PostgreSQL, and a load run of concurrent autosaves.

    .venv/bin/python bench/run.py                 # 1,000 companies, 10 s per route, both databases
    .venv/bin/python bench/run.py --quick         # 50 companies, 3 s per route: a fast check
    .venv/bin/python bench/run.py --load          # also the load run (50 contributors, 2 minutes per database)
    .venv/bin/python bench/run.py --load-only --load-seconds 20   # only the load run

Each database gets a fresh market: `convergence db upgrade`, `fixtures load`, `simulate`, `users create` (a
reviewer), then `convergence serve` in a subprocess on a free port (SQLite in a temporary directory with one
worker; PostgreSQL with `--workers 2` on a database created for the run on the local server and dropped at the
end). Clients use the API with bearer tokens and the pages with a session cookie, as a browser would.

Only the standard library and httpx; the PostgreSQL database is created with `psql` (or, without it, the
project's own asyncpg through the venv's Python).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # bench/common.py, next to this file
    EDITABLE,
    SEED,
    SIM_PASSWORD,
    answer_for,
    api_token,
    log,
    manager_email,
    new_client,
    product_responses,
    questionnaire_items,
)
from load import load_run  # bench/load.py

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONVERGENCE = str(BIN / "convergence")
PG_ADMIN = os.environ.get("BENCH_PG", os.environ.get("CONVERGENCE_TEST_PG",
                                                      "postgresql://postgres@127.0.0.1:5432/postgres"))
REVIEWER_EMAIL = "reviewer@bench.example"
REVIEWER_PASSWORD = "Mesure-Charge-Convergence-2026"

# Targets of issue 16 (latencies in ms; "alone": one client; ratios against bare /health alone in the same run).
AUTOSAVE = "PATCH /api/v1/responses/{id}/answers"
EXPORT = "GET /api/v1/review/export.csv"
# route → (p99 alone, p99 with every client at once or None)
P99_TARGETS = {AUTOSAVE: (10.0, 150.0), "GET /review (page)": (50.0, None),
               "GET /api/v1/review/products": (30.0, None)}
# page → greatest p50 alone ÷ bare p50 alone
PAGE_RATIOS = {"GET /products (page)": 6.0, "GET /responses/{id} (page)": 8.0}
EXPORT_FIRST_BYTE_MS = 100.0
EXPORT_WHOLE_MS = 300.0


# ---------------------------------------------------------------------------------------------- databases


def _pg_admin(sql: str) -> None:
    if shutil.which("psql"):
        subprocess.run(["psql", PG_ADMIN, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                       capture_output=True, text=True, timeout=30)
        return
    script = ("import asyncio, asyncpg, sys\n"
              "async def main():\n"
              "    conn = await asyncpg.connect(sys.argv[1], timeout=5)\n"
              "    try:\n        await conn.execute(sys.argv[2])\n"
              "    finally:\n        await conn.close()\n"
              "asyncio.run(main())\n")
    subprocess.run([sys.executable, "-c", script, PG_ADMIN, sql], check=True, capture_output=True, text=True,
                   timeout=30)


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh database on the local server (dropped at the end), or None when the server is unreachable."""
    name = f"convergence_bench_{os.getpid()}"
    try:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
        _pg_admin(f'CREATE DATABASE "{name}"')
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        log(f"PostgreSQL skipped: cannot create a database at {PG_ADMIN} ({detail.strip()[:200]}).")
        yield None
        return
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    finally:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The app, prepared with the `convergence` command and served by `convergence serve` in a subprocess."""

    def __init__(self, label: str, database_url: str, workdir: Path, workers: int) -> None:
        self.label = label
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"serve-{label}.log"
        self.env = {**os.environ, "CONVERGENCE_ROOT": os.environ.get("CONVERGENCE_ROOT", str(ROOT)), "CONVERGENCE_DATABASE_URL": database_url,
                    "CONVERGENCE_SECRET_KEY": "bench-secret-key-not-for-production",
                    "CONVERGENCE_BASE_URL": self.base_url}
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        started = time.perf_counter()
        done = subprocess.run([CONVERGENCE, *args], check=False, env={**self.env, **(extra_env or {})}, capture_output=True,
                              text=True, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"`convergence {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
        output = done.stdout.strip()
        log(f"  convergence {' '.join(a if a != REVIEWER_PASSWORD else '***' for a in args)}"
            f"  ({time.perf_counter() - started:.1f} s)")
        for line in output.splitlines():
            if "password" not in line.lower():
                log(f"    {line}")
        return output

    def start(self) -> None:
        out = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [CONVERGENCE, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"The server stopped at start; see {self.log_path}:\n"
                                 f"{self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    log(f"  serving on {self.base_url} with {self.workers} worker(s)")
                    return
            time.sleep(0.2)
        raise SystemExit(f"The server did not answer /health within 60 s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # The server runs in its own session (process group): its uvicorn workers stop with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def errors_in_log(self) -> int:
        """Tracebacks the server logged (every 5xx leaves one)."""
        try:
            return self.log_path.read_text(errors="replace").count("Traceback (most recent call last)")
        except OSError:
            return 0


def prepare(server: Server, companies: int, products: int | None) -> None:
    server.cli("db", "upgrade")
    server.cli("fixtures", "load")
    env = {"CONVERGENCE_SIMULATION_PRODUCTS": str(products)} if products else None
    server.cli("simulate", "--companies", str(companies), "--seed", str(SEED), extra_env=env)
    server.cli("users", "create", "--role", "reviewer", "--email", REVIEWER_EMAIL, "--password", REVIEWER_PASSWORD)


# ---------------------------------------------------------------------------------------------- clients


async def page_login(http: httpx.AsyncClient, email: str, password: str = SIM_PASSWORD) -> None:
    """A browser sign-in: GET /login sets the CSRF cookie, the form posts it back."""
    await http.get("/login")
    csrf = http.cookies.get("cv_csrf") or ""
    response = await http.post("/login", data={"email": email, "password": password, "_csrf": csrf})
    if response.status_code not in (302, 303):
        raise SystemExit(f"Page sign-in of {email} failed: {response.status_code} {response.text[:300]}")


@dataclass
class Vendor:
    """One simulated manager with an API token, a page session and a few of the company's objects."""

    email: str
    http: httpx.AsyncClient  # API calls: bearer token, no cookie (an API client sends none)
    headers: dict[str, str]
    page: httpx.AsyncClient | None = None  # page calls: carries the session and CSRF cookies
    company_id: int = 0
    view_response: int = 0
    edit_response: int = 0
    edit_item: str = ""
    edit_value: Callable[[int], Any] = str
    version: int = 0
    counter: int = 0


def pick_item(items: list[dict[str, Any]]) -> tuple[str, Callable[[int], Any]] | None:
    """A free-form item first (text, number), unconditioned so that the page shows it."""
    ranked = sorted(items, key=lambda i: ({"text": 0, "number": 1, "boolean": 2, "choice": 3}.get(i["type"], 9),
                                          bool(i.get("enable_when"))))
    for item in ranked:
        generator = answer_for(item)
        if generator is not None:
            return str(item["id"]), generator
    return None


async def make_vendors(base_url: str, count: int, companies: int) -> list[Vendor]:
    numbers = list(range(1, min(count, companies) + 1))
    while len(numbers) < count:  # fewer companies than clients: several sessions per manager
        numbers.append(numbers[len(numbers) % companies])
    vendors = [Vendor(email=manager_email(n), http=new_client(base_url), headers={}, page=new_client(base_url))
               for n in numbers]
    for vendor in vendors:  # one at a time: argon2 verification is CPU-bound on the server anyway
        vendor.headers = await api_token(vendor.http, vendor.email)
        assert vendor.page is not None
        await page_login(vendor.page, vendor.email)
    items_by_q = await questionnaire_items(vendors[0].http, vendors[0].headers)
    taken: set[int] = set()
    for vendor in vendors:
        vendor.company_id = (await vendor.http.get("/api/v1/me", headers=vendor.headers)).json()["company_id"]
        rows = await product_responses(vendor.http, vendor.headers, vendor.company_id, products=8)
        answered = [r for r in rows if r["status"] != "not_started"] or rows
        vendor.view_response = answered[0]["id"]
        for row in rows:
            if row["status"] in EDITABLE and row["id"] not in taken:
                picked = pick_item(items_by_q.get(row["questionnaire_id"], []))
                if picked:
                    taken.add(row["id"])
                    vendor.edit_response, vendor.version = row["id"], row["version"]
                    vendor.edit_item, vendor.edit_value = picked
                    break
    return vendors


async def make_reviewers(base_url: str, count: int) -> list[Vendor]:
    first = new_client(base_url)
    headers = await api_token(first, REVIEWER_EMAIL, REVIEWER_PASSWORD)
    version = (await first.get("/api/v1/terms/current")).json()["version"]
    accepted = await first.post("/api/v1/me/terms/accept", json={"version": version}, headers=headers)
    if accepted.status_code != 204:
        raise SystemExit(f"Accepting the terms failed: {accepted.status_code} {accepted.text[:300]}")
    reviewers = [Vendor(email=REVIEWER_EMAIL, http=first, headers=headers, page=new_client(base_url))]
    for _ in range(count - 1):
        http = new_client(base_url)
        reviewers.append(Vendor(email=REVIEWER_EMAIL, http=http, page=new_client(base_url),
                                headers=await api_token(http, REVIEWER_EMAIL, REVIEWER_PASSWORD)))
    for reviewer in reviewers:
        assert reviewer.page is not None
        await page_login(reviewer.page, REVIEWER_EMAIL, REVIEWER_PASSWORD)
    return reviewers


# ---------------------------------------------------------------------------------------------- measurement


@dataclass
class Result:
    route: str
    requests: int = 0
    seconds: float = 0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    server_errors: int = 0
    conflicts: int = 0
    note: str = ""
    page: bool = False
    codes: Counter[int] = field(default_factory=Counter)
    clients: int = 0
    alone: Result | None = None  # the same route with one client: service time without queueing
    first_bytes: list[float] = field(default_factory=list)  # streamed answers: time to the first body byte
    rows: int = 0  # streamed exports: data rows in the last answer

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    def first_byte(self, p: float) -> float:
        if not self.first_bytes:
            return float("nan")
        ordered = sorted(self.first_bytes)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


Call = Callable[[Vendor], Awaitable[int]]


# The Result being measured: streamed calls (`export_call`) note their time to first byte in it.
_measuring: Result | None = None


async def measure(route: str, clients: list[Vendor], call: Call, seconds: float, *, page: bool = False) -> Result:
    """`len(clients)` concurrent clients call in a loop; the first 20 % (at most 2 s) warm up and are not counted."""
    global _measuring
    warmup = min(2.0, seconds * 0.2)
    start = time.perf_counter()
    counted_from, end = start + warmup, start + warmup + seconds
    result = _measuring = Result(route, page=page, clients=len(clients))

    early: list[tuple[float, int]] = []  # requests begun during the warm-up

    async def worker(client: Vendor) -> None:
        while (now := time.perf_counter()) < end:
            try:
                status = await call(client)
            except httpx.HTTPError:
                status = 599
            done = time.perf_counter()
            if now < counted_from:
                early.append((done - now, status))
                continue
            result.requests += 1
            result.codes[status] += 1
            result.latencies.append(done - now)
            if status == 409:
                result.conflicts += 1
            elif status >= 400:
                result.errors += 1
                result.server_errors += status >= 500

    await asyncio.gather(*(worker(c) for c in clients))
    result.seconds = time.perf_counter() - counted_from
    if not result.requests and early:
        # Slower than the window: every request began during the warm-up. Report those rather than nothing.
        result.seconds = time.perf_counter() - start
        result.requests = len(early)
        result.latencies = [latency for latency, _ in early]
        result.codes.update(code for _, code in early)
        result.errors = sum(code >= 400 and code != 409 for _, code in early)
        result.note = "slower than the window: warm-up requests"
    return result


async def status_of(response: Awaitable[httpx.Response]) -> int:
    r = await response
    await r.aread()
    return r.status_code


async def autosave(client: Vendor) -> int:
    client.counter += 1
    response = await client.http.patch(
        f"/api/v1/responses/{client.edit_response}/answers", headers=client.headers,
        json={"version": client.version, "answers": {client.edit_item: client.edit_value(client.counter)}})
    if response.status_code == 200:
        client.version = response.json()["version"]
    elif response.status_code == 409:
        current = await client.http.get(f"/api/v1/responses/{client.edit_response}", headers=client.headers)
        client.version = current.json()["version"]
    return response.status_code


async def export_call(client: Vendor) -> int:
    """The CSV export read as it streams: the time to its first byte is noted, and the rows counted."""
    result = _measuring
    started = time.perf_counter()
    async with client.http.stream("GET", EXPORT.split()[1], headers=client.headers) as response:
        first: float | None = None
        lines = 0
        async for chunk in response.aiter_bytes():
            if first is None and chunk:
                first = time.perf_counter() - started
            lines += chunk.count(b"\n")
    if result is not None and first is not None and response.status_code == 200:
        result.first_bytes.append(first)
        result.rows = max(lines - 1, 0)  # the header line
    return response.status_code


async def probe(client: Vendor, path: str, *, api: bool) -> int:
    return await getter(path, api)(client)


def getter(path: str, api: bool) -> Call:
    async def call(client: Vendor) -> int:
        if api:
            return await status_of(client.http.get(path, headers=client.headers))
        assert client.page is not None
        return await status_of(client.page.get(path))
    return call


async def benchmark(server: Server, args: argparse.Namespace) -> list[Result]:
    vendors = await make_vendors(server.base_url, args.clients, args.companies)
    reviewers = await make_reviewers(server.base_url, args.clients)
    editors = [v for v in vendors if v.edit_response]
    seconds = args.seconds
    results: list[Result] = []

    async def run(route: str, clients: list[Vendor], call: Call, page: bool = False) -> Result:
        log(f"  measuring {route} ({len(clients)} clients, {seconds:g} s, then 1 client)")
        result = await measure(route, clients, call, seconds, page=page)
        result.alone = await measure(route, clients[:1], call, max(2.0, seconds / 3), page=page)
        return result

    results.append(await run("GET /health (bare)", vendors, lambda c: status_of(c.http.get("/health"))))
    # Pages: the session cookie costs a lookup of the session on every request, as in a browser.
    results.append(await run("POST /api/v1/auth/token (sign-in)", vendors, lambda c: status_of(c.http.post(
        "/api/v1/auth/token", json={"email": c.email, "password": SIM_PASSWORD}))))
    results.append(await run("GET /api/v1/companies/{id}/products", vendors, lambda c: status_of(c.http.get(
        f"/api/v1/companies/{c.company_id}/products", headers=c.headers))))
    results.append(await run("GET /products (page)", vendors, lambda c: status_of(c.page.get("/products")),
                             page=True))
    results.append(await run("GET /responses/{id} (page)", vendors, lambda c: status_of(c.page.get(
        f"/responses/{c.view_response}")), page=True))
    if editors:
        result = await run("PATCH /api/v1/responses/{id}/answers", editors, autosave)
        result.note = f"{len(editors)} clients, one response each"
        results.append(result)
    else:
        results.append(Result("PATCH /api/v1/responses/{id}/answers", note="skipped: no editable response"))
    review_routes = [("GET /review (page)", "/review", False),
                     ("GET /api/v1/review/products", "/api/v1/review/products", True),
                     ("GET /api/v1/review/export.csv", "/api/v1/review/export.csv", True)]
    for label, path, api in review_routes:
        status = await probe(reviewers[0], path, api=api)
        if status != 200:
            note = "route absent (review slice not merged yet)" if status in (404, 405) else f"answers {status}"
            log(f"  skipping {label}: {note}")
            results.append(Result(label, note=f"skipped: {note}"))
            continue
        results.append(await run(label, reviewers, export_call if label == EXPORT else getter(path, api),
                                 page=not api))
    for client in vendors + reviewers:
        await client.http.aclose()
        if client.page is not None:
            await client.page.aclose()
    return results


def report(label: str, results: list[Result], sqlite: bool) -> list[str]:
    """The table and the verdicts, as printed lines (also pasted in README.md)."""
    bare = results[0]
    lines = [f"{label}", "",
             "| route | req/s | p50 ms | p99 ms | p50 ÷ bare | p99 ÷ bare | alone p50 | alone p99 | errors | notes |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        if not r.requests:
            lines.append(f"| {r.route} | – | – | – | – | – | – | – | – | {r.note} |")
            continue
        alone = r.alone or r
        notes = [r.note] if r.note else []
        if r.conflicts:
            notes.append(f"{r.conflicts} × 409")
        notes += [f"{n} × {code}" for code, n in sorted(r.codes.items()) if code >= 400 and code != 409]
        if alone.first_bytes:
            notes.append(f"{alone.rows:,} rows; first byte alone p50 {alone.first_byte(50):.1f} ms, "
                         f"p99 {alone.first_byte(99):.1f} ms")
        lines.append(f"| {r.route} | {r.rps:,.0f} | {r.p50:.1f} | {r.p99:.1f} | {r.p50 / bare.p50:.1f}× | "
                     f"{r.p99 / bare.p99:.1f}× | {alone.p50:.1f} | {alone.p99:.1f} | {r.errors + alone.errors} | "
                     f"{'; '.join(notes)} |")
    lines.append("")
    verdicts: list[tuple[str, bool | None, str]] = []
    by_route = {r.route: r for r in results}
    bare_alone = bare.alone or bare
    for route, (alone_limit, loaded_limit) in P99_TARGETS.items():
        r = by_route.get(route)
        if r is None:
            continue
        if not r.requests or r.alone is None:
            verdicts.append((f"{route} p99 ≤ {alone_limit:g} ms alone", None, r.note))
            continue
        verdicts.append((f"{route} p99 ≤ {alone_limit:g} ms alone", r.alone.p99 <= alone_limit,
                         f"{r.alone.p99:.1f} ms"))
        if loaded_limit is not None:
            verdicts.append((f"{route} p99 ≤ {loaded_limit:g} ms with {r.clients} clients at once",
                             r.p99 <= loaded_limit, f"{r.p99:.1f} ms"))
    for route, ratio in PAGE_RATIOS.items():
        r = by_route.get(route)
        if r is None or not r.requests:
            continue
        alone = r.alone or r
        verdicts.append((f"{route} p50 alone ≤ {ratio:g}× bare", alone.p50 / bare_alone.p50 <= ratio,
                         f"{alone.p50:.1f} ms vs {bare_alone.p50:.1f} ms: {alone.p50 / bare_alone.p50:.1f}×; "
                         f"{r.clients} clients: p50 {r.p50 / bare.p50:.1f}×, p99 {r.p99 / bare.p99:.1f}×"))
    export = by_route.get(EXPORT)
    if export is not None and export.requests and export.alone is not None:
        alone = export.alone
        verdicts.append((f"CSV export first byte ≤ {EXPORT_FIRST_BYTE_MS:g} ms alone",
                         alone.first_byte(99) <= EXPORT_FIRST_BYTE_MS,
                         f"p50 {alone.first_byte(50):.1f} ms, p99 {alone.first_byte(99):.1f} ms"))
        verdicts.append((f"CSV export of every row ({alone.rows:,}) ≤ {EXPORT_WHOLE_MS:g} ms alone",
                         alone.p99 <= EXPORT_WHOLE_MS, f"p50 {alone.p50:.1f} ms, p99 {alone.p99:.1f} ms"))
    errors = sum(r.errors + (r.alone.errors if r.alone else 0) for r in results)
    verdicts.append(("no errors", errors == 0, f"{errors} errors"))
    for name, ok, detail in verdicts:
        mark = "n/a" if ok is None else ("HOLDS" if ok else "FAILS")
        lines.append(f"- {name}: **{mark}** ({detail})")
    return lines


# ---------------------------------------------------------------------------------------------- driver


def query_counts(server: Server, companies: int) -> list[str]:
    """SQL statements per request (bench/queries.py runs the app in process on the same database)."""
    try:
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("queries.py"))], check=False,
                              env=server.env, capture_output=True, text=True, cwd=ROOT, timeout=120)
    except subprocess.TimeoutExpired:
        return ["- SQL statements per request: not measured (bench/queries.py timed out)", ""]
    if done.returncode != 0:
        return [f"- SQL statements per request: not measured ({done.stderr.strip().splitlines()[-1:]})", ""]
    rows = [line.split("\t") for line in done.stdout.strip().splitlines() if "\t" in line]
    return [f"SQL statements per request ({companies} companies):", "",
            "| route | statements |", "|---|---:|", *(f"| {route} | {count} |" for route, count in rows), ""]


async def run_database(label: str, database_url: str, workdir: Path, workers: int,
                       args: argparse.Namespace) -> list[str]:
    log(f"\n== {label} ==")
    server = Server(label.split()[0].lower(), database_url, workdir, workers)
    prepare(server, args.companies, args.products)
    server.start()
    lines: list[str] = []
    try:
        if not args.load_only:
            results = await benchmark(server, args)
            lines += report(f"{label}, {args.companies} companies, {args.clients} clients, {args.seconds:g} s "
                            f"per route", results, label.startswith("SQLite"))
            if label.startswith("SQLite"):
                lines += query_counts(server, args.companies)
        if args.load or args.load_only:
            lines += await load_run(server.base_url, args.writers, args.per_response, args.load_seconds,
                                    args.companies, label)
    finally:
        server.stop()
        tracebacks = server.errors_in_log()
        lines.append(f"- server tracebacks in the log: {tracebacks}")
        lines.append("")
    for line in lines:
        print(line)
    return lines


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50 companies, 3 s per route, 20 s load run")
    parser.add_argument("--companies", type=int, help="simulated companies (default 1000, 50 with --quick)")
    parser.add_argument("--products", type=int, help="average products per company (simulation default: 10)")
    parser.add_argument("--seconds", type=float, help="measured seconds per route (default 10, 3 with --quick)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients per route (default 32)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    parser.add_argument("--load", action="store_true", help="also run the load run of concurrent autosaves")
    parser.add_argument("--load-only", action="store_true", help="only the load run")
    parser.add_argument("--load-seconds", type=float, help="load run duration (default 120, 20 with --quick)")
    parser.add_argument("--writers", type=int, default=50, help="simulated contributors in the load run")
    parser.add_argument("--per-response", type=int, default=5, help="writers sharing each response (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server logs, SQLite file)")
    args = parser.parse_args(argv)
    args.companies = args.companies or (50 if args.quick else 1000)
    args.seconds = args.seconds or (3.0 if args.quick else 10.0)
    args.load_seconds = args.load_seconds or (20.0 if args.quick else 120.0)
    return args


async def main_async(args: argparse.Namespace) -> int:
    random.seed(SEED)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="convergence-bench-"))
    log(f"Convergence benchmark: {sys.argv[0]} {' '.join(sys.argv[1:])} (work directory {workdir}, "
        f"{os.cpu_count()} CPUs)")
    try:
        if args.only != "postgresql":
            await run_database("SQLite (1 worker)", f"sqlite+aiosqlite:///{workdir / 'bench.db'}", workdir, 1, args)
        if args.only != "sqlite":
            with postgres_database() as url:
                if url is not None:
                    await run_database("PostgreSQL (2 workers)", url, workdir, 2, args)
    finally:
        if args.keep:
            log(f"Kept {workdir} (databases and server logs).")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f"Done in {time.perf_counter() - started:.0f} s.")
    return 0


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    return asyncio.run(main_async(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())

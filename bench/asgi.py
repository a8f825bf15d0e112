"""Which ASGI server: uvicorn (the one `convergence serve` ran until now) against Granian, measured on one market.

    .venv/bin/python bench/asgi.py                       # SQLite, 40 companies, 5 s per route, 2 rounds
    .venv/bin/python bench/asgi.py --db postgresql --seconds 10 --rounds 3

One database is prepared once (`db upgrade`, `fixtures load`, `simulate`, a reviewer); then each server in turn
serves it with one worker and the same settings, in rounds (uvicorn, Granian, uvicorn, Granian…) so that the
noise of a shared machine falls on both alike; the best round of each is kept. Routes: bare `GET /health`, the
`/products` page (session cookie, as a browser), and an autosave (`PATCH /api/v1/responses/{id}/answers`, each
client on its own response, so no conflicts), each with one client alone and with 32 concurrent clients.

Before measuring, each server is checked to work with the app: the lifespan (start-up opens the database, a
SIGTERM runs the shutdown and exits cleanly), static files (content type, ETag and 304), the streamed CSV export
(first byte and every row), and HTTP/1.1 keep-alive (two requests on one connection).

Both are started by `convergence serve --server uvicorn|granian`, with the settings it gives them (access log on
for both, as production would).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # bench/common.py
    EDITABLE,
    SEED,
    SIM_PASSWORD,
    answer_for,
    api_token,
    log,
    manager_email,
    product_responses,
    questionnaire_items,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REVIEWER_EMAIL = "reviewer@bench-asgi.example"
REVIEWER_PASSWORD = "Mesure-Asgi-Convergence-2026"
SECRET = "bench-asgi-secret-key-not-for-production"
PG_ADMIN = os.environ.get("BENCH_PG", os.environ.get("CONVERGENCE_TEST_PG",
                                                     "postgresql://postgres@127.0.0.1:5432/postgres"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(name: str, port: int) -> list[str]:
    return [str(BIN / "convergence"), "serve", "--server", name, "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]


class Served:
    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(command(self.name, self.port), env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(900):
                if self.process.poll() is not None:
                    raise SystemExit(f"{self.name} stopped at start:\n{self.log_path.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise SystemExit(f"{self.name} did not answer /health; see {self.log_path}")

    def stop(self) -> tuple[int | None, float]:
        """SIGTERM to the server's process group: (exit code, seconds to exit)."""
        if self.process is None or self.process.poll() is not None:
            return (self.process.returncode if self.process else None), 0.0
        started = time.perf_counter()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            code = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait(timeout=5)
        return code, time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- clients


@dataclass
class Client:
    http: httpx.AsyncClient
    headers: dict[str, str]
    page: httpx.AsyncClient
    response_id: int = 0
    item: str = ""
    value: Callable[[int], Any] | None = None
    version: int = 0
    counter: int = 0
    reviewer: dict[str, str] = field(default_factory=dict)


async def make_clients(url: str, count: int) -> list[Client]:
    """One client per simulated company: its manager's bearer token, a signed-in page session, and one editable
    response of its own with a free-form item to autosave."""
    clients: list[Client] = []
    items_by_q: dict[int, list[dict[str, Any]]] | None = None
    number = 0
    while len(clients) < count:
        number += 1
        if number > count * 4:
            raise SystemExit(f"Only {len(clients)} companies with an editable response: simulate more.")
        http = httpx.AsyncClient(base_url=url, timeout=60)
        headers = await api_token(http, manager_email(number))
        items_by_q = items_by_q or await questionnaire_items(http, headers)
        company_id = (await http.get("/api/v1/me", headers=headers)).json()["company_id"]
        chosen = None
        for row in await product_responses(http, headers, company_id, products=10):
            if row["status"] not in EDITABLE:
                continue
            for item in items_by_q.get(row["questionnaire_id"], []):
                if item["type"] in ("text", "number") and answer_for(item):
                    chosen = (row, item)
                    break
            if chosen:
                break
        if chosen is None:
            await http.aclose()
            continue
        page = httpx.AsyncClient(base_url=url, timeout=60)
        await page.get("/login")
        signed = await page.post("/login", data={"email": manager_email(number), "password": SIM_PASSWORD,
                                                 "_csrf": page.cookies.get("cv_csrf") or ""})
        if signed.status_code != 303:
            raise SystemExit(f"Page sign-in failed: {signed.status_code}")
        row, item = chosen
        clients.append(Client(http=http, headers=headers, page=page, response_id=row["id"], item=str(item["id"]),
                              value=answer_for(item), version=row["version"]))
    return clients


async def autosave(client: Client) -> int:
    client.counter += 1
    assert client.value is not None
    response = await client.http.patch(f"/api/v1/responses/{client.response_id}/answers", headers=client.headers,
                                       json={"version": client.version,
                                             "answers": {client.item: client.value(client.counter)}})
    if response.status_code == 200:
        client.version = response.json()["version"]
    return response.status_code


async def health(client: Client) -> int:
    return (await client.http.get("/health")).status_code


async def products(client: Client) -> int:
    response = await client.page.get("/products")
    return response.status_code


async def export(client: Client) -> int:
    """The whole review CSV export, streamed, read to the last byte."""
    async with client.http.stream("GET", "/api/v1/review/export.csv", headers=client.reviewer) as response:
        async for _chunk in response.aiter_raw():
            pass
        return response.status_code


ROUTES: list[tuple[str, Callable[[Client], Awaitable[int]]]] = [
    ("GET /health (bare)", health), ("GET /products (page)", products), ("PATCH autosave", autosave),
    ("GET review export.csv (streamed)", export)]
ALONE_ONLY = {"GET review export.csv (streamed)"}


@dataclass
class Figure:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def measure(clients: list[Client], call: Callable[[Client], Awaitable[int]], seconds: float) -> Figure:
    warm_until = time.perf_counter() + min(1.0, seconds / 4)
    end = warm_until + seconds
    figure = Figure()

    async def worker(client: Client) -> None:
        while (now := time.perf_counter()) < end:
            try:
                status = await call(client)
            except httpx.HTTPError:
                status = 599
            if now < warm_until:
                continue
            figure.requests += 1
            figure.latencies.append(time.perf_counter() - now)
            figure.errors += status >= 400

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    figure.seconds = time.perf_counter() - max(started, warm_until)
    return figure


# ---------------------------------------------------------------------------------------------- fitness


async def fitness(served: Served) -> dict[str, str]:
    """Does the server run the app as it must? Each answer a short sentence."""
    out: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:
        css = await http.get("/static/css/base.css")
        again = await http.get("/static/css/base.css", headers={"If-None-Match": css.headers.get("etag", "")})
        out["static"] = (f"{css.status_code} {css.headers.get('content-type', '')}, {len(css.content):,} B, "
                         f"{css.headers.get('cache-control', 'no cache-control')}; with If-None-Match: "
                         f"{again.status_code}")
        headers = await api_token(http, REVIEWER_EMAIL, REVIEWER_PASSWORD)
        await http.post("/api/v1/me/terms/accept", headers=headers,
                        json={"version": (await http.get("/api/v1/terms/current")).json()["version"]})
        started = time.perf_counter()
        first = None
        size = lines = 0
        async with http.stream("GET", "/api/v1/review/export.csv", headers=headers) as response:
            async for chunk in response.aiter_bytes():
                first = first or time.perf_counter() - started
                size += len(chunk)
                lines += chunk.count(b"\n")
            status = response.status_code
        out["streamed CSV export"] = (f"{status}, {lines:,} lines, {size:,} B, first byte "
                                      f"{(first or 0) * 1000:.0f} ms, all {(time.perf_counter() - started) * 1000:.0f} ms")
    # Keep-alive: two requests written on one connection, two answers read from it.
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answers = 0
    for _ in range(2):
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        answers += head.startswith(b"HTTP/1.1 200")
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    out["HTTP/1.1 keep-alive"] = f"{answers} of 2 requests answered on one connection"
    return out


# ---------------------------------------------------------------------------------------------- run


def cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([str(BIN / "convergence"), *args], env=env, capture_output=True, text=True, cwd=ROOT,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"`convergence {args[0]}` failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def database(kind: str, workdir: Path):  # noqa: ANN201
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'asgi.db'}"
        return
    name = f"convergence_asgi_{os.getpid()}"
    subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}"', "-c", f'CREATE DATABASE "{name}"'],
                   check=True, capture_output=True)
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
    finally:
        subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                       check=False, capture_output=True)


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="convergence-asgi-") as tmp, database(args.db, Path(tmp)) as url:
        workdir = Path(tmp)
        env = {**os.environ, "CONVERGENCE_ROOT": str(ROOT), "CONVERGENCE_DATABASE_URL": url,
               "CONVERGENCE_SECRET_KEY": SECRET, "CONVERGENCE_BASE_URL": "http://127.0.0.1"}
        log(f"Preparing {args.db} with {args.companies} companies…")
        cli(env, "db", "upgrade")
        cli(env, "fixtures", "load")
        cli(env, "simulate", "--companies", str(args.companies), "--seed", str(SEED))
        cli(env, "users", "create", "--role", "reviewer", "--email", REVIEWER_EMAIL, "--password", REVIEWER_PASSWORD)

        names = ["uvicorn", "granian"]
        best: dict[tuple[str, str, int], Figure] = {}
        checks: dict[str, dict[str, str]] = {}
        # The clients sign in once: their tokens and sessions live in the database, so they are as good on the
        # next server (and the argon2 sign-ins, not what is measured, are paid once).
        first = Served("uvicorn", env, workdir)
        await first.start()
        try:
            clients = await make_clients(first.url, args.clients)
            async with httpx.AsyncClient(base_url=first.url, timeout=60) as http:
                reviewer = await api_token(http, REVIEWER_EMAIL, REVIEWER_PASSWORD)
                await http.post("/api/v1/me/terms/accept", headers=reviewer,
                                json={"version": (await http.get("/api/v1/terms/current")).json()["version"]})
            for client in clients:
                client.reviewer = reviewer
        finally:
            first.stop()
        for round_number in range(args.rounds):
            for name in names:
                served = Served(name, env, workdir)
                started = time.perf_counter()
                await served.start()
                startup = time.perf_counter() - started
                try:
                    if round_number == 0:
                        checks[name] = await fitness(served)
                        checks[name]["start-up to first /health"] = f"{startup:.1f} s"
                    for client in clients:
                        client.http.base_url = client.page.base_url = served.url
                    for route, call in ROUTES:
                        for group in (clients[:1],) if route in ALONE_ONLY else (clients[:1], clients):
                            log(f"  round {round_number + 1}: {name} {route} × {len(group)}")
                            figure = await measure(group, call, args.seconds)
                            key = (name, route, len(group))
                            # The best round: on a shared machine, the least disturbed one.
                            if key not in best or figure.pct(0.5) < best[key].pct(0.5):
                                best[key] = figure
                finally:
                    code, took = served.stop()
                    if round_number == 0:
                        tracebacks = served.log_path.read_text(errors="replace").count("Traceback")
                        checks[name]["lifespan (SIGTERM)"] = (f"exit code {code} after {took:.1f} s; "
                                                              f"tracebacks in its log: {tracebacks}")

        for client in clients:
            await client.http.aclose()
            await client.page.aclose()

    lines = [f"## ASGI server: uvicorn against Granian ({args.db}, {args.companies} companies, 1 worker, "
             f"{args.seconds:g} s per route, best of {args.rounds} rounds)", "",
             "| route | clients | uvicorn p50 | uvicorn p99 | uvicorn req/s | Granian p50 | Granian p99 | "
             "Granian req/s | errors (u/G) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for route, _call in ROUTES:
        for count in (1,) if route in ALONE_ONLY else (1, args.clients):
            u, g = best[("uvicorn", route, count)], best[("granian", route, count)]
            lines.append(f"| {route} | {count} | {u.pct(0.5):.1f} ms | {u.pct(0.99):.1f} ms | {u.rate:,.0f} | "
                         f"{g.pct(0.5):.1f} ms | {g.pct(0.99):.1f} ms | {g.rate:,.0f} | {u.errors}/{g.errors} |")
    lines.append("")
    for name in names:
        lines.append(f"- {name}: " + "; ".join(f"{k}: {v}" for k, v in checks[name].items()))
    print()
    print("\n".join(lines))
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--companies", type=int, default=40)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())

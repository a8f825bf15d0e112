"""Several servers, one market: two `convergence serve` processes on one PostgreSQL database, and the faults.

    .venv/bin/python bench/servers.py                      # PostgreSQL (two servers) then SQLite (one server)
    .venv/bin/python bench/servers.py --only postgresql --companies 100 --clients 32 --seconds 60

PostgreSQL: a database is created for the run on the local server (BENCH_PG or CONVERGENCE_TEST_PG, default
postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end, then `db upgrade`, `fixtures load`,
`simulate --companies N`, and two servers A and B on free ports with the same settings (database, secret key,
public URL), as two hosts behind a reverse proxy would have. Checked and printed:

1. a session opened on A is valid on B (same page, same CSRF token), and signing out on B ends it on A;
2. sign-in failures sent alternately to A and B count towards one throttle: both then refuse (429);
3. the load run: `--clients` contributors autosave through the JSON API, spread over A and B, sharing responses
   (409 conflicts are reloaded and sent again, as the page does). A third into the run server B is killed with
   SIGKILL and started again: its clients retry on A meanwhile (as a proxy that routes around a dead upstream),
   then go back to B. At the end every save answered 2xx must be in the database: for each item, the stored
   value is the last acknowledged one (or a later save whose answer was lost with the server: sent, maybe
   stored, never acknowledged), and each response's version has grown by at least its acknowledged saves;
4. terms of use published through A are enforced by B on the next request (403 `terms_not_accepted`).

SQLite: one server on a fresh file; the same load; the server is killed with SIGKILL while writers are in the
middle of saves. The file must then pass `PRAGMA integrity_check`, and, once the server is back, every
acknowledged save must be there.
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
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SEED, SIM_PASSWORD, api_token, log, manager_email, new_client  # bench/common.py
from load import Shared, _choose_responses  # bench/load.py: the responses and editors the load run uses
from run import postgres_database  # bench/run.py: a fresh database, dropped at the end

ROOT = Path(__file__).resolve().parents[1]
CONVERGENCE = str(Path(sys.executable).parent / "convergence")
SECRET = "bench-servers-secret-key-not-for-production"
SUPPORT_EMAIL = "support@bench-servers.example"
SUPPORT_PASSWORD = "Mesure-Serveurs-Convergence-2026"
RETRYABLE = (502, 503, 504)


# ---------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(database_url: str, base_url: str, workdir: Path) -> dict[str, str]:
    """What every server shares: the database, the key, the public address. The root's var/ is per run so that
    no server could lean on a file another host would not have."""
    return {**os.environ, "CONVERGENCE_ROOT": str(ROOT), "CONVERGENCE_DATABASE_URL": database_url,
            "CONVERGENCE_SECRET_KEY": SECRET, "CONVERGENCE_BASE_URL": base_url,
            "TMPDIR": str(workdir)}


def cli(env: dict[str, str], *args: str) -> str:
    started = time.perf_counter()
    done = subprocess.run([CONVERGENCE, *args], env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`convergence {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    shown = " ".join("***" if a == SUPPORT_PASSWORD else a for a in args)
    log(f"  convergence {shown}  ({time.perf_counter() - started:.1f} s)")
    return done.stdout


class Server:
    """One `convergence serve` process, in its own process group so that a kill takes its workers too."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path, workers: int) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.workers = workers
        self.log_path = workdir / f"serve-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.up = False

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [CONVERGENCE, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)

    async def ready(self, timeout: float = 90) -> float:
        """Seconds until /health answers."""
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=1) as http:
            while time.perf_counter() - started < timeout:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise SystemExit(f"Server {self.name} stopped at start; see {self.log_path}:\n"
                                     f"{self.log_path.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/health")).status_code == 200:
                        self.up = True
                        return time.perf_counter() - started
                await asyncio.sleep(0.05)
        raise SystemExit(f"Server {self.name} did not answer /health in {timeout:.0f} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, transactions cut wherever they are."""
        self.up = False
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.up = False
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tracebacks(self) -> int:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace").count("Traceback (most recent call last)")
        return 0


# ---------------------------------------------------------------------------------------------- checks


async def page_login(http: httpx.AsyncClient, email: str, password: str) -> int:
    await http.get("/login")
    response = await http.post("/login", data={"email": email, "password": password,
                                               "_csrf": http.cookies.get("cv_csrf") or ""})
    return response.status_code


async def check_session(a: Server, b: Server, email: str) -> tuple[bool, str]:
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as on_a, \
            httpx.AsyncClient(base_url=b.url, timeout=30) as on_b:
        if (status := await page_login(on_a, email, SIM_PASSWORD)) != 303:
            return False, f"sign-in on A answered {status}"
        on_b.cookies.update(on_a.cookies)
        page_b = (await on_b.get("/products")).status_code
        token_a = (await on_a.get("/session/csrf")).json()["csrf_token"]
        token_b = (await on_b.get("/session/csrf")).json()["csrf_token"]
        logout = (await on_b.post("/logout", data={"_csrf": token_b})).status_code
        after = (await on_a.get("/products")).status_code
    ok = page_b == 200 and token_a == token_b and logout == 303 and after in (302, 303, 401)
    return ok, (f"signed in on A; /products on B {page_b}; same CSRF token {token_a == token_b}; "
                f"sign-out on B {logout}; /products on A afterwards {after}")


async def check_throttle(a: Server, b: Server, email: str, limit: int = 5) -> tuple[bool, str]:
    async with httpx.AsyncClient(timeout=30) as http:
        statuses = []
        for attempt in range(limit):
            server = (a, b)[attempt % 2]
            statuses.append((await http.post(f"{server.url}/api/v1/auth/token",
                                              json={"email": email, "password": "not the password"})).status_code)
        then = [(await http.post(f"{s.url}/api/v1/auth/token", json={"email": email, "password": SIM_PASSWORD})
                 ).status_code for s in (a, b)]
    ok = statuses == [401] * limit and then == [429, 429]
    return ok, (f"{limit} wrong passwords alternately on A and B: {statuses}; the right password then: "
                f"A {then[0]}, B {then[1]}")


async def check_terms(a: Server, b: Server, vendor_email: str) -> tuple[bool, str]:
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as on_a, \
            httpx.AsyncClient(base_url=b.url, timeout=30) as on_b:
        headers = await api_token(on_b, vendor_email)
        before = (await on_b.get("/api/v1/tracks", headers=headers)).status_code
        version = (await on_b.get("/api/v1/terms/current")).json()["version"]
        # Support accepts the current terms first (the gate holds staff too), then publishes through the page.
        support = await api_token(on_a, SUPPORT_EMAIL, SUPPORT_PASSWORD)
        await on_a.post("/api/v1/me/terms/accept", json={"version": version}, headers=support)
        if (status := await page_login(on_a, SUPPORT_EMAIL, SUPPORT_PASSWORD)) != 303:
            return False, f"support sign-in on A answered {status}"
        csrf = (await on_a.get("/session/csrf")).json()["csrf_token"]
        started = time.perf_counter()
        published = await on_a.post("/support/terms", data={
            "text_fr": f"# CGU v{version + 1}\n\nTexte publié par le banc.", "_csrf": csrf,
            "text_en": f"# Terms v{version + 1}\n\nPublished by the bench."})
        after = await on_b.get("/api/v1/tracks", headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        code = after.json().get("code") if after.status_code == 403 else ""
        current = (await on_b.get("/api/v1/terms/current")).json()["version"]
    where = published.headers.get("location", "")
    ok = (before == 200 and published.status_code == 303 and where == "/support/terms" and current == version + 1
          and after.status_code == 403 and code == "terms_not_accepted")
    return ok, (f"vendor on B before: {before}; support publishes v{version + 1} on A: {published.status_code} → "
                f"{where}; the vendor's next request on B: {after.status_code} {code} ({elapsed:.0f} ms after the "
                f"publication began); current version read on B: {current}")


# ---------------------------------------------------------------------------------------------- load


@dataclass
class PerServer:
    requests: int = 0
    errors: int = 0  # 5xx answers and connections broken mid-request
    refused: int = 0  # connections refused: the server was down
    latencies: list[float] = field(default_factory=list)


@dataclass
class Writer:
    slot: int
    home: int  # index of the server this client normally talks to
    http: httpx.AsyncClient
    headers: dict[str, str]
    shared: Shared
    item: str
    value: Any
    version: int
    acknowledged: int = 0
    conflicts: int = 0
    retries: int = 0
    in_doubt: list[Any] = field(default_factory=list)  # sent, never answered: stored or not


@dataclass
class Run:
    servers: list[Server]
    stats: dict[str, PerServer]
    writers: list[Writer] = field(default_factory=list)
    inflight: int = 0
    inflight_at_kill: int = 0


async def _send(run: Run, writer: Writer, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
    """One request to the writer's server, or to another live one when its own is down; None when every try
    failed at the transport level. A retry after a broken connection is counted."""
    for attempt in range(60):
        live = [i for i, s in enumerate(run.servers) if s.up]
        index = writer.home if writer.home in live or not live else live[(writer.slot + attempt) % len(live)]
        server = run.servers[index]
        stat = run.stats[server.name]
        stat.requests += 1
        started = time.perf_counter()
        run.inflight += 1
        try:
            response = await writer.http.request(method, f"{server.url}{path}", headers=writer.headers, **kwargs)
        except httpx.TransportError as exc:
            writer.retries += 1
            if isinstance(exc, httpx.ConnectError):
                stat.refused += 1  # never sent
            else:
                stat.errors += 1
                if method == "PATCH" and kwargs.get("json", {}).get("answers"):
                    writer.in_doubt.append(next(iter(kwargs["json"]["answers"].values())))
            await asyncio.sleep(min(0.05 * 2 ** min(attempt, 5), 1.0))
            continue
        finally:
            run.inflight -= 1
        stat.latencies.append(time.perf_counter() - started)
        if response.status_code >= 500:
            stat.errors += 1
            if response.status_code in RETRYABLE:
                writer.retries += 1
                await asyncio.sleep(0.1)
                continue
        return response
    return None


async def _writer_loop(run: Run, writer: Writer, end: float, rng: random.Random) -> None:
    counter = 0
    path = f"/api/v1/responses/{writer.shared.response_id}"
    while time.perf_counter() < end:
        counter += 1
        value = writer.value(writer.slot * 1_000_000 + counter)
        while True:
            response = await _send(run, writer, "PATCH", f"{path}/answers",
                                   json={"version": writer.version, "answers": {writer.item: value}})
            if response is not None and response.status_code == 200:
                writer.version = response.json()["version"]
                writer.acknowledged += 1
                writer.shared.acks.setdefault(writer.item, []).append((writer.version, value))
                break
            if response is not None and response.status_code == 409:
                writer.conflicts += 1
            current = await _send(run, writer, "GET", path)
            if current is not None and current.status_code == 200:
                writer.version = current.json()["version"]
            if response is None or response.status_code not in (409, 500):
                break
            if time.perf_counter() >= end:
                break
        await asyncio.sleep(rng.random() * 0.02)


async def verify(run: Run, groups: list[tuple[Shared, list[str], Any]]) -> tuple[int, int, int]:
    """(lost acknowledged writes, responses whose version is short of their acknowledged saves, read errors),
    read back through a live server."""
    lost = short = read_errors = 0
    server = next(s for s in run.servers if s.up)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        for shared, _editors, _generators in groups:
            writers = [w for w in run.writers if w.shared is shared]
            if not writers:
                continue
            response = await http.get(f"/api/v1/responses/{shared.response_id}", headers=writers[0].headers)
            if response.status_code != 200:
                read_errors += 1
                continue
            stored = response.json()
            doubtful = {repr(v) for w in writers for v in w.in_doubt}
            total = 0
            for item, acks in shared.acks.items():
                total += len(acks)
                _version, expected = max(acks, key=lambda a: a[0])
                value = stored["answers"].get(item)
                if value != expected and repr(value) not in doubtful:
                    lost += 1
                    log(f"    LOST: response {shared.response_id} item {item}: stored {value!r}, "
                        f"last acknowledged {expected!r}")
            if stored["version"] < shared.initial_version + total:
                short += 1
                log(f"    response {shared.response_id}: version {stored['version']} < "
                    f"{shared.initial_version} + {total} acknowledged saves")
    return lost, short, read_errors


async def load_with_fault(servers: list[Server], victim: Server, *, clients: int, per_response: int,
                          seconds: float, companies: int, kill_at: float,
                          on_killed: Any = None) -> tuple[Run, list[tuple[Shared, list[str], Any]], dict[str, Any]]:
    """The load run, spread over `servers`; `victim` is killed with SIGKILL `kill_at` seconds in and restarted.
    `on_killed` (a coroutine function) runs while it is down (the SQLite integrity check)."""
    groups = await _choose_responses(servers[0].url, -(-clients // per_response), per_response, companies)
    if not groups:
        raise SystemExit("No editable response with free-form items: simulate more companies.")
    run = Run(servers=servers, stats={s.name: PerServer() for s in servers})
    rng = random.Random(SEED)
    for slot in range(clients):
        shared, editors, generators = groups[slot % len(groups)]
        index = slot // len(groups)
        item = shared.items[index % len(shared.items)]
        home = slot % len(servers)
        http = new_client(servers[home].url)
        headers = await api_token(http, editors[index % len(editors)], SIM_PASSWORD)
        run.writers.append(Writer(slot=slot + 1, home=home, http=http, headers=headers, shared=shared, item=item,
                                  value=generators[item], version=shared.initial_version))
    fault: dict[str, Any] = {}

    async def chaos() -> None:
        await asyncio.sleep(kill_at)
        run.inflight_at_kill = run.inflight
        killed = time.perf_counter()
        victim.kill()
        fault["killed_at"] = killed - started
        if on_killed is not None:
            fault["while_down"] = await on_killed()
        victim.start()
        await victim.ready()
        fault["down_seconds"] = time.perf_counter() - killed

    started = time.perf_counter()
    end = started + seconds
    await asyncio.gather(chaos(), *(_writer_loop(run, w, end, random.Random(rng.random())) for w in run.writers))
    fault["elapsed"] = time.perf_counter() - started
    fault["inflight_at_kill"] = run.inflight_at_kill
    for writer in run.writers:
        await writer.http.aclose()
    return run, groups, fault


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def figures(run: Run, lost: int, short: int, read_errors: int) -> list[str]:
    rows = ["| server | requests | errors (5xx, cut mid-request) | refused (down) | p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|"]
    total = PerServer()
    for server in run.servers:
        stat = run.stats[server.name]
        rows.append(f"| {server.name} | {stat.requests:,} | {stat.errors:,} | {stat.refused:,} | "
                    f"{percentile(stat.latencies, 0.5):.1f} | {percentile(stat.latencies, 0.99):.1f} |")
        total.requests += stat.requests
        total.errors += stat.errors
        total.refused += stat.refused
        total.latencies += stat.latencies
    if len(run.servers) > 1:
        rows.append(f"| all | {total.requests:,} | {total.errors:,} | {total.refused:,} | "
                    f"{percentile(total.latencies, 0.5):.1f} | {percentile(total.latencies, 0.99):.1f} |")
    acknowledged = sum(w.acknowledged for w in run.writers)
    rows += ["",
             f"- acknowledged saves: {acknowledged:,}; 409 conflicts reloaded and sent again: "
             f"{sum(w.conflicts for w in run.writers):,}; retries (refused, cut or 5xx): "
             f"{sum(w.retries for w in run.writers):,}; saves in doubt (sent to the killed server, never "
             f"answered): {sum(len(w.in_doubt) for w in run.writers)}",
             f"- lost acknowledged writes: **{lost}**; responses short of their acknowledged saves: {short}; "
             f"read errors: {read_errors}"]
    return rows


# ---------------------------------------------------------------------------------------------- runs


def prepare(env: dict[str, str], companies: int) -> None:
    cli(env, "db", "upgrade")
    cli(env, "fixtures", "load")
    cli(env, "simulate", "--companies", str(companies), "--seed", str(SEED))
    cli(env, "users", "create", "--role", "support", "--email", SUPPORT_EMAIL, "--password", SUPPORT_PASSWORD)


async def run_postgresql(args: argparse.Namespace, workdir: Path) -> tuple[bool, list[str]]:
    with postgres_database() as url:
        if url is None:
            return True, ["## Two servers on PostgreSQL", "", "skipped: no PostgreSQL server", ""]
        log("PostgreSQL: two servers on one database")
        base_url = "http://convergence.bench.example"  # the public address behind the proxy: the same for both
        env = environment(url, base_url, workdir)
        prepare(env, args.companies)
        a, b = Server("A", env, workdir, args.workers), Server("B", env, workdir, args.workers)
        try:
            a.start()
            b.start()
            await a.ready()
            await b.ready()
            log(f"  A on {a.url}, B on {b.url}, {args.workers} worker(s) each")
            lines = [f"## Two servers on PostgreSQL ({args.companies} companies, {args.clients} clients, "
                     f"{args.seconds:g} s, {args.workers} worker(s) per server)", ""]
            verdicts: list[bool] = []
            for label, check in (("session opened on A valid on B", check_session(a, b, manager_email(1))),
                                 ("throttle counts failures from both", check_throttle(a, b, manager_email(args.companies)))):
                ok, detail = await check
                verdicts.append(ok)
                lines.append(f"- {label}: **{'yes' if ok else 'NO'}** — {detail}")
            log("  checks done; load run with B killed (SIGKILL) and restarted")
            run, groups, fault = await load_with_fault(
                [a, b], b, clients=args.clients, per_response=args.per_response, seconds=args.seconds,
                companies=args.companies, kill_at=args.seconds / 3)
            lost, short, read_errors = await verify(run, groups)
            ok_terms, detail = await check_terms(a, b, manager_email(3))
            verdicts.append(ok_terms)
            lines.append(f"- terms published through A enforced by B at once: **{'yes' if ok_terms else 'NO'}** "
                         f"— {detail}")
            lines += [f"- fault: B killed (SIGKILL) {fault['killed_at']:.1f} s into the run with "
                      f"{fault['inflight_at_kill']} request(s) in flight, serving again "
                      f"{fault['down_seconds']:.1f} s later; A served throughout", ""]
            lines += figures(run, lost, short, read_errors)
            tracebacks = a.tracebacks() + b.tracebacks()
            a_errors = run.stats["A"].errors
            lines.append(f"- tracebacks in the servers' logs: {tracebacks}; errors on A (the survivor): {a_errors}")
            ok = all(verdicts) and lost == 0 and short == 0 and read_errors == 0 and a_errors == 0
            lines += [f"- verdict: **{'HOLDS' if ok else 'FAILS'}**", ""]
            return ok, lines
        finally:
            a.stop()
            b.stop()


async def run_sqlite(args: argparse.Namespace, workdir: Path) -> tuple[bool, list[str]]:
    log("SQLite: one server killed mid-write")
    path = workdir / "servers.db"
    env = environment(f"sqlite+aiosqlite:///{path}", "http://127.0.0.1", workdir)
    prepare(env, args.companies)
    server = Server("S", env, workdir, 1)

    async def integrity() -> str:
        # Opened as the next server would: the write-ahead log is replayed, a cut transaction rolled back.
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return ", ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))

    try:
        server.start()
        await server.ready()
        clients = min(args.clients, 16)
        run, groups, fault = await load_with_fault(
            [server], server, clients=clients, per_response=args.per_response, seconds=args.seconds,
            companies=args.companies, kill_at=args.seconds / 2, on_killed=integrity)
        lost, short, read_errors = await verify(run, groups)
        final = await integrity()
    finally:
        server.stop()
    ok = fault["while_down"] == "ok" and final == "ok" and lost == 0 and short == 0 and read_errors == 0
    lines = [f"## One server on SQLite killed mid-write ({args.companies} companies, {clients} clients, "
             f"{args.seconds:g} s)", "",
             f"- killed (SIGKILL) {fault['killed_at']:.1f} s in with {fault['inflight_at_kill']} request(s) in flight; "
             f"`PRAGMA integrity_check` right after the kill: **{fault['while_down']}**, at the end: **{final}**; "
             f"serving again {fault['down_seconds']:.1f} s after the kill (clients retried meanwhile)", ""]
    lines += figures(run, lost, short, read_errors)
    lines += [f"- verdict: **{'HOLDS' if ok else 'FAILS'}**", ""]
    return ok, lines


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    parser.add_argument("--companies", type=int, default=50)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-response", type=int, default=4, help="clients sharing one response")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=1, help="workers per server")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    ok = True
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="convergence-servers-") as tmp:
        workdir = Path(tmp)
        if args.only in (None, "postgresql"):
            held, lines = await run_postgresql(args, workdir)
            ok &= held
            report += lines
        if args.only in (None, "sqlite"):
            held, lines = await run_sqlite(args, workdir)
            ok &= held
            report += lines
        if not ok:
            keep = Path(tempfile.mkdtemp(prefix="convergence-servers-logs-"))
            for log_file in workdir.glob("serve-*.log"):
                shutil.copy(log_file, keep)
            report.append(f"Server logs kept in {keep}")
    print()
    print("\n".join(report))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())

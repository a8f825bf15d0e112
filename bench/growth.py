"""How each route's service time grows with the market: the benchmark's routes at 100, 1,000 and 10,000 companies.

    .venv/bin/python bench/growth.py --db postgresql                     # 100, 1,000 and 10,000 companies
    .venv/bin/python bench/growth.py --db sqlite --sizes 100,1000        # SQLite, two sizes
    .venv/bin/python bench/growth.py --db postgresql --seconds 5         # shorter windows

One database grows through the sizes: `convergence simulate` is deterministic and only adds the companies that are
missing, so the market at 1,000 companies holds the 100 of the first size, and each size costs only its new
companies. Before each size's measurement the server is started afresh (no cache warmed by a smaller market).

Service time is a route's latency with one client at a time (no queueing): p50 and p99 at each size, then the
growth ratio largest ÷ smallest size (and that ratio divided by bare /health's own, which shows how much of it
is the machine's load of the moment). Paged routes (a page of products, one response, one page of the review, an
autosave) must stay flat: those whose p50 grows more than GROWS× are marked (a p99 from a few hundred requests
on a shared machine is too noisy to judge alone: it is shown, and noted when it grows more than twice as much).
The CSV export reads every row of the market: it grows by design and is shown for scale. The routes and clients
are bench/run.py's, unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SEED, log  # bench/common.py, next to this file
from run import REVIEWER_EMAIL, REVIEWER_PASSWORD, Result, Server, benchmark, postgres_database  # bench/run.py

# A paged route is flat when its service time at the largest market is within this factor of the smallest's.
GROWS = 1.5
# Routes whose answer does not depend on the market's size (a page, one object, one write) — all but these:
BARE = "GET /health (bare)"
UNPAGED = {"GET /api/v1/review/export.csv": "every row of the market: grows by design",
           "POST /api/v1/auth/token (sign-in)": "argon2: constant by design",
           BARE: "the framework's floor"}


def service(result: Result) -> Result:
    """The route's service time: every request of the one-client runs (run.py measures a route with `--clients`
    clients, then alone; growth.py runs with one client, so both runs are without queueing)."""
    merged = Result(result.route, page=result.page, clients=1, note=result.note)
    for part in (result, result.alone):
        if part is not None and part.requests:
            merged.requests += part.requests
            merged.seconds += part.seconds
            merged.latencies += part.latencies
            merged.errors += part.errors
            merged.codes.update(part.codes)
    return merged


def growth_table(sizes: list[int], measured: dict[int, list[Result]]) -> list[str]:
    first, last = sizes[0], sizes[-1]
    header = ("| route | " + " | ".join(f"{size:,} p50 | {size:,} p99" for size in sizes)
              + f" | ×p50 {last:,}/{first:,} | ×p99 {last:,}/{first:,} | ×p50 ÷ bare's | verdict |")
    lines = [header, "|---|" + "---:|" * (2 * len(sizes) + 3) + "---|"]
    routes = [r.route for r in measured[first]]
    # How much bare /health itself moved between the sizes: on a shared machine, the load of the moment.
    bare = [service(r) for size in (first, last) for r in measured[size] if r.route == BARE]
    drift = bare[1].p50 / bare[0].p50 if len(bare) == 2 and bare[0].requests and bare[1].requests else None
    flat = True
    for route in routes:
        by_size = {size: next((service(r) for r in measured[size] if r.route == route), None) for size in sizes}
        cells, p50s, p99s = [], [], []
        for size in sizes:
            result = by_size[size]
            if result is None or not result.requests:
                cells.append("– | –")
                continue
            cells.append(f"{result.p50:.1f} | {result.p99:.1f}")
            p50s.append(result.p50)
            p99s.append(result.p99)
        if len(p50s) < len(sizes) or not p50s[0] or not p99s[0]:
            note = next((r.note for r in by_size.values() if r is not None and r.note), "not measured")
            lines.append(f"| {route} | {' | '.join(cells)} | – | – | – | {note} |")
            continue
        ratio50, ratio99 = p50s[-1] / p50s[0], p99s[-1] / p99s[0]
        errors = sum(r.errors for r in by_size.values() if r is not None)
        # Which answers the errors were, per size: the status code tells a refusal (4xx) from a failure (5xx).
        codes = "; ".join(f"{size:,}: " + ", ".join(f"{n} × {code}" for code, n in sorted(r.codes.items())
                                                    if code >= 400 and code != 409)
                          for size, r in by_size.items()
                          if r is not None and any(code >= 400 and code != 409 for code in r.codes))
        if route in UNPAGED:
            verdict = UNPAGED[route]
        elif ratio50 > GROWS:
            verdict = f"**GROWS** (paged: p50 should stay within {GROWS:g}×)"
            flat = False
        else:
            verdict = "flat" if ratio99 <= 2 * GROWS else f"flat p50; p99 grows {ratio99:.1f}× (tail: re-measure)"
        if errors:
            verdict += f"; {errors} errors ({codes})"
        relative = f"{ratio50 / drift:.2f}×" if drift else "–"
        lines.append(f"| {route} | {' | '.join(cells)} | {ratio50:.2f}× | {ratio99:.2f}× | {relative} | {verdict} |")
    lines += ["", f"- paged routes flat within {GROWS:g}× from {first:,} to {last:,} companies: "
                  f"**{'HOLDS' if flat else 'FAILS'}**"]
    return lines


async def grow(label: str, database_url: str, workdir: Path, workers: int, args: argparse.Namespace) -> list[str]:
    log(f"\n== {label}: {', '.join(f'{s:,}' for s in args.sizes)} companies ==")
    server = Server(label.split()[0].lower(), database_url, workdir, workers)
    server.cli("db", "upgrade")
    server.cli("fixtures", "load")
    server.cli("users", "create", "--role", "reviewer", "--email", REVIEWER_EMAIL, "--password", REVIEWER_PASSWORD)
    measured: dict[int, list[Result]] = {}
    timings: list[str] = []
    tracebacks = 0
    for size in args.sizes:
        started = time.perf_counter()
        server.cli("simulate", "--companies", str(size), "--seed", str(SEED))
        timings.append(f"{size:,}: {time.perf_counter() - started:.0f} s")
        server.start()
        try:
            args.companies = size
            measured[size] = await benchmark(server, args)
        finally:
            server.stop()
            tracebacks += server.errors_in_log()  # each start writes a new log
    lines = [f"{label}: service time (one client) in ms, {args.seconds:g} s + {max(2.0, args.seconds / 3):g} s "
             f"per route and size", "", *growth_table(args.sizes, measured),
             f"- simulate, cumulative market (each size adds its new companies): {'; '.join(timings)}",
             f"- server tracebacks in the logs: {tracebacks}", ""]
    for line in lines:
        print(line)
    return lines


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--sizes", default="100,1000,10000", help="companies, comma-separated, ascending")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per route and size")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server logs, SQLite file)")
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted({int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()})
    except ValueError:
        parser.error("--sizes takes whole numbers of companies, e.g. 100,1000,10000")
    if len(args.sizes) < 2 or args.sizes[0] < 1:
        parser.error("--sizes needs at least two sizes of one company or more")
    # What bench/run.py's benchmark() reads: one client, so that every latency is a service time.
    args.clients, args.products, args.load, args.load_only = 1, None, False, False
    return args


async def main_async(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="convergence-growth-"))
    log(f"Convergence growth: {sys.argv[0]} {' '.join(sys.argv[1:])} (work directory {workdir})")
    try:
        if args.db == "sqlite":
            await grow("SQLite (1 worker)", f"sqlite+aiosqlite:///{workdir / 'growth.db'}", workdir, 1, args)
        else:
            with postgres_database() as url:
                if url is None:
                    return 1
                await grow("PostgreSQL (2 workers)", url, workdir, 2, args)
    finally:
        if args.keep:
            log(f"Kept {workdir} (databases and server logs).")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir)
    log(f"Done in {time.perf_counter() - started:.0f} s.")
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())

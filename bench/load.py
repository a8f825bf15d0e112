"""Load run: simulated contributors autosaving the same responses at once; no acknowledged write may be lost.

    .venv/bin/python bench/run.py --load-only                      # 50 writers, 2 minutes on each database
    .venv/bin/python bench/run.py --load-only --load-seconds 20    # shorter (also --only, --companies N)

Writers share responses (5 per response by default), so saves collide: a writer whose version is stale gets a
409, reloads the response (GET /api/v1/responses/{id}) and sends its answer again with the new version. Each
writer owns one item of its response when there are enough free-form items (several writers per item otherwise).
At the end every response is read back through the API: for every item, the last acknowledged value must be the
stored one, and the version must have grown by exactly the number of acknowledged saves.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # bench/common.py, next to this file
    EDITABLE,
    SIM_PASSWORD,
    answer_for,
    api_token,
    log,
    manager_email,
    new_client,
    product_responses,
    questionnaire_items,
)

WRITE_LEVELS = ("edit", "validate")


@dataclass
class Shared:
    response_id: int
    company_id: int
    items: list[str]
    initial_version: int
    acks: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)  # item → [(version, value)]


@dataclass
class Writer:
    slot: int
    email: str
    http: httpx.AsyncClient
    headers: dict[str, str]
    shared: Shared
    item: str
    value: Any
    version: int = 0
    acknowledged: int = 0
    conflicts: int = 0
    server_errors: int = 0
    other_errors: int = 0
    abandoned: int = 0
    latencies: list[float] = field(default_factory=list)


async def _choose_responses(base_url: str, wanted: int, per_response: int,
                            companies: int) -> list[tuple[Shared, list[str], Any]]:
    """`wanted` editable responses in distinct companies, with the users who may edit each (managers, and
    contributors holding edit or validate on the product)."""
    http = new_client(base_url)
    chosen: list[tuple[Shared, list[str], Any]] = []
    items_by_q: dict[int, list[dict[str, Any]]] | None = None
    try:
        for number in range(1, companies + 1):
            if len(chosen) == wanted:
                break
            headers = await api_token(http, manager_email(number))
            if items_by_q is None:
                items_by_q = await questionnaire_items(http, headers)
            company_id = (await http.get("/api/v1/me", headers=headers)).json()["company_id"]
            members = (await http.get(f"/api/v1/companies/{company_id}/members?limit=200",
                                      headers=headers)).json()["items"]
            rows = await product_responses(http, headers, company_id, products=10)
            best: tuple[int, dict[str, Any], list[str], list[dict[str, Any]]] | None = None
            for row in rows:
                if row["status"] not in EDITABLE or row["product_id"] is None:
                    continue
                # Items that take a new value at every save (a save of the stored value changes nothing, and the
                # check below counts versions): texts, and numbers without an upper bound.
                items = [i for i in items_by_q.get(row["questionnaire_id"], []) if i["type"] == "text" or (
                    i["type"] == "number" and (i.get("bounds") or {}).get("max") is None)]
                if not items:
                    continue
                editors = [m["email"] for m in members if m["active"] and not m["pending"] and (
                    m["role"] == "manager" or any(r.get("product_id") == row["product_id"]
                                                  and r.get("level") in WRITE_LEVELS for r in m["rights"]))]
                if best is None or len(editors) > best[0]:
                    best = (len(editors), row, editors, items)
            if best is None:
                continue
            _, row, editors, items = best
            shared = Shared(response_id=row["id"], company_id=company_id,
                            items=[str(i["id"]) for i in items], initial_version=row["version"])
            generators = {str(i["id"]): answer_for(i) for i in items}
            chosen.append((shared, editors, generators))
    finally:
        await http.aclose()
    return chosen


async def _writer_loop(writer: Writer, end: float, rng: random.Random) -> None:
    generator = writer.value
    counter = 0
    path = f"/api/v1/responses/{writer.shared.response_id}"
    while time.perf_counter() < end:
        counter += 1
        # A value no other write uses: writer slot and counter.
        value = generator(writer.slot * 1_000_000 + counter)
        while True:
            started = time.perf_counter()
            try:
                response = await writer.http.patch(f"{path}/answers", headers=writer.headers,
                                                   json={"version": writer.version, "answers": {writer.item: value}})
            except httpx.HTTPError:
                writer.other_errors += 1
                break
            writer.latencies.append(time.perf_counter() - started)
            if response.status_code == 200:
                writer.version = response.json()["version"]
                writer.acknowledged += 1
                writer.shared.acks.setdefault(writer.item, []).append((writer.version, value))
                break
            if response.status_code >= 500:
                writer.server_errors += 1
            elif response.status_code == 409:
                writer.conflicts += 1
            else:
                writer.other_errors += 1
            current = await writer.http.get(path, headers=writer.headers)
            if current.status_code >= 500:
                writer.server_errors += 1
            if current.status_code == 200:
                writer.version = current.json()["version"]
            if response.status_code != 409:
                break
            if time.perf_counter() >= end:
                writer.abandoned += 1  # never acknowledged: not expected in the database
                break
        # Autosave fires after a pause in typing: 0-20 ms here, to keep the pressure high.
        await asyncio.sleep(rng.random() * 0.02)


async def load_run(base_url: str, writers: int, per_response: int, seconds: float, companies: int,
                   label: str) -> list[str]:
    log(f"  load run: {writers} contributors, {per_response} per response, {seconds:g} s")
    groups = await _choose_responses(base_url, -(-writers // per_response), per_response, companies)
    if not groups:
        return ["- load run skipped: no editable response with free-form items", ""]
    rng = random.Random(1)
    crew: list[Writer] = []
    users: set[str] = set()
    for slot in range(writers):
        shared, editors, generators = groups[slot % len(groups)]
        index = slot // len(groups)
        email = editors[index % len(editors)]
        users.add(email)
        http = new_client(base_url)
        item = shared.items[index % len(shared.items)]
        crew.append(Writer(slot=slot + 1, email=email, http=http, headers=await api_token(http, email, SIM_PASSWORD),
                           shared=shared, item=item, value=generators[item], version=shared.initial_version))
    started = time.perf_counter()
    await asyncio.gather(*(_writer_loop(w, started + seconds, random.Random(rng.random())) for w in crew))
    elapsed = time.perf_counter() - started

    # Read every response back through the API.
    lost = unexpected_versions = read_errors = 0
    per_item: list[int] = []
    reader = crew[0].http
    for shared, _editors, _generators in groups:
        headers = next(w.headers for w in crew if w.shared is shared)
        response = await reader.get(f"/api/v1/responses/{shared.response_id}", headers=headers)
        if response.status_code != 200:
            read_errors += 1
            continue
        stored = response.json()
        total = 0
        for item, acks in shared.acks.items():
            per_item.append(len(acks))
            total += len(acks)
            _version, expected = max(acks, key=lambda a: a[0])
            if stored["answers"].get(item) != expected:
                lost += 1
                log(f"    LOST: response {shared.response_id} item {item}: stored "
                    f"{stored['answers'].get(item)!r}, last acknowledged {expected!r}")
        if stored["version"] != shared.initial_version + total:
            unexpected_versions += 1
            log(f"    response {shared.response_id}: version {stored['version']}, expected "
                f"{shared.initial_version} + {total} acknowledged saves")
    for writer in crew:
        await writer.http.aclose()

    acknowledged = sum(w.acknowledged for w in crew)
    conflicts = sum(w.conflicts for w in crew)
    server_errors = sum(w.server_errors for w in crew)
    other = sum(w.other_errors for w in crew)
    abandoned = sum(w.abandoned for w in crew)
    latencies = sorted(x for w in crew for x in w.latencies)
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else float("nan")
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan")
    ok = lost == 0 and server_errors == 0 and unexpected_versions == 0 and read_errors == 0
    lines = [
        (f"Load run on {label}: {len(crew)} contributors ({len(users)} distinct accounts) on {len(groups)} "
         f"shared responses, {elapsed:.0f} s"),
        "",
        (f"- acknowledged saves: {acknowledged:,} ({acknowledged / elapsed:,.0f}/s); PATCH p50 {p50:.1f} ms, "
         f"p99 {p99:.1f} ms"),
        f"- 409 conflicts (reloaded and retried): {conflicts:,}; retries abandoned at the deadline: {abandoned}",
        (f"- saves per item: min {min(per_item, default=0)}, median "
         f"{statistics.median(per_item) if per_item else 0:g}, max {max(per_item, default=0)} over "
         f"{len(per_item)} items"),
        (f"- lost acknowledged writes: **{lost}**; responses whose version ≠ initial + acknowledged saves: "
         f"{unexpected_versions}; 5xx: **{server_errors}**; other errors: {other}"),
        f"- verdict: **{'HOLDS' if ok else 'FAILS'}** (0 lost writes, 0 server errors)",
        "",
    ]
    return lines

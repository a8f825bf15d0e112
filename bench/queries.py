"""SQL statements per request for the benchmarked routes, counted in process (the app's own Python).

    CONVERGENCE_DATABASE_URL=... .venv/bin/python bench/queries.py   # run by bench/run.py on its SQLite market

Prints one `route<TAB>statements` line per route (the mean over 5 requests after one warm-up request);
with `--verbose`, each statement of the last request of each route, abbreviated.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import Any

from pathlib import Path

from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import editable_text_item  # noqa: E402  (bench/common.py)
from convergence.app import create_app  # noqa: E402
from convergence.settings import Settings  # noqa: E402

SIM_PASSWORD = "Simulation-Convergence-2026"
REVIEWER = ("reviewer@bench.example", "Mesure-Charge-Convergence-2026")
statements = 0
seen: list[str] = []
VERBOSE = "--verbose" in sys.argv


@event.listens_for(Engine, "before_cursor_execute")
def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    global statements
    statements += 1
    seen.append(re.sub(r"\s+", " ", statement)[:150])


async def main() -> None:
    global statements
    logging.disable(logging.INFO)
    settings = Settings.from_env()
    async with AsyncTestClient(app=create_app(settings), base_url=settings.base_url) as page, \
            AsyncTestClient(app=create_app(settings), base_url=settings.base_url) as reviewer_page:
        page.follow_redirects = reviewer_page.follow_redirects = False
        email = "manager1@sim1-1.example"
        token = (await page.post("/api/v1/auth/token", json={"email": email, "password": SIM_PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        company = (await page.get("/api/v1/me", headers=headers)).json()["company_id"]
        products = (await page.get(f"/api/v1/companies/{company}/products", headers=headers)).json()["items"]
        responses = (await page.get(f"/api/v1/products/{products[0]['id']}/responses", headers=headers)).json()
        rid = next((r["id"] for r in responses["items"] if r["status"] in ("not_started", "draft")),
                   responses["items"][0]["id"])
        reviewer_token = (await reviewer_page.post("/api/v1/auth/token", json={"email": REVIEWER[0],
                                                                                "password": REVIEWER[1]})).json()
        reviewer = {"Authorization": f"Bearer {reviewer_token.get('access_token', '')}"}
        version = (await reviewer_page.get("/api/v1/terms/current")).json()["version"]
        await reviewer_page.post("/api/v1/me/terms/accept", json={"version": version}, headers=reviewer)
        for client, (user, password) in ((page, (email, SIM_PASSWORD)), (reviewer_page, REVIEWER)):
            await client.get("/login")
            await client.post("/login", data={"email": user, "password": password,
                                              "_csrf": client.cookies.get("cv_csrf") or ""})
        routes = [
            ("GET /health", lambda: page.get("/health")),
            ("GET /api/v1/companies/{id}/products", lambda: page.get(f"/api/v1/companies/{company}/products",
                                                                     headers=headers)),
            ("GET /products (page)", lambda: page.get("/products")),
            ("GET /responses/{id} (page)", lambda: page.get(f"/responses/{rid}")),
            ("GET /api/v1/responses/{id}", lambda: page.get(f"/api/v1/responses/{rid}", headers=headers)),
            ("GET /review (page)", lambda: reviewer_page.get("/review")),
            ("GET /api/v1/review/products", lambda: page.get("/api/v1/review/products", headers=reviewer)),
        ]
        for label, call in routes:
            first = await call()
            if first.status_code != 200:
                print(f"{label}\t(answers {first.status_code})")
                continue
            statements = 0
            for _ in range(5):
                seen.clear()
                await call()
            print(f"{label}\t{statements / 5:g}")
            if VERBOSE:
                print("\n".join(f"    {text}" for text in seen))
        # Autosave: one save of a new value (a save that changes nothing writes nothing), counted alone.
        save_id, item_id, value = await editable_text_item(page, headers, company)  # type: ignore[arg-type]
        current = (await page.get(f"/api/v1/responses/{save_id}", headers=headers)).json()
        for attempt in range(2):  # the first one warms the caches up
            seen.clear()
            statements = 0
            saved = await page.patch(f"/api/v1/responses/{save_id}/answers", headers=headers,
                                     json={"version": current["version"],
                                           "answers": {item_id: value(current["version"] + 1000)}})
            if saved.status_code != 200:
                break
            current = saved.json()
        print(f"PATCH /api/v1/responses/{{id}}/answers\t{statements if saved.status_code == 200 else saved.status_code}")
        if VERBOSE:
            print("\n".join(f"    {text}" for text in seen))


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)

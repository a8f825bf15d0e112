"""What the route benchmark (run.py) and the load run (load.py) share: the simulated accounts, clients and
questionnaire helpers. Kept apart so that neither script imports the other's internals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

SEED = 1
SIM_PASSWORD = "Simulation-Convergence-2026"
EDITABLE = ("not_started", "draft")


def log(message: str) -> None:
    print(message, flush=True)


def manager_email(number: int) -> str:
    """The first manager of simulated company `number` (from 1): see convergence/simulation.py."""
    return f"manager1@sim{SEED}-{number}.example"


async def api_token(http: httpx.AsyncClient, email: str, password: str = SIM_PASSWORD) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", json={"email": email, "password": password})
    if response.status_code != 200:
        raise SystemExit(f"Sign-in of {email} failed: {response.status_code} {response.text[:300]}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def new_client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=60, follow_redirects=False,
                             limits=httpx.Limits(max_connections=2, max_keepalive_connections=2))


def answer_for(item: dict[str, Any]) -> Callable[[int], Any] | None:
    """A value generator accepted by the item, distinct at each call for text and number items."""
    kind = item["type"]
    if kind == "text":
        return lambda n: f"Bench answer {n}"
    if kind == "number":
        # Within the item's bounds: a counter run past `max` (720 hours on one item) made every later save a 422
        # (the "69 autosave errors" of growth.py at one size).
        bounds = item.get("bounds") or {}
        low = int(bounds["min"]) if isinstance(bounds.get("min"), (int, float)) else 0
        high = int(bounds["max"]) if isinstance(bounds.get("max"), (int, float)) else None
        if high is None:
            return lambda n: low + n
        return lambda n: low + n % (high - low + 1)
    if kind == "boolean":
        return lambda n: n % 2 == 0
    if kind == "choice" and item.get("options"):
        values = [o["value"] for o in item["options"]]
        return lambda n: values[n % len(values)]
    return None


async def questionnaire_items(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[int, list[dict[str, Any]]]:
    tracks = (await http.get("/api/v1/tracks", headers=headers)).json()
    out: dict[int, list[dict[str, Any]]] = {}
    for track in tracks["items"]:
        for step in track["steps"]:
            for q in step["questionnaires"]:
                out[q["id"]] = q["items"]
    for q in tracks.get("global_strategy", []):
        out[q["id"]] = q["items"]
    return out


async def product_responses(http: httpx.AsyncClient, headers: dict[str, str], company_id: int,
                            products: int = 200) -> list[dict[str, Any]]:
    """The responses of the company's products (first `products` products of the catalogue)."""
    listing = (await http.get(f"/api/v1/companies/{company_id}/products?limit={products}",
                              headers=headers)).json()["items"]
    rows: list[dict[str, Any]] = []
    for product in listing:
        rows += (await http.get(f"/api/v1/products/{product['id']}/responses", headers=headers)).json()["items"]
    return rows


async def editable_text_item(http: httpx.AsyncClient, headers: dict[str, str],
                             company_id: int) -> tuple[int, str, Callable[[int], Any]]:
    """An editable response of the company with an unconditioned text question: (response id, item id, values)."""
    items = await questionnaire_items(http, headers)
    for row in await product_responses(http, headers, company_id, products=50):
        if row["status"] not in EDITABLE:
            continue
        for item in items.get(row["questionnaire_id"], []):
            generator = answer_for(item)
            if item["type"] == "text" and not item.get("enable_when") and generator is not None:
                return row["id"], str(item["id"]), generator
    raise SystemExit("No editable response with a text question in this company: simulate a market first.")

"""Hostile input is refused before any query with a clear 4xx, never a server error (issue 15, point 1)."""

from __future__ import annotations

import pytest

from convergence.core.inputs import MAX_INT, has_control_characters, json_depth, parse_int
from tests.factories import csrf, page_login, token_for


@pytest.mark.parametrize("raw, expected", [
    ("12", 12), (" 7 ", 7), (0, 0), (str(MAX_INT), MAX_INT), (str(MAX_INT + 1), None), ("²", None), ("٣", None),
    ("-1", None), ("1e3", None), ("", None), (None, None), (True, None), (-5, None), (2**70, None), ("12a", None),
])
def test_parse_int_takes_ascii_digits_within_64_bits(raw, expected):
    assert parse_int(raw) == expected


def test_control_characters_and_depth():
    assert has_control_characters("a\x00b") and has_control_characters("\x1b[31m") and has_control_characters("\x85")
    assert not has_control_characters("ligne 1\nligne 2\ttab\r\n — é ﬃ")
    assert json_depth(b'{"a": [1, {"b": "[[[[{{"}]}') == 3
    assert json_depth(b"[" * 1000 + b"]" * 1000) == 1000


async def test_hostile_values_answer_4xx_with_a_sentence(client, cast):
    manager = await token_for(client, cast.manager.email)
    huge = 2**64
    for path in (f"/api/v1/products/{huge}", f"/api/v1/responses/{huge}", f"/api/v1/companies/{huge}/members"):
        response = await client.get(path, headers=manager)
        assert response.status_code == 404 and response.json()["detail"], path
    nul_query = await client.get("/api/v1/faq", params={"q": "abc\x00def"})
    assert nul_query.status_code == 422 and nul_query.json()["code"] == "invalid_input"
    nul_body = await client.post(f"/api/v1/companies/{cast.company.id}/products", headers=manager, json={
        "name": "Doc\u0000Connect", "os": "iOS", "device": "Mobile", "edition": "", "version": "1", "kind": "base",
        "base_product_ids": []})
    assert nul_body.status_code == 422 and nul_body.json()["detail"]
    deep = await client.post(f"/api/v1/companies/{cast.company.id}/products", headers={
        **manager, "Content-Type": "application/json"}, content=b"[" * 1000 + b"]" * 1000)
    assert deep.status_code == 422 and deep.json()["code"] == "invalid_input"


async def test_hostile_form_values_are_refused_on_pages(client, cast):
    await page_login(client, cast.manager.email)
    refused = await client.post("/products/new", data={"_csrf": csrf(client), "name": "Doc\x00Connect"})
    assert refused.status_code in (400, 422) and "caractères" in refused.text
    huge = await client.get(f"/products/{2**64}")
    assert huge.status_code == 404


async def test_offsets_beyond_64_bits_are_refused(client, cast):
    support = await token_for(client, cast.support.email)
    response = await client.get("/api/v1/account-requests", params={"offset": str(2**64)}, headers=support)
    assert response.status_code in (400, 422) and response.json()["detail"]

"""Hostile input is refused before any query with a clear 4xx, never a server error (issue 15, point 1)."""

from __future__ import annotations

import pytest

from convergence.core.errors import Invalid
from convergence.core.inputs import (MAX_INT, TextProblem, clean_field, clean_text, has_control_characters, is_id,
                                     json_depth, parse_decimal, parse_int)
from convergence.questionnaires.engine import InvalidAnswer, coerce
from convergence.questionnaires.models import Item
from tests.factories import csrf, page_login, token_for


@pytest.mark.parametrize("raw, expected", [
    ("12", 12), (" 7 ", 7), (0, 0), (str(MAX_INT), MAX_INT), (str(MAX_INT + 1), None), ("²", None), ("٣", None),
    ("-1", None), ("1e3", None), ("", None), (None, None), (True, None), (-5, None), (2**70, None), ("12a", None),
])
def test_parse_int_takes_ascii_digits_within_64_bits(raw, expected):
    assert parse_int(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("12", 12.0), ("1,5", 1.5), (" -0.25 ", -0.25), ("1e3", 1000.0), (".5", 0.5), ("١٢", None), ("²", None),
    ("1_000", None), ("nan", None), ("inf", None), ("1e309", None), ("1" * 401, None), ("", None), (None, None),
])
def test_parse_decimal_takes_ascii_finite_numbers(raw, expected):
    assert parse_decimal(raw) == expected


def test_ids_are_integers_within_64_bits():
    assert is_id(0) and is_id(MAX_INT)
    assert not any(is_id(v) for v in (-1, MAX_INT + 1, True, 1.0, "1", None))


def test_clean_text_counts_after_normalisation():
    assert clean_text("e\u0301" * 120, max_len=120) == "é" * 120  # 240 code points typed, 120 stored
    with pytest.raises(TextProblem) as refused:
        clean_text("Doc\r\nConnect", max_len=120)
    assert refused.value.message == "This field must fit on one line." and not refused.value.too_long
    assert clean_text("ligne 1\r\nligne 2", max_len=120, multiline=True) == "ligne 1\r\nligne 2"
    with pytest.raises(Invalid) as field:
        clean_field("comment", "x" * 5001, max_len=5000, multiline=True, too_long_code="comment_too_long")
    assert field.value.code == "comment_too_long" and field.value.fields == {"comment": "This text is too long."}
    assert clean_field("comment", 42, max_len=10) == ""


@pytest.mark.parametrize("value", [10**400, -(10**400), 10**16, float("nan"), float("inf"), "12", True])
def test_number_answers_are_bounded_and_finite(value):
    """A 401-digit integer is compared exactly (never turned into a float: OverflowError), then refused."""
    item = Item(id=1, code="n", type="number", bounds={"min": 0, "integer": True}, options=[])
    with pytest.raises(InvalidAnswer) as refused:
        coerce(item, value)
    assert str(refused.value.message).endswith(".")
    assert coerce(item, 12) == 12 and coerce(item, 12.0) == 12


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


async def test_numbers_in_the_address_are_bounded_and_ascii(client, cast):
    """Typed page numbers beyond MAX_QUERY_INT are refused (their offset would overflow); an id written another
    way than its plain ASCII digits names nothing."""
    manager = await token_for(client, cast.manager.email)
    await page_login(client, cast.manager.email)
    for page in ("9" * 20, str(2**63 - 1), "1" * 401):
        refused = await client.get("/team/audit", params={"page": page})
        assert refused.status_code == 422, page
    assert (await client.get("/team/audit", params={"page": "3"})).status_code == 200
    created = await client.post(f"/api/v1/companies/{cast.company.id}/products", headers=manager, json={
        "name": "DocConnect", "os": "iOS", "device": "Mobile", "kind": "base"})
    product_id = created.json()["id"]
    assert (await client.get(f"/api/v1/products/{product_id}", headers=manager)).status_code == 200
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in str(product_id))  # int() reads it as the id
    for written in (f"+{product_id}", f"0{product_id}", f"%20{product_id}", arabic_indic):
        assert (await client.get(f"/api/v1/products/{written}", headers=manager)).status_code == 404, written


async def test_json_bodies_are_checked_whatever_their_declared_type(client, cast):
    manager = await token_for(client, cast.manager.email)
    url = f"/api/v1/companies/{cast.company.id}/products"
    for content_type in ("text/plain", ""):
        nul = await client.post(url, headers={**manager, "Content-Type": content_type},
                                content=b'{"name": "Doc\\u0000Connect"}')
        assert nul.status_code == 422 and nul.json()["code"] == "invalid_input", content_type
    big = await client.post(url, headers=manager, json={"name": "D", "description": "x" * 2**20})
    assert big.status_code == 413 and big.json()["detail"]
    many = await client.post(url, headers=manager, json={"base_product_ids": list(range(10_001))})
    assert many.status_code == 413
    for number in (2**63, -(2**63) - 1, 10**400):
        huge = await client.post(url, headers=manager, json={"name": "D", "base_product_ids": [number]})
        assert huge.status_code == 422 and huge.json()["code"] == "invalid_input", number

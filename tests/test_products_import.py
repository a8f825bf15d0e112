"""Bulk registration from CSV: dry-run preview, commit, all or nothing, limits, encodings, separators, rights."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from convergence.core.models import AuditEvent
from convergence.products.models import Product, product_base_link
from tests.factories import csrf, make_product, page_login, token_for

GOOD = (
    "name;os;os_other;device;edition;version;kind;base_products;commercial_name;description\n"
    "DocConnect;iOS;;Mobile;Pro;1.0;base;;DocConnect Patient;Téléconsultation\n"
    "DocConnect;Android;;Mobile;Pro;1.0;base;;;\n"
    "DocConnect;Other;KaiOS;Website;Pro;2.0;base;;;\n"
    "Agenda;iOS;;Mobile;;1.0;option;DocConnect iOS Mobile|DocConnect Android Mobile;;\n"
    "Rappels;iOS;;Website;;1.0;option;DocConnect KaiOS Website;;\"Rappels; SMS\"\n"
)


async def count(db: Any, model: Any, *where: Any) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def links(db: Any) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(product_base_link))


def url(cast: Any, dry_run: bool) -> str:
    return f"/api/v1/companies/{cast.company.id}/products/import?dry_run={'true' if dry_run else 'false'}"


async def send(client: Any, headers: dict[str, str], cast: Any, content: bytes | str, dry_run: bool) -> Any:
    body = content.encode("utf-8") if isinstance(content, str) else content
    return await client.post(url(cast, dry_run), content=body, headers={**headers, "Content-Type": "text/csv"})


@pytest.fixture
async def manager(client, cast):
    return await token_for(client, cast.manager.email)


async def test_dry_run_previews_and_writes_nothing(client, db, cast, manager):
    response = await send(client, manager, cast, "\ufeff" + GOOD, dry_run=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is True and body["valid"] is True and body["to_create"] == 5 and body["errors"] == []
    assert [line["line"] for line in body["lines"]] == [2, 3, 4, 5, 6]
    assert body["lines"][3]["display_name"] == "Agenda iOS Mobile"
    assert body["lines"][3]["base_products"] == ["DocConnect iOS Mobile Pro 1.0", "DocConnect Android Mobile Pro 1.0"]
    assert await count(db, Product) == 0


async def test_commit_registers_everything_with_links(client, db, cast, manager):
    response = await send(client, manager, cast, GOOD, dry_run=False)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] == 5 and len(body["items"]) == 5
    by_name = {p["display_name"]: p for p in body["items"]}
    assert by_name["DocConnect iOS Mobile"]["commercial_name"] == "DocConnect Patient"
    assert by_name["DocConnect KaiOS Website"]["os_other"] == "KaiOS"
    assert by_name["Rappels iOS Website"]["description"] == "Rappels; SMS"
    assert sorted(by_name["Agenda iOS Mobile"]["base_product_ids"]) == sorted(
        [by_name["DocConnect iOS Mobile"]["id"], by_name["DocConnect Android Mobile"]["id"]])
    assert all(p["created_by_id"] == cast.manager.id for p in body["items"])
    assert await count(db, Product) == 5 and await links(db) == 3
    assert await count(db, AuditEvent, AuditEvent.action == "product.created") == 5
    assert await count(db, AuditEvent, AuditEvent.action == "product.imported") == 1
    # Importing the same file again: every line is a duplicate, nothing more is written.
    again = await send(client, manager, cast, GOOD, dry_run=False)
    assert again.status_code == 422 and again.json()["code"] == "import_invalid"
    assert await count(db, Product) == 5


async def test_comma_separator_and_bases_that_already_exist(client, db, cast, manager):
    async with db() as session:
        await make_product(session, cast.company, cast.manager, name="MédiBox", os="Windows", device="Website")
        await session.commit()
    csv = ("name,os,device,kind,base_products,version\n"
           "Export,Windows,Website,option,MédiBox,1\n"
           "Export,Windows,Website,option,médibox windows website,2\n")
    response = await send(client, manager, cast, csv, dry_run=False)
    assert response.status_code == 201, response.text
    assert await count(db, Product) == 3 and await links(db) == 2


async def test_multipart_upload(client, db, cast, manager):
    response = await client.post(url(cast, False), headers=manager,
                                 files={"file": ("products.csv", GOOD.encode("utf-8"), "text/csv")})
    assert response.status_code == 201, response.text
    assert await count(db, Product) == 5
    missing = await client.post(url(cast, True), headers=manager, files={"other": ("x.csv", b"a", "text/csv")})
    assert missing.status_code == 422 and missing.json()["code"] == "import_no_file"


async def test_one_wrong_line_and_nothing_is_written(client, db, cast, manager):
    csv = GOOD + (
        "Vide;;;Mobile;;;base;;;\n"                          # line 7: no OS
        "Orpheline;iOS;;Mobile;;;option;;;\n"                # line 8: option without base
        "Fantôme;iOS;;Mobile;;;option;Inconnu;;\n"           # line 9: unknown base
        "DocConnect;ios;;mobile;pro;1.0;base;;;\n"           # line 10: duplicate of line 2
        "Socle;Linux;;Website;;;base;Agenda;;\n"             # line 11: a base does not extend
        "Drôle;iOS;;Tablet;;;base;;;\n"                      # line 12: bad device
        "Typo;iOS;;Mobile;;;addon;;;\n"                      # line 13: bad kind
    )
    preview = await send(client, manager, cast, csv, dry_run=True)
    assert preview.status_code == 200
    body = preview.json()
    assert body["valid"] is False and body["to_create"] == 0
    assert sorted({e["line"] for e in body["errors"]}) == [7, 8, 9, 10, 11, 12, 13]
    assert any("2" in e["detail"] for e in body["errors"] if e["line"] == 10)
    assert all(e["detail"] for e in body["errors"])
    committed = await send(client, manager, cast, csv, dry_run=False)
    assert committed.status_code == 422
    assert committed.json()["code"] == "import_invalid"
    assert sorted({e["line"] for e in committed.json()["errors"]}) == [7, 8, 9, 10, 11, 12, 13]
    assert await count(db, Product) == 0 and await links(db) == 0
    assert await count(db, AuditEvent, AuditEvent.action.like("product.%")) == 0


async def test_line_numbers_count_quoted_multiline_values(client, cast, manager):
    csv = ('name,os,device,description\n'
           'Un,iOS,Mobile,"deux\nlignes"\n'
           'Deux,BeOS,Mobile,\n')
    body = (await send(client, manager, cast, csv, dry_run=True)).json()
    assert [line["line"] for line in body["lines"]] == [2, 4]
    assert [e["line"] for e in body["errors"]] == [4]


async def test_ambiguous_base_names_are_refused(client, db, cast, manager):
    csv = ("name,os,device,kind,base_products\n"
           "DocConnect,iOS,Mobile,base,\n"
           "DocConnect,Android,Mobile,base,\n"
           "Agenda,iOS,Mobile,option,DocConnect\n")
    body = (await send(client, manager, cast, csv, dry_run=True)).json()
    assert [e["line"] for e in body["errors"]] == [4]
    assert "DocConnect iOS Mobile" in body["errors"][0]["detail"]


@pytest.mark.parametrize(("content", "code"), [
    (b"", "import_empty"),
    (b"\n\n", "import_empty"),
    (b"name;os;device\n", "import_empty"),
    ("name;os;device\nCaf\u00e9;iOS;Mobile\n".encode("latin-1"), "import_bad_encoding"),
    (b"nom;systeme;support\nX;iOS;Mobile\n", "import_bad_header"),
    (b"name;os;device;colour\nX;iOS;Mobile;red\n", "import_bad_header"),
    (b"name;os\nX;iOS\n", "import_bad_header"),
    (b"name;os;device\n" + b"X;iOS;Mobile;" + b"x" * (2 * 1024 * 1024) + b"\n", "import_too_large"),
    (b"name;os;device\n" + b"".join(b"P%d;iOS;Mobile\n" % i for i in range(5001)), "import_too_many_lines"),
])
async def test_files_that_cannot_be_imported_are_a_clear_422(client, db, cast, manager, content, code):
    for dry_run in (True, False):
        response = await send(client, manager, cast, content, dry_run=dry_run)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
        assert response.json()["detail"].endswith(".")
    assert await count(db, Product) == 0


async def test_control_characters_are_a_line_error_not_a_500(client, db, cast, manager):
    content = b"name;os;device\nX\x00;iOS;Mobile\nY;iOS;Mobile\n"
    preview = await send(client, manager, cast, content, dry_run=True)
    assert preview.status_code == 200 and [e["line"] for e in preview.json()["errors"]] == [2]
    committed = await send(client, manager, cast, content, dry_run=False)
    assert committed.status_code == 422 and committed.json()["code"] == "import_invalid"
    api = await client.post(f"/api/v1/companies/{cast.company.id}/products", headers=manager,
                            json={"name": "X\x00", "os": "iOS", "device": "Mobile"})
    assert api.status_code == 422 and api.json()["code"] == "invalid_input"
    assert await count(db, Product) == 0


async def test_five_thousand_lines_are_accepted(client, db, cast, manager):
    content = "name,os,device,version\n" + "".join(f"Produit,iOS,Mobile,{i}\n" for i in range(5000))
    response = await send(client, manager, cast, content, dry_run=True)
    assert response.status_code == 200 and response.json()["to_create"] == 5000


async def test_import_rights(client, db, cast):
    for who in ("support", "reviewer"):
        headers = await token_for(client, getattr(cast, who).email)
        assert (await send(client, headers, cast, GOOD, dry_run=True)).status_code == 403
    outsider = await token_for(client, cast.outsider.email)
    response = await send(client, outsider, cast, GOOD, dry_run=False)
    assert response.status_code == 404
    # A contributor imports into their company and cannot reference bases they cannot see.
    async with db() as session:
        await make_product(session, cast.company, cast.manager, name="Caché")
        await session.commit()
    contributor = await token_for(client, cast.contributor.email)
    hidden = await send(client, contributor, cast, "name,os,device,kind,base_products\nX,iOS,Mobile,option,Caché\n",
                        dry_run=True)
    assert hidden.status_code == 200 and [e["line"] for e in hidden.json()["errors"]] == [2]
    ok = await send(client, contributor, cast, GOOD, dry_run=False)
    assert ok.status_code == 201
    assert all(p["created_by_id"] == cast.contributor.id for p in ok.json()["items"])
    assert await count(db, Product) == 6


async def test_import_page_preview_then_commit(client, db, cast):
    await page_login(client, cast.manager.email)
    form = await client.get("/products/import")
    assert form.status_code == 200 and 'type="file"' in form.text
    preview = await client.post("/products/import", data={"_csrf": csrf(client), "action": "preview"},
                                files={"file": ("products.csv", GOOD.encode("utf-8"), "text/csv")})
    assert preview.status_code == 200, preview.text
    assert "Agenda iOS Mobile" in preview.text and 'value="commit"' in preview.text
    assert await count(db, Product) == 0
    # The previewed content travels with the form: registering needs no second upload.
    committed = await client.post("/products/import", data={"_csrf": csrf(client), "action": "commit",
                                                            "csv_text": GOOD},
                                  files={"file": ("", b"", "application/octet-stream")})
    assert committed.status_code == 201, committed.text
    assert "5 produits enregistrés" in committed.text
    assert await count(db, Product) == 5


async def test_import_page_shows_line_errors_and_writes_nothing(client, db, cast):
    await page_login(client, cast.manager.email)
    bad = GOOD + "Orpheline;iOS;;Mobile;;;option;;;\n"
    preview = await client.post("/products/import", data={"_csrf": csrf(client), "action": "preview"},
                                files={"file": ("products.csv", bad.encode("utf-8"), "text/csv")})
    assert preview.status_code == 200
    assert "Ligne 7" in preview.text and 'value="commit"' not in preview.text
    committed = await client.post("/products/import", data={"_csrf": csrf(client), "action": "commit"},
                                  files={"file": ("products.csv", bad.encode("utf-8"), "text/csv")})
    assert committed.status_code == 422 and "Ligne 7" in committed.text
    too_big = await client.post("/products/import", data={"_csrf": csrf(client), "action": "preview"},
                                files={"file": ("big.csv", b"name,os,device\n" + b"x" * (2 * 1024 * 1024), "text/csv")})
    assert too_big.status_code == 422 and "2 Mo" in too_big.text
    nothing = await client.post("/products/import", data={"_csrf": csrf(client), "action": "preview"},
                                files={"file": ("", b"", "application/octet-stream")})
    assert nothing.status_code == 422
    no_csrf = await client.post("/products/import", data={"action": "commit"},
                                files={"file": ("products.csv", GOOD.encode("utf-8"), "text/csv")})
    assert no_csrf.status_code == 403
    assert await count(db, Product) == 0

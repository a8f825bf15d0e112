"""The work list (a vendor's home page), progress per product step, the links to the questionnaires, the
breadcrumbs and the navigation to the global strategy."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, select

from convergence.companies.team_models import MemberRight
from convergence.identity.context import Context
from convergence.core.db import unit_of_work
from convergence.accounts.models import User
from convergence.questionnaires import engine
from convergence.questionnaires.models import Response
from convergence.questionnaires.worklist import Progress, WorklistService, progress_of
from tests.factories import csrf, page_login, token_for
from tests.test_questionnaires import complete_answers, content, items_of, make_product, step_id  # noqa: F401


async def enrolled_response(client: Any, db: Any, headers: dict, product_id: int,
                            step: str = "doctrine-socles") -> dict[str, Any]:
    """Adds a step to the product's steps (keeping the others) and returns the step's first response."""
    current = (await client.get(f"/api/v1/products/{product_id}/responses", headers=headers)).json()["items"]
    ids = {r["step_id"] for r in current}
    wanted = await step_id(db, step)
    enrolled = await client.put(f"/api/v1/products/{product_id}/steps", json={"step_ids": sorted({*ids, wanted})},
                                headers=headers)
    assert enrolled.status_code == 200, enrolled.text
    rows = (await client.get(f"/api/v1/products/{product_id}/responses", headers=headers)).json()["items"]
    return next(r for r in rows if r["step_id"] == wanted)


async def grant(db: Any, cast: Any, product_id: int | None, level: str) -> None:
    async with unit_of_work(db) as session:
        session.add(MemberRight(company_id=cast.company.id, user_id=cast.contributor.id, product_id=product_id,
                                level=level))


async def save(client: Any, headers: dict, response_id: int, answers: dict) -> dict:
    version = (await client.get(f"/api/v1/responses/{response_id}", headers=headers)).json()["version"]
    saved = await client.patch(f"/api/v1/responses/{response_id}/answers",
                               json={"version": version, "answers": answers}, headers=headers)
    assert saved.status_code == 200, saved.text
    return saved.json()


async def test_progress_counts_required_questions_asked(db, cast, content):  # noqa: F811
    async with db() as session:
        response = (await session.scalars(select(Response).where(Response.product_id.is_(None)))).first()
        items = response.questionnaire.items
        assert progress_of(response) == Progress(0, sum(1 for i in items if i.required and not i.enable_when))
        answers = complete_answers(items)
        response.answers = answers
        by_code = {i.code: i for i in items}
        required = [i for i in items if i.required and engine.is_enabled(i, answers, by_code)]
        assert progress_of(response) == Progress(len(required), len(required))
        assert progress_of(response).complete and progress_of(response).percent == 100.0
        # One required answer removed: one fewer done, as the submission would count it.
        first = str(required[0].id)
        response.answers = {k: v for k, v in answers.items() if k != first}
        assert progress_of(response) == Progress(len(required) - 1, len(required))


async def test_manager_home_is_the_work_list(client, db, cast, content):  # noqa: F811
    manager = await token_for(client, cast.manager.email)
    first = await make_product(db, cast.company.id, "Dossier Patient")
    second = await make_product(db, cast.company.id, "Suivi Tensionnel")
    draft = await enrolled_response(client, db, manager, first)
    submitted = await enrolled_response(client, db, manager, second, "doctrine-telesoin")
    items = await items_of(db, submitted["id"])
    await save(client, manager, submitted["id"], complete_answers(items))
    assert (await client.post(f"/api/v1/responses/{submitted['id']}/submit", headers=manager)).status_code == 200
    returned = await enrolled_response(client, db, manager, second, "doctrine-teleexpertise")
    await save(client, manager, returned["id"], complete_answers(await items_of(db, returned["id"])))
    assert (await client.post(f"/api/v1/responses/{returned['id']}/submit", headers=manager)).status_code == 200
    back = await client.post(f"/api/v1/responses/{returned['id']}/return", headers=manager,
                             json={"comment": "Précisez le délai de réponse."})
    assert back.status_code == 200, back.text

    await page_login(client, cast.manager.email)
    home = await client.get("/")
    assert home.status_code == 200
    text = home.text
    assert "Dossier Patient Windows Website" in text and "Suivi Tensionnel Windows Website" in text
    for response in (draft, submitted, returned):
        assert f'href="/responses/{response["id"]}"' in text
    # The sections: what came back with its comment and who sent it back, what awaits validation.
    returned_section = text.split('id="returned-title"')[1].split("</section>")[0]
    assert "Précisez le délai de réponse." in returned_section and f"/responses/{returned['id']}" in returned_section
    assert "Renvoyé par Manager" in returned_section and "heure de Paris" in returned_section
    validation_section = text.split('id="validation-title"')[1].split("</section>")[0]
    assert f"/responses/{submitted['id']}" in validation_section
    assert f"/responses/{draft['id']}" not in validation_section
    # Grouped by product then step, with the step's anchor on the product's questionnaires page.
    assert f'href="/products/{second}/questionnaires#step-doctrine-telesoin"' in text
    required = sum(1 for i in await items_of(db, draft["id"]) if i.required and not i.enable_when)
    assert f"0 réponses obligatoires sur {required}" in text
    # The global strategy is in the list, first.
    assert text.index('href="/strategy"') < text.index("Dossier Patient Windows Website")


async def test_contributor_sees_only_work_their_rights_allow(client, db, cast, content):  # noqa: F811
    manager = await token_for(client, cast.manager.email)
    editable = await make_product(db, cast.company.id, "Dossier Patient")
    readable = await make_product(db, cast.company.id, "Imagerie Partagée")
    hidden = await make_product(db, cast.company.id, "Paie Hospitalière")
    validated_here = await make_product(db, cast.company.id, "Suivi Tensionnel")
    edit_response = await enrolled_response(client, db, manager, editable)
    read_response = await enrolled_response(client, db, manager, readable)
    hidden_response = await enrolled_response(client, db, manager, hidden)
    to_validate = await enrolled_response(client, db, manager, validated_here, "doctrine-telesoin")
    await save(client, manager, to_validate["id"], complete_answers(await items_of(db, to_validate["id"])))
    assert (await client.post(f"/api/v1/responses/{to_validate['id']}/submit", headers=manager)).status_code == 200
    submitted_edit = await enrolled_response(client, db, manager, editable, "doctrine-telesoin")
    await save(client, manager, submitted_edit["id"], complete_answers(await items_of(db, submitted_edit["id"])))
    assert (await client.post(f"/api/v1/responses/{submitted_edit['id']}/submit",
                              headers=manager)).status_code == 200
    await grant(db, cast, editable, "edit")
    await grant(db, cast, readable, "read")
    await grant(db, cast, validated_here, "validate")

    await page_login(client, cast.contributor.email)
    text = (await client.get("/")).text
    assert f'href="/responses/{edit_response["id"]}"' in text
    assert f'href="/responses/{read_response["id"]}"' not in text  # read only: nothing to do
    assert f'href="/responses/{hidden_response["id"]}"' not in text and "Paie Hospitalière" not in text
    assert f'href="/responses/{submitted_edit["id"]}"' not in text  # submitted, and not theirs to validate
    validation_section = text.split('id="validation-title"')[1].split("</section>")[0]
    assert f"/responses/{to_validate['id']}" in validation_section
    # No right on the global strategy: neither in the list nor in the navigation.
    assert 'href="/strategy"' not in text

    await grant(db, cast, None, "edit")
    for path in ("/", "/products"):
        page = (await client.get(path)).text
        assert re.search(r'<nav aria-label="[^"]+">.*href="/strategy"', page, re.S), path


async def test_work_list_reads_in_a_bounded_number_of_statements(settings, client, db, cast, content):  # noqa: F811
    manager = await token_for(client, cast.manager.email)

    async def count_statements() -> int:
        statements: list[str] = []
        async with db() as session:
            bind = session.bind
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(bind.sync_engine, "before_cursor_execute", listener)
            try:
                user = await session.get(User, cast.contributor.id)
                statements.clear()
                work = await WorklistService(Context(session=session, settings=settings, actor=user)).for_actor()
                assert work.groups
            finally:
                event.remove(bind.sync_engine, "before_cursor_execute", listener)
        return len(statements)

    product = await make_product(db, cast.company.id, "Produit 0")
    await enrolled_response(client, db, manager, product)
    await grant(db, cast, product, "validate")
    one = await count_statements()
    for number in range(1, 6):
        product = await make_product(db, cast.company.id, f"Produit {number}")
        response = await enrolled_response(client, db, manager, product, "doctrine-telesoin")
        await save(client, manager, response["id"], complete_answers(await items_of(db, response["id"])))
        await client.post(f"/api/v1/responses/{response['id']}/submit", headers=manager)
        await client.post(f"/api/v1/responses/{response['id']}/return", headers=manager, json={"comment": "Non."})
        await grant(db, cast, product, "validate")
    assert await count_statements() <= one + 3  # returned comments add their events and authors, once


async def test_product_pages_link_each_step_with_its_progress(client, db, cast, content):  # noqa: F811
    manager = await token_for(client, cast.manager.email)
    product = await make_product(db, cast.company.id, "Dossier Patient")
    response = await enrolled_response(client, db, manager, product)
    await page_login(client, cast.manager.email)

    listing = (await client.get("/products")).text
    assert f'href="/products/{product}/questionnaires#step-doctrine-socles"' in listing
    assert "Non commencé" in listing and re.search(r"0/\d+ réponses obligatoires", listing)
    assert re.search(r'<a href="/products"[^>]*aria-current="page"', listing)

    detail = (await client.get(f"/products/{product}")).text
    assert f'href="/products/{product}/questionnaires#step-doctrine-socles"' in detail
    assert f'href="/products/{product}/questionnaires"' in detail
    crumbs = detail.split('class="breadcrumbs"')[1].split("</nav>")[0]
    assert 'href="/products"' in crumbs and '<span aria-current="page">Dossier Patient Windows Website</span>' in crumbs

    page = (await client.get(f"/products/{product}/questionnaires")).text
    assert 'id="step-doctrine-socles"' in page and f'href="/responses/{response["id"]}"' in page
    crumbs = page.split('class="breadcrumbs"')[1].split("</nav>")[0]
    assert f'href="/products/{product}"' in crumbs and 'aria-current="page">Questionnaires<' in crumbs
    assert "Fil d&#39;Ariane" in page or "Fil d'Ariane" in page

    edit = (await client.get(f"/products/{product}/edit")).text
    assert 'class="breadcrumbs"' in edit and f'href="/products/{product}"' in edit.split("</nav>")[1]

    # In English too.
    await client.post("/lang", data={"lang": "en", "next": "/", "_csrf": csrf(client)})
    english = (await client.get(f"/products/{product}")).text
    assert 'aria-label="Breadcrumb"' in english and "Open the questionnaires" in english


async def test_support_home_is_unchanged(client, cast):
    await page_login(client, cast.support.email)
    home = (await client.get("/")).text
    assert 'href="/support/requests"' in home and "returned-title" not in home and "work-title" not in home

"""The ANS FAQ as contextual help: fixture load, search and filters, feedback, help by place, the API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from convergence.core.db import unit_of_work
from convergence.core.models import AuditEvent
from convergence.faq.fixtures import load_faq
from convergence.faq.models import FaqEntry, FaqFeedback, FaqTag
from tests.factories import csrf, page_login, token_for

ROLES = "convergence-user-roles"
REGISTRATION = "convergence-registration"
SEGMENTATION = "convergence-product-segmentation"
BASE_OPTION = "convergence-base-and-option-products"
WORKING_METHOD = "convergence-working-method"
KEYS = {"id", "slug", "question", "question_fr", "question_en", "answer", "answer_lang", "answer_fr", "answer_en",
        "answer_fr_translated", "theme", "facets", "places"}
TRANSLATION_NOTE = "Réponse traduite par le projet à partir de la FAQ de l'ANS"
FACETS = {"offer_type", "segur_corridor", "segur_scheme", "product_or_service", "topic"}
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
async def faq(settings, db) -> int:
    async with unit_of_work(db) as session:
        return await load_faq(settings, session)


async def count(db: Any, model: Any, *where: Any) -> int:
    async with db() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def entry(db: Any, slug: str) -> FaqEntry:
    async with db() as session:
        return await session.scalar(select(FaqEntry).where(FaqEntry.slug == slug))


async def slugs(client: Any, **params: str) -> list[str]:
    response = await client.get("/api/v1/faq", params={"limit": "200", **params})
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["items"]]


# ------------------------------------------------------------------------------------------ fixtures

async def test_fixture_loads_21_answers_once(settings, db, faq):
    assert faq == 21
    assert await count(db, FaqEntry) == 21
    tags = await count(db, FaqTag)
    async with unit_of_work(db) as session:
        assert await load_faq(settings, session) == 0
    assert await count(db, FaqEntry) == 21
    assert await count(db, FaqTag) == tags


async def test_reload_repairs_edited_answers_and_keeps_votes(client, settings, db):
    roles = await entry(db, ROLES)
    assert (await client.post(f"/api/v1/faq/{roles.id}/feedback", json={"useful": True})).status_code == 204
    async with unit_of_work(db) as session:
        await session.execute(update(FaqEntry).where(FaqEntry.id == roles.id).values(
            question_en="Edited", answer_fr="Modifiée", answer_fr_translated=False))
        await session.execute(FaqTag.__table__.delete().where(FaqTag.entry_id == roles.id, FaqTag.kind == "place"))
    async with unit_of_work(db) as session:
        assert await load_faq(settings, session) == 0
    again = await entry(db, ROLES)
    assert again.question_en.startswith("What user profiles") and again.places == ["team", "account_request",
                                                                                    "questionnaires"]
    assert again.answer_fr.startswith("La plateforme Convergence distingue") and again.answer_fr_translated
    assert await count(db, FaqFeedback, FaqFeedback.entry_id == roles.id) == 1
    # The search index follows the edit back (SQLite triggers / PostgreSQL expression index).
    assert await slugs(client, q="profiles") == [ROLES]
    assert await slugs(client, q="brouillons") == [ROLES]


async def test_every_answer_is_in_both_languages_and_the_french_one_is_marked_translated(db):
    async with db() as session:
        entries = (await session.scalars(select(FaqEntry))).all()
    assert len(entries) == 21
    for e in entries:
        assert e.answer_en.strip() and e.answer_fr.strip() and e.answer_fr != e.answer_en, e.slug
        assert e.answer_fr_translated and e.translated("fr") and not e.translated("en")
        assert e.answer("fr") == e.answer_fr and e.answer("en") == e.answer_en
    roles = next(e for e in entries if e.slug == ROLES)
    assert roles.answer_en.startswith("There are two main user profiles on the Convergence platform:")
    assert "- Gestionnaire : il s'agit soit du mandataire social" in roles.answer_fr


async def test_an_answer_without_french_text_shows_the_english_original(db):
    async with unit_of_work(db) as session:
        await session.execute(update(FaqEntry).where(FaqEntry.slug == ROLES).values(answer_fr=""))
    roles = await entry(db, ROLES)
    assert roles.answer_lang("fr") == "en" and roles.answer("fr") == roles.answer_en
    assert not roles.translated("fr")


async def test_cli_fixtures_load_includes_the_faq(settings, db):
    from convergence.fixtures import loaders

    assert "faq" in loaders()


# -------------------------------------------------------------------------------------------- search

async def test_search_stems_english_words(client):
    found = await slugs(client, q="contributors")
    assert found and found[0] == ROLES
    assert ROLES in await slugs(client, q="Contributor")


@pytest.mark.parametrize(("word", "slug"), [("inscrire", REGISTRATION), ("profils", ROLES),
                                            ("découper", SEGMENTATION)])
async def test_search_finds_french_question_titles(client, word, slug):
    assert slug in await slugs(client, q=word)


@pytest.mark.parametrize(("query", "expected"), [
    ("brouillons", [ROLES]),  # only in the French answer ("drafts" in the English one)
    ("brouillon", [ROLES]),  # stemmed
    ("mandataire social", [ROLES]),
    ("kinésithérapeutes", ["annuaire-sante-listed-professions"]),
    ("sauvegarde données", ["hds-eligible-hosting-activities"]),
])
async def test_search_finds_french_words_of_the_french_answers(client, query, expected):
    assert await slugs(client, q=query) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("kinesitherapeutes", ["annuaire-sante-listed-professions"]),  # typed without its accents
    ("sauvegarde donnees", ["hds-eligible-hosting-activities"]),
    ("KINÉSITHÉRAPEUTES", ["annuaire-sante-listed-professions"]),  # capitals, accents kept
])
async def test_search_folds_accents_on_both_databases(client, query, expected):
    assert await slugs(client, q=query) == expected


async def test_french_search_on_the_french_page(client):
    page = await client.get("/faq", params={"q": "brouillons"})
    assert page.status_code == 200 and "1 réponse" in page.text and f'id="{ROLES}"' in page.text
    assert "peuvent seulement enregistrer des brouillons" in page.text


async def test_search_needs_every_word(client):
    assert await slugs(client, q="contributors questionnaires") == [ROLES]
    assert await slugs(client, q="contributors hosting") == []


async def test_no_result_is_an_empty_list_and_a_friendly_page(client):
    response = await client.get("/api/v1/faq", params={"q": "xylophone"})
    assert response.status_code == 200 and response.json() == {"items": [], "total": 0}
    page = await client.get("/faq", params={"q": "xylophone"})
    assert page.status_code == 200
    assert "Aucune réponse ne correspond à votre recherche" in page.text
    assert "0 réponse" in page.text


@pytest.mark.parametrize("query", ['"', "AND OR NOT", "NEAR(a b)", "col:x*", "^-+", "'; DROP TABLE faq_entry; --",
                                   "é" * 500, "   "])
async def test_search_syntax_is_never_an_error(client, query):
    response = await client.get("/api/v1/faq", params={"q": query})
    assert response.status_code == 200
    assert (await client.get("/faq", params={"q": query})).status_code == 200


# ------------------------------------------------------------------------------------------- filters

async def test_theme_and_facet_filters(client):
    hds = await slugs(client, theme="HDS")
    assert len(hds) == 3 and all(s.startswith("hds-") for s in hds)
    assert set(await slugs(client, topic="Produits")) == {SEGMENTATION, BASE_OPTION}
    assert set(await slugs(client, offer_type="Organisme certificateur")) == {
        "hds-certification-body-accreditation-rules", "hds-certification-audit-process"}
    assert set(await slugs(client, product_or_service="Mon Espace Santé")) == {
        SEGMENTATION, "convergence-tracks-and-steps"}
    assert await slugs(client, theme="Convergence", topic="Produits", product_or_service="Mon Espace Santé") == [
        SEGMENTATION]
    assert await slugs(client, segur_corridor="anything") == []
    assert await slugs(client, theme="No such theme") == []


async def test_filters_combine_with_search(client):
    assert set(await slugs(client, q="certification", offer_type="Organisme certificateur")) == {
        "hds-certification-body-accreditation-rules", "hds-certification-audit-process"}
    assert await slugs(client, q="contributors", theme="Convergence") == [ROLES]
    assert await slugs(client, q="contributors", theme="HDS") == []
    assert set(await slugs(client, q="product", place="products")) == {SEGMENTATION, BASE_OPTION}


async def test_place_filter(client):
    assert set(await slugs(client, place="products")) == {SEGMENTATION, BASE_OPTION}
    assert set(await slugs(client, place="team")) == {ROLES, WORKING_METHOD}
    assert await slugs(client, place="nowhere") == []


async def test_faq_page_lists_searches_and_filters(client):
    page = await client.get("/faq")
    assert page.status_code == 200
    assert "Foire aux questions" in page.text and "21 réponses" in page.text
    assert "Cette réponse vous a-t-elle été utile ?" in page.text
    assert f'id="{ROLES}"' in page.text
    assert "Quels sont les profils d&#39;utilisateur" in page.text  # French title on a French page
    filtered = await client.get("/faq", params={"q": "certification", "theme": "HDS", "topic": "Accréditation"})
    assert filtered.status_code == 200
    assert "1 réponse" in filtered.text and 'id="hds-certification-body-accreditation-rules"' in filtered.text
    assert f'id="{ROLES}"' not in filtered.text
    placed = await client.get("/faq", params={"place": "products"})
    assert "2 réponses" in placed.text and f'id="{SEGMENTATION}"' in placed.text
    assert 'name="place" value="products"' in placed.text  # the search form keeps the place


async def test_faq_page_htmx_gets_the_results_only(client):
    response = await client.get("/faq", params={"q": "contributors"}, headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="faq-results"') and "<html" not in response.text
    assert f'id="{ROLES}"' in response.text


async def test_faq_page_in_english_shows_english_titles(client):
    client.cookies.set("cv_lang", "en")
    page = await client.get("/faq", params={"q": "contributors"})
    assert "What user profiles exist on the Convergence platform" in page.text
    assert "Was this answer useful?" in page.text


def _article(html: str, slug: str) -> str:
    return html.split(f'id="{slug}"')[1].split("</article>")[0]


async def test_french_page_shows_the_french_answer_and_the_translation_note(client):
    page = await client.get("/faq")
    assert page.text.count(TRANSLATION_NOTE) == 21
    roles = _article(page.text, ROLES)
    assert '<div class="answer" lang="fr">' in roles
    assert "<p>La plateforme Convergence distingue deux principaux profils d'utilisateur :</p>" in roles
    assert "<li>Contributeur : il peut créer des comptes pour d'autres contributeurs" in roles
    assert TRANSLATION_NOTE in roles.split('class="answer"')[1]  # under the answer
    assert "There are two main user profiles" not in roles and "Contributor: authorized" not in roles


async def test_english_page_shows_the_english_original_without_the_note(client):
    client.cookies.set("cv_lang", "en")
    page = await client.get("/faq")
    roles = _article(page.text, ROLES)
    assert '<div class="answer" lang="en">' in roles
    assert "<p>There are two main user profiles on the Convergence platform:</p>" in roles
    assert "<li>Contributor: authorized to create accounts for other contributors" in roles
    assert "La plateforme Convergence distingue" not in roles
    assert "Réponse traduite par le projet" not in page.text and "translated by the project" not in page.text


async def test_answers_are_markdown_paragraphs_and_lists(client):
    page = await client.get("/faq", params={"place": "products"})
    segmentation = _article(page.text, SEGMENTATION)
    assert segmentation.count("<p>") == 4 and segmentation.count("<li>") == 2 and "<ul>" in segmentation
    cert = _article((await client.get("/faq", params={"theme": "CERT Santé"})).text,
                    "cert-sante-opening-hours-contact")
    assert "<p>+33 (0)9 72 43 91 25</p>" in cert  # one line of the address per paragraph, as the source


# ------------------------------------------------------------------------------------------ feedback

async def test_anonymous_api_feedback_is_counted_and_audited(client, db):
    roles = await entry(db, ROLES)
    for useful in (True, True, False):
        response = await client.post(f"/api/v1/faq/{roles.id}/feedback", json={"useful": useful})
        assert response.status_code == 204 and response.content == b""
    assert await count(db, FaqFeedback, FaqFeedback.entry_id == roles.id, FaqFeedback.useful.is_(True)) == 2
    assert await count(db, FaqFeedback, FaqFeedback.entry_id == roles.id, FaqFeedback.useful.is_(False)) == 1
    async with db() as session:
        events = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "faq.feedback"))).all()
    assert len(events) == 3
    assert all(e.actor_id is None and e.target_type == "faq_entry" and e.target_id == roles.id for e in events)
    assert [e.data["useful"] for e in events] == [True, True, False]


async def test_signed_in_feedback_names_the_actor(client, db, cast):
    roles = await entry(db, ROLES)
    headers = await token_for(client, cast.contributor.email)
    assert (await client.post(f"/api/v1/faq/{roles.id}/feedback", json={"useful": False},
                              headers=headers)).status_code == 204
    async with db() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "faq.feedback"))
        vote = await session.scalar(select(FaqFeedback))
    assert event.actor_id == cast.contributor.id and event.company_id == cast.company.id
    assert vote.user_id == cast.contributor.id and vote.useful is False


@pytest.mark.parametrize("body", [{"useful": "yes"}, {"useful": 1}, {"useful": None}, {}, {"useful": [True]}])
async def test_feedback_must_be_a_boolean(client, db, body):
    roles = await entry(db, ROLES)
    response = await client.post(f"/api/v1/faq/{roles.id}/feedback", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input" and response.json()["detail"].endswith(".")
    assert await count(db, FaqFeedback) == 0
    assert await count(db, AuditEvent, AuditEvent.action == "faq.feedback") == 0


async def test_feedback_body_must_be_an_object(client, db):
    roles = await entry(db, ROLES)
    response = await client.post(f"/api/v1/faq/{roles.id}/feedback", json=[True])
    assert response.status_code == 422
    assert await count(db, FaqFeedback) == 0


async def test_feedback_on_unknown_answer_is_404(client, db):
    response = await client.post("/api/v1/faq/999999/feedback", json={"useful": True})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert await count(db, FaqFeedback) == 0
    page = await client.get("/faq")
    form = await client.post("/faq/999999/feedback", data={"useful": "yes", "_csrf": csrf(client)})
    assert page.status_code == 200 and form.status_code == 404
    assert await count(db, FaqFeedback) == 0


async def test_htmx_feedback_swaps_a_thank_you(client, db):
    roles = await entry(db, ROLES)
    await client.get("/faq")
    response = await client.post(f"/faq/{roles.id}/feedback", data={"useful": "yes"},
                                 headers={**HTMX, "X-CSRF-Token": csrf(client)})
    assert response.status_code == 200
    assert "Merci pour votre avis." in response.text and f'id="feedback-{roles.id}"' in response.text
    assert "<html" not in response.text
    assert await count(db, FaqFeedback, FaqFeedback.useful.is_(True)) == 1


async def test_form_feedback_without_js_redirects_to_the_answer(client, db):
    roles = await entry(db, ROLES)
    await client.get("/faq")
    response = await client.post(f"/faq/{roles.id}/feedback", data={"useful": "no", "_csrf": csrf(client)})
    assert response.status_code == 303
    assert response.headers["location"] == f"/faq?thanks={roles.id}#{ROLES}"
    assert await count(db, FaqFeedback, FaqFeedback.useful.is_(False)) == 1
    page = await client.get(response.headers["location"])
    assert "Merci pour votre avis." in page.text


async def test_form_feedback_refuses_bad_values_and_missing_csrf(client, db):
    roles = await entry(db, ROLES)
    await client.get("/faq")
    bad = await client.post(f"/faq/{roles.id}/feedback", data={"useful": "maybe"},
                            headers={**HTMX, "X-CSRF-Token": csrf(client)})
    assert bad.status_code == 422 and "Indiquez si la réponse vous a été utile" in bad.text
    plain = await client.post(f"/faq/{roles.id}/feedback", data={"_csrf": csrf(client)})
    assert plain.status_code == 422
    forged = await client.post(f"/faq/{roles.id}/feedback", data={"useful": "yes"})
    assert forged.status_code == 403
    assert await count(db, FaqFeedback) == 0


async def test_support_sees_the_counts(client, db, cast):
    roles = await entry(db, ROLES)
    hds = await entry(db, "hds-eligible-hosting-activities")
    for entry_id, useful in ((roles.id, True), (roles.id, True), (roles.id, False), (hds.id, False)):
        assert (await client.post(f"/api/v1/faq/{entry_id}/feedback", json={"useful": useful})).status_code == 204
    await page_login(client, cast.support.email)
    page = await client.get("/support/faq-feedback")
    assert page.status_code == 200 and "Avis sur la FAQ" in page.text
    row = page.text.split(f'id="count-{ROLES}"')[1].split("</tr>")[0]
    assert '<td class="useful">2</td>' in row and '<td class="not-useful">1</td>' in row
    row = page.text.split('id="count-hds-eligible-hosting-activities"')[1].split("</tr>")[0]
    assert '<td class="useful">0</td>' in row and '<td class="not-useful">1</td>' in row


@pytest.mark.parametrize("who", ["manager", "contributor", "reviewer"])
async def test_feedback_counts_are_for_support_only(client, cast, who):
    await page_login(client, getattr(cast, who).email)
    assert (await client.get("/support/faq-feedback")).status_code == 403


async def test_feedback_counts_need_a_sign_in(client):
    response = await client.get("/support/faq-feedback")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# ------------------------------------------------------------------------------------ contextual help

@pytest.mark.parametrize(("place", "expected", "absent"), [
    ("account_request", [REGISTRATION, ROLES], SEGMENTATION),
    ("products", [SEGMENTATION, BASE_OPTION], ROLES),
    ("team", [ROLES, WORKING_METHOD], SEGMENTATION),
    ("theme:hds", ["hds-eligible-hosting-activities"], ROLES),
])
async def test_help_partial_lists_the_answers_of_a_place(client, db, place, expected, absent):
    response = await client.get(f"/faq/help/{place}", headers=HTMX)
    assert response.status_code == 200 and "<html" not in response.text
    for slug in expected:
        linked = await entry(db, slug)
        assert linked.question_fr.replace("'", "&#39;") in response.text
        assert f"#{slug}\"" in response.text
    assert (await entry(db, absent)).question_fr.replace("'", "&#39;") not in response.text
    assert "Aide" in response.text


async def test_help_partial_follows_the_ui_language(client, db):
    client.cookies.set("cv_lang", "en")
    response = await client.get("/faq/help/products", headers=HTMX)
    segmentation = await entry(db, SEGMENTATION)
    assert segmentation.question_en in response.text and segmentation.question_fr not in response.text
    assert '<div class="markdown" lang="en"><p>You may divide your service into as many products' in response.text


async def test_help_excerpt_is_french_on_a_french_page(client):
    response = await client.get("/faq/help/team", headers=HTMX)
    assert '<div class="markdown" lang="fr"><p>La plateforme Convergence distingue deux principaux profils' in \
        response.text
    assert "There are two main user profiles" not in response.text
    assert "- Gestionnaire" not in response.text  # Markdown rendered, not shown raw


async def test_help_folds_and_opens_each_answer_in_place(client, db):
    """The panel is a disclosure (folded on narrow screens by script); each question opens its whole answer in
    place, with a link to it in the FAQ."""
    response = await client.get("/faq/help/products", headers=HTMX)
    html = response.text
    assert '<details class="help-fold" open data-fold-narrow>' in html and "<summary><h2>Aide</h2></summary>" in html
    segmentation = await entry(db, SEGMENTATION)
    title = segmentation.question_fr.replace("'", "&#39;")
    assert f'<details class="disclosure help-entry" id="help-{SEGMENTATION}">' in html
    assert f"<summary>{title}</summary>" in html  # the answer's title is what one clicks
    end = "Le nom commercial doit être identique au nom visible par le citoyen."
    assert end in html  # the whole answer, in place
    assert f'href="/faq?place=products#{SEGMENTATION}"' in html
    client.cookies.set("cv_lang", "en")
    english = await client.get("/faq/help/products", headers=HTMX)
    assert "Mon Espace Santé (My Health Space)" in english.text and "Open this answer in the FAQ" in english.text


async def test_help_without_htmx_is_a_page(client):
    response = await client.get("/faq/help/account_request")
    assert response.status_code == 200 and "<html" in response.text


async def test_help_for_an_unknown_place_is_404(client):
    response = await client.get("/faq/help/nowhere", headers=HTMX)
    assert response.status_code == 404
    assert "Il n&#39;y a pas d&#39;aide pour cet endroit du site." in response.text


async def test_help_panel_include_renders_the_aside_with_a_fallback(settings):
    from convergence.app import create_app

    env = create_app(settings).template_engine.engine
    html = env.from_string('{% with place="theme:hds" %}{% include "faq/_help_panel.html" %}{% endwith %}').render(
        request=None)
    assert 'hx-get="/faq/help/theme%3Ahds"' in html and 'hx-trigger="load"' in html
    assert 'href="/faq?place=theme%3Ahds"' in html and 'class="help-panel"' in html
    assert html.count("<aside") == 1


async def test_encoded_place_in_path_works(client):
    response = await client.get("/faq/help/theme%3Ahds", headers=HTMX)
    assert response.status_code == 200 and "HDS" in response.text


async def test_account_request_page_asks_for_its_help(client):
    page = await client.get("/account-request")
    assert 'hx-get="/faq/help/account_request"' in page.text


# ------------------------------------------------------------------------------------------------ API

async def test_api_list_shape_and_pagination(client):
    response = await client.get("/api/v1/faq")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 21 and len(body["items"]) == 21
    for item in body["items"]:
        assert set(item) == KEYS and set(item["facets"]) == FACETS
        assert item["question"] == item["question_en"] and isinstance(item["id"], int)
        assert isinstance(item["places"], list) and all(isinstance(v, list) for v in item["facets"].values())
    roles = next(i for i in body["items"] if i["slug"] == ROLES)
    assert roles["theme"] == "Convergence" and roles["places"] == ["team", "account_request", "questionnaires"]
    assert roles["facets"]["topic"] == ["Rôles et droits"] and roles["facets"]["segur_scheme"] == []
    page = await client.get("/api/v1/faq", params={"limit": "5", "offset": "20"})
    assert page.json()["total"] == 21 and len(page.json()["items"]) == 1
    assert page.json()["items"][0]["slug"] == body["items"][20]["slug"]


async def test_api_french_questions(client):
    body = (await client.get("/api/v1/faq", params={"lang": "fr", "q": "contributors"})).json()
    assert body["items"][0]["question"] == body["items"][0]["question_fr"]
    assert body["items"][0]["question"].startswith("Quels sont les profils")
    assert body["items"][0]["answer"] == body["items"][0]["answer_fr"] and body["items"][0]["answer_lang"] == "fr"


async def test_api_answers_in_the_language_of_accept_language(client):
    english = (await client.get("/api/v1/faq", params={"q": "contributors"})).json()["items"][0]
    assert english["answer"] == english["answer_en"] and english["answer_lang"] == "en"
    assert english["answer"].startswith("There are two main user profiles")
    assert english["answer_fr"].startswith("La plateforme Convergence distingue") and english["answer_fr_translated"]
    french = (await client.get("/api/v1/faq", params={"q": "contributors"},
                               headers={"Accept-Language": "fr-FR,fr;q=0.9"})).json()["items"][0]
    assert french["question"] == french["question_fr"] and french["answer"] == french["answer_fr"]
    assert french["answer_lang"] == "fr" and french["answer_en"] == english["answer_en"]
    chosen = (await client.get(f"/api/v1/faq/{french['id']}", params={"lang": "en"},
                               headers={"Accept-Language": "fr"})).json()
    assert chosen["answer"] == english["answer_en"]  # an explicit `lang` wins


async def test_api_one_answer(client, db):
    roles = await entry(db, ROLES)
    response = await client.get(f"/api/v1/faq/{roles.id}")
    assert response.status_code == 200 and set(response.json()) == KEYS
    assert response.json()["slug"] == ROLES and response.json()["question"] == roles.question_en
    fr = await client.get(f"/api/v1/faq/{roles.id}", params={"lang": "fr"})
    assert fr.json()["question"] == roles.question_fr
    missing = await client.get("/api/v1/faq/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize("params", [{"lang": "de"}, {"limit": "0"}, {"limit": "x"}, {"offset": "-1"}])
async def test_api_bad_parameters_are_422(client, params):
    response = await client.get("/api/v1/faq", params=params)
    assert response.status_code == 422 and "code" in response.json()


async def test_api_is_open_to_anyone_and_to_signed_in_users(client, cast):
    assert (await client.get("/api/v1/faq")).status_code == 200
    headers = await token_for(client, cast.manager.email)
    assert (await client.get("/api/v1/faq", headers=headers)).json()["total"] == 21

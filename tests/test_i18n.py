"""French is the default language: every message the UI can show has a French translation, with real plural
forms (French counts 0 as singular)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from convergence.cli import main
from convergence.core.i18n import compile_catalogues, load_catalogues, ngettext, set_language
from convergence.core.messages import all_messages
from tests.conftest import ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
FRENCH = ROOT / "locale" / "fr" / "LC_MESSAGES"


def _catalogue() -> dict[object, object]:
    merged: dict[object, object] = {}
    for path in sorted(FRENCH.glob("*.po")):
        with path.open("rb") as fh:
            merged.update({m.id: m.string for m in read_po(fh, locale="fr") if m.id and not m.fuzzy})
    return merged


def _translated(text: object) -> bool:
    return all(text) if isinstance(text, tuple) else bool(text)


def test_every_message_has_a_french_translation():
    catalogue = _catalogue()
    missing = sorted((m for m in all_messages(ROOT) if not _translated(catalogue.get(m))), key=str)
    assert missing == [], f"{len(missing)} messages lack a French translation: {missing[:10]}"


def test_translations_keep_their_placeholders():
    wrong = []
    for msgid, text in _catalogue().items():
        sources = msgid if isinstance(msgid, tuple) else (msgid,)
        wanted = set().union(*(PLACEHOLDER.findall(s) for s in sources))
        for form in (text if isinstance(text, tuple) else (text,)):
            if form and set(PLACEHOLDER.findall(form)) != wanted:
                wrong.append((msgid, form))
    assert wrong == []


def test_every_french_catalogue_declares_french_plurals():
    """Catalogues are merged: one without the header would make Babel guess another plural rule."""
    wrong = [path.name for path in sorted(FRENCH.glob("*.po"))
             if "Plural-Forms: nplurals=2; plural=(n > 1);" not in path.read_text(encoding="utf-8")]
    assert wrong == []


@pytest.mark.parametrize(("lang", "expected"), [
    ("fr", ["0 réponse", "1 réponse", "2 réponses", "1\u202f500 réponses"]),
    ("en", ["0 answers", "1 answer", "2 answers", "1,500 answers"]),
])
def test_plural_forms_follow_the_language(lang, expected):
    load_catalogues(ROOT / "locale")
    set_language(lang)
    try:
        assert [ngettext("%(num)s answer", "%(num)s answers", n) for n in (0, 1, 2, 1500)] == expected
    finally:
        set_language("fr")


def test_an_edited_catalogue_is_compiled_again(tmp_path: Path):
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
                  'msgid "Draft"\nmsgstr "Brouillon"\n', encoding="utf-8")
    assert compile_catalogues(tmp_path) == [folder / "x.mo"]
    assert compile_catalogues(tmp_path) == []  # up to date: nothing rewritten


def test_the_extract_command_writes_every_message_with_its_plural(tmp_path: Path):
    output = tmp_path / "messages.pot"
    result = CliRunner().invoke(main, ["i18n", "extract", "--output", str(output)],
                                env={"CONVERGENCE_ROOT": str(ROOT), "CONVERGENCE_SECRET_KEY": "x"})
    assert result.exit_code == 0, result.output
    with output.open("rb") as fh:
        extracted = {m.id for m in read_po(fh) if m.id}
    assert ("%(num)s answer", "%(num)s answers") in extracted
    assert extracted == all_messages(ROOT)

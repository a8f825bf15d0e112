"""French is the default language: every message the UI can show has a French translation, with real plural
forms (French counts 0 as singular)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from convergence.cli import main
from convergence.core.i18n import N_, compile_catalogues, load_catalogues, ngettext, set_language
from convergence.core.messages import KEYWORDS, all_messages
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


def _untranslated(messages: set[object], catalogue: dict[object, object]) -> list[object]:
    return sorted((m for m in messages if not _translated(catalogue.get(m))), key=str)


def test_every_message_has_a_french_translation():
    missing = _untranslated(all_messages(ROOT), _catalogue())
    assert missing == [], f"{len(missing)} messages lack a French translation: {missing[:10]}"


def test_the_check_notices_a_translation_removed_from_a_catalogue():
    catalogue = _catalogue()
    del catalogue["team.invited"]
    catalogue[("%(num)s answer", "%(num)s answers")] = ("%(num)s réponse", "")
    assert _untranslated(all_messages(ROOT), catalogue) == [("%(num)s answer", "%(num)s answers"), "team.invited"]


def test_the_extraction_finds_messages_marked_in_data_and_the_errors_sentences():
    messages = all_messages(ROOT)
    assert {"team.invited", "Complete", "Support"} <= messages  # N_: an audit action, a label, a computed msgid
    assert "The password must be at least 12 characters long." in messages  # N_ in a list of problems
    assert "This answer must be between %(min)s and %(max)s." in messages  # _fail(item, sentence)
    assert "This response does not exist." in messages  # NotFound(sentence)


def test_the_keywords_are_what_babel_extracts(tmp_path: Path):
    """The extraction sees only the declared calls: a sentence kept in data without N_ is not a message."""
    (tmp_path / "babel.cfg").write_text((ROOT / "babel.cfg").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "convergence").mkdir()
    (tmp_path / "convergence" / "sample.py").write_text(
        'LABELS = {"a": N_("Label"), "b": "Not marked."}\n'
        'raise Invalid("Error sentence.", code="x", fields={"f": N_("Field sentence."), "g": "Not marked either."})\n'
        'raise _fail(item, "Answer sentence.", min=1)\n'
        'Phrase("Phrase sentence.", {})\n'
        'ngettext("%(num)s item", "%(num)s items", n)\n'
        '_(variable)\n', encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(
        '<p>{{ _("Template sentence.") }} {{ _(user.role|capitalize) }}</p>\n'
        '{% trans count=n %}One line{% pluralize %}%(count)s lines{% endtrans %}\n', encoding="utf-8")
    assert all_messages(tmp_path) == {"Label", "Error sentence.", "Field sentence.", "Answer sentence.",
                                      "Phrase sentence.", ("%(num)s item", "%(num)s items"), "Template sentence.",
                                      ("One line", "%(count)s lines")}
    assert {"_", "gettext", "ngettext", "N_", "Phrase", "_fail", "Invalid", "NotFound"} <= set(KEYWORDS)


def _keyword_calls(path: Path) -> Iterator[tuple[int, object]]:
    """(line, msgid) of each call a keyword names with string literals where its msgid goes, read from the syntax
    tree."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name not in KEYWORDS:
            continue
        indexes = KEYWORDS[name] or (1,)
        args = [node.args[i - 1] for i in indexes if i <= len(node.args)]
        if len(args) == len(indexes) and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
            message = args[0].value if len(args) == 1 else tuple(a.value for a in args)
            if message:
                yield node.lineno, message


def test_no_marked_call_escapes_the_extraction():
    """Babel reads tokens, not the syntax tree: a keyword call in the arguments of another call that is itself in
    a keyword call (`gettext(texts.get(code, N_("...")))`) is skipped without a word."""
    extracted = all_messages(ROOT)
    skipped = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "convergence").rglob("*.py"))
               for line, message in _keyword_calls(path) if message not in extracted]
    assert skipped == []


def test_n_marks_without_changing_the_message():
    assert N_("team.invited") == "team.invited"


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

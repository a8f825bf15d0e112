"""French is the default language: every message the UI can show has a French translation."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from convergence.core.messages import all_messages
from tests.conftest import ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalogue() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((ROOT / "locale" / "fr" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            merged.update({m.id: m.string for m in read_po(fh, locale="fr") if m.id})
    return merged


def test_every_message_has_a_french_translation():
    catalogue = _catalogue()
    missing = sorted(m for m in all_messages(ROOT) if not catalogue.get(m))
    assert missing == [], f"{len(missing)} messages lack a French translation: {missing[:10]}"


def test_translations_keep_their_placeholders():
    wrong = [(msgid, text) for msgid, text in _catalogue().items()
             if text and set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(text))]
    assert wrong == []

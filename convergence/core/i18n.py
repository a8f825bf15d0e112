"""gettext for a French-first UI: English msgids, a French catalogue read from locale/ at start-up."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("fr", "en")
_current: ContextVar[str] = ContextVar("language", default="fr")
_catalogues: dict[str, dict[str, str]] = {}


def load_catalogues(locale_dir: Path) -> None:
    """Every .po file of a language is merged (one file per domain keeps parallel work apart)."""
    for lang in LANGUAGES:
        merged: dict[str, str] = {}
        for path in sorted((locale_dir / lang / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            merged.update({m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy})
        _catalogues[lang] = merged


def set_language(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else "fr")


def current_language() -> str:
    return _current.get()


def gettext(message: str, **params: object) -> str:
    text = _catalogues.get(_current.get(), {}).get(message, message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = gettext(singular if n == 1 else plural)
    params.setdefault("num", n)
    return text % params


_ = gettext

"""gettext for a French-first UI: English msgids, French catalogues compiled from locale/*/LC_MESSAGES/*.po to
.mo files (one file per domain keeps parallel work apart) and merged per language at start-up."""

from __future__ import annotations

import gettext as _gettext
import os
import tempfile
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES = ("fr", "en")
_current: ContextVar[str] = ContextVar("language", default="fr")
# English is the msgids' language: a NullTranslations answers them as they are, with English plurals.
_translations: dict[str, _gettext.NullTranslations] = {}


def compile_catalogues(locale_dir: Path) -> list[Path]:
    """Compile every .po whose .mo is missing or older; answers the .mo files written. `make` runs this
    (`convergence i18n compile`); the app runs it too so that an edited .po is never silently ignored.
    Written to a temporary file and renamed, so that a process reading the catalogue never sees half of it."""
    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        handle, temporary = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(handle, "wb") as out:
            write_mo(out, catalog)  # fuzzy entries are left out, as gettext does
        os.replace(temporary, mo)
        written.append(mo)
    return written


def load_catalogues(locale_dir: Path) -> None:
    compile_catalogues(locale_dir)
    for lang in LANGUAGES:
        merged: _gettext.NullTranslations = _gettext.NullTranslations()
        for index, mo in enumerate(sorted((locale_dir / lang / "LC_MESSAGES").glob("*.mo"))):
            with mo.open("rb") as fh:
                domain = Translations(fh, domain=mo.stem)
            if index == 0:
                merged = domain
            else:
                merged.merge(domain)  # type: ignore[attr-defined]
        _translations[lang] = merged


def set_language(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else "fr")


def current_language() -> str:
    return _current.get()


def _catalogue() -> _gettext.NullTranslations:
    return _translations.get(_current.get()) or _gettext.NullTranslations()


def gettext(message: str, **params: object) -> str:
    text = _catalogue().gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """The catalogue's own plural rule decides the form (French: 0 and 1 are singular); `num` is the count
    written the language's way (1 000 in French)."""
    text = _catalogue().ngettext(singular, plural, n)
    params.setdefault("num", format_decimal(n, locale=_current.get()))
    return text % params


_ = gettext


def N_(message: str) -> str:
    """Marks a message kept in data and translated when shown: answers it unchanged, and Babel's extraction
    (`convergence.core.messages.KEYWORDS`) finds it, where a `_()` further on only sees a variable."""
    return message

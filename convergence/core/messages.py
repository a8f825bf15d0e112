"""Every translatable message is what Babel extracts from the code and templates (babel.cfg) with `KEYWORDS`: the
one list of calls whose arguments are msgids. `convergence i18n extract` (`make messages`) writes them to a .pot
and the catalogue check (tests/test_i18n.py) wants a French translation for each, so both see the same set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from convergence.core.i18n import N_

# Domain errors (core/errors.py, TextProblem in core/inputs.py) take the English sentence shown as first argument.
ERROR_CLASSES = ("BadRequest", "Conflict", "Forbidden", "Invalid", "NotAuthenticated", "NotFound", "Throttled",
                 "TermsNotAccepted", "DomainError", "TextProblem")
# Babel's keyword specs: None is the first argument; (1, 2) singular and plural.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "Phrase": None,
    # questionnaires.item_types._fail(item, "sentence", **params): why an answer is refused.
    "_fail": (2,),
    **dict.fromkeys(ERROR_CLASSES, None),
}
Message = str | tuple[str, str]

# Msgids that no source line spells out: the templates build them from a stored code (`_(user.role|capitalize)`,
# `_(h.action)`, `_({"added": "Added", ...}[c.kind])`), so nothing a keyword reaches holds them. Marked here so
# that Babel finds them like any other; a label table next to each enum, used by the templates, is their due place.
SHOWN_FROM_CODES = (
    # accounts.models.Role
    N_("Support"), N_("Reviewer"), N_("Manager"), N_("Contributor"),
    # accounts.models.RequestStatus
    N_("Pending"), N_("Approved"), N_("Rejected"),
    # companies.pages.LEVELS, a right's levels
    N_("Read"), N_("Edit"), N_("Validate"),
    # questionnaires.models.Status
    N_("Not started"), N_("Draft"), N_("Submitted"), N_("Validated"),
    # a response's history: its audit actions without the "response." prefix
    N_("submitted"), N_("validated"), N_("returned"), N_("reopened"), N_("copied"),
    # the kinds of change between two revisions (templates/questionnaires/_revision_changes.html)
    N_("Added"), N_("Changed"), N_("Removed"),
)


def extract(root: Path) -> Iterator[tuple[str, int, Message, list[str], str | None]]:
    """Babel's extraction over the files babel.cfg maps: (file, line, msgid, comments, context)."""
    with (root / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    for filename, lineno, message, comments, context in extract_from_dir(
            root, method_map, options_map, keywords=KEYWORDS):
        if message and (isinstance(message, tuple) or message.strip()):
            yield filename, lineno, message, comments, context


def all_messages(root: Path) -> set[Message]:
    """Every msgid: a string, or a (singular, plural) pair for a message with plural forms."""
    return {message for _file, _line, message, _comments, _context in extract(root)}

"""Finds every translatable message: `_()`/`gettext()` in templates and code, and the English sentences
given to domain errors (translated when shown). Used by the catalogue check and `convergence i18n missing`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from babel.messages.jslexer import line_re  # noqa: F401 - babel must be importable for the jinja extractor
from jinja2.ext import babel_extract

ERROR_CLASSES = {"BadRequest", "Conflict", "Forbidden", "Invalid", "NotAuthenticated", "NotFound", "Throttled",
                 "TermsNotAccepted", "DomainError", "TextProblem"}
GETTEXT_NAMES = {"_", "gettext"}
Message = str | tuple[str, str]
# Shown through a variable (`_(user.role|capitalize)`), so no extractor can see them.
DYNAMIC_MESSAGES = {"Support", "Reviewer", "Manager", "Contributor", "Pending", "Approved", "Rejected",
                    "Read", "Edit", "Validate", "team.invited", "team.rights_changed", "team.member_deactivated",
                    "team.invitation_cancelled", "team.invitation_resent",
                    "Not started", "Draft", "Submitted", "Validated",
                    "submitted", "validated", "returned", "reopened", "copied",
                    "Complete", "In progress", "To do", "Added", "Changed", "Removed"}


def _strings_in_dict(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Dict):
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield value.value
            elif isinstance(value, ast.Tuple):
                yield from (e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))


def python_messages(path: Path) -> Iterator[Message]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name == "ngettext" and len(node.args) > 1 and all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2]):
                yield (node.args[0].value, node.args[1].value)
            if name in ERROR_CLASSES | GETTEXT_NAMES | {"Phrase"} and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    yield first.value
            # engine._fail(item, "sentence", **params): the sentence of an invalid answer.
            if name == "_fail" and len(node.args) > 1:
                second = node.args[1]
                if isinstance(second, ast.Constant) and isinstance(second.value, str):
                    yield second.value
            if name in ERROR_CLASSES:
                for keyword in node.keywords:
                    if keyword.arg == "fields":
                        yield from _strings_in_dict(keyword.value)
        # Messages collected in lists/dicts before being raised (password policy, form problems).
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "append" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.endswith("."):
                yield first.value
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(t in ("required", "texts", "messages") for t in targets):
                for value in _strings_in_dict(node.value):
                    if value.endswith("."):
                        yield value


def template_messages(path: Path) -> Iterator[Message]:
    with path.open("rb") as fh:
        for _lineno, _func, message, _comments in babel_extract(
                fh, ("_", "gettext", "ngettext"), [], {"extensions": "jinja2.ext.i18n", "trimmed": "true"}):
            if isinstance(message, str):
                yield message
            elif isinstance(message, tuple):
                strings = tuple(m for m in message if isinstance(m, str))
                yield strings if len(strings) == 2 else strings[0]


def all_messages(root: Path) -> set[Message]:
    """Every msgid: a string, or a (singular, plural) pair for a message with plural forms."""
    found: set[Message] = set(DYNAMIC_MESSAGES)
    for path in sorted((root / "convergence").rglob("*.py")):
        found.update(python_messages(path))
    for path in sorted((root / "templates").rglob("*.html")):
        found.update(template_messages(path))
    return {m for m in found if m and (isinstance(m, tuple) or m.strip())}

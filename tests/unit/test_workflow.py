"""The response workflow as a table: every (status, action, level) cell, who may, what it emits (no database,
no app). The HTTP side (mails, audit, 409 on a concurrent change) is in test_questionnaires and test_workspace."""

from __future__ import annotations

import re

import pytest

from types import SimpleNamespace

from convergence.accounts.models import Role
from convergence.core.errors import Conflict
from convergence.identity.policy import Grant, Level, Permission
from convergence.questionnaires.models import Status
from convergence.questionnaires.workflow import (
    EDITABLE,
    RULES,
    TRANSITIONS,
    Action,
    allowed_actions,
    target,
)

NS, DR, SU, VA = Status.NOT_STARTED, Status.DRAFT, Status.SUBMITTED, Status.VALIDATED
E, S, V, R, O = Action.EDIT, Action.SUBMIT, Action.VALIDATE, Action.RETURN, Action.REOPEN
LEVELS = [None, Level.READ, Level.EDIT, Level.VALIDATE]
COMPANY = 7


def person(role: str | None, company_id: int | None = COMPANY) -> SimpleNamespace | None:
    return None if role is None else SimpleNamespace(id=1, role=role, company_id=company_id)


def on(level: Level | None, company_id: int = COMPANY) -> Grant:
    return Grant(company_id, level)

# Where each action leads from each status ("-": refused with 409).
MOVES = {
    #        edit  submit validate return reopen
    NS: dict(zip((E, S, V, R, O), (DR, SU, "-", "-", "-"), strict=True)),
    DR: dict(zip((E, S, V, R, O), (DR, SU, "-", "-", "-"), strict=True)),
    SU: dict(zip((E, S, V, R, O), ("-", "-", VA, DR, "-"), strict=True)),
    VA: dict(zip((E, S, V, R, O), ("-", "-", "-", "-", DR), strict=True)),
}

# What a contributor holding each level (None: no right) may do in each status; a manager holds every level
# and may reopen as well.
#                      no right   read   edit      validate
ALLOWED = {
    NS: (set(), set(), {E, S}, {E, S}),
    DR: (set(), set(), {E, S}, {E, S}),
    SU: (set(), set(), set(), {V, R}),
    VA: (set(), set(), set(), set()),
}


@pytest.mark.parametrize(("status", "action"), [(s, a) for s in MOVES for a in Action])
def test_each_action_leads_where_the_table_says(status, action):
    expected = MOVES[status][action]
    if expected == "-":
        with pytest.raises(Conflict) as refused:
            target(status, action)
        assert refused.value.code == ("not_editable" if action == E else "invalid_transition")
        assert refused.value.message == RULES[action].refused.msgid
    else:
        assert target(status, action) == expected
        assert TRANSITIONS[(status, action)] == expected


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("level_index", range(len(LEVELS)))
def test_contributor_cells(status, level_index):
    level = LEVELS[level_index]
    assert allowed_actions(person(Role.CONTRIBUTOR), status, on(level)) == ALLOWED[status][level_index]


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("level_index", range(len(LEVELS)))
def test_manager_cells(status, level_index):
    """Reopening needs the manager's role permission, and a read right on the product like every action."""
    level = LEVELS[level_index]
    expected = set(ALLOWED[status][level_index])
    if status == VA and level is not None:
        expected.add(O)
    assert allowed_actions(person(Role.MANAGER), status, on(level)) == expected


@pytest.mark.parametrize("role", [None, Role.SUPPORT, Role.REVIEWER])
def test_people_outside_the_company_take_no_action(role):
    """ANS staff and the signed-out hold no level: even a grant handed to them by mistake allows nothing."""
    actor = person(role, company_id=None)
    assert allowed_actions(actor, VA, on(Level.VALIDATE)) == frozenset()
    assert allowed_actions(actor, SU, on(Level.VALIDATE)) == frozenset()


def test_another_companys_response_allows_nothing():
    assert allowed_actions(person(Role.MANAGER), SU, on(Level.VALIDATE, company_id=COMPANY + 1)) == frozenset()


def test_statuses_are_plain_strings_too():
    assert allowed_actions(person(Role.CONTRIBUTOR), "draft", on(Level.EDIT)) == {"edit", "submit"}
    assert target("submitted", Action("validate")) == VA


def test_who_may_each_action():
    assert {a: RULES[a].permission for a in Action} == {
        E: Permission.PRODUCT_EDIT, S: Permission.PRODUCT_EDIT, V: Permission.RESPONSE_VALIDATE,
        R: Permission.RESPONSE_VALIDATE, O: Permission.RESPONSES_REOPEN}


def test_editable_statuses():
    assert set(EDITABLE) == {NS, DR}


def test_what_each_transition_emits():
    emits = {a: (r.audit, r.notify, r.mail_kind or None, r.comment, r.requires_complete, r.new_revision)
             for a, r in RULES.items()}
    assert emits == {
        E: (None, None, None, False, False, False),
        S: ("response.submitted", "validators", "response_submitted", False, True, False),
        V: ("response.validated", "contributors", "response_validated", False, False, False),
        R: ("response.returned", "contributors", "response_returned", True, False, False),
        O: ("response.reopened", None, None, False, False, True),
    }
    assert RULES[S].writes == {"submitted_at": "now", "submitted_by_id": "actor", "return_comment": None}
    assert RULES[V].writes == {"validated_at": "now", "validated_by_id": "actor"}
    assert RULES[O].writes == {"validated_at": None, "validated_by_id": None}
    assert RULES[V].audit_fields == ("maturity",) and RULES[O].audit_fields == ("revision",)


@pytest.mark.parametrize("action", [a for a in Action if RULES[a].notify])
def test_every_mail_has_a_subject_and_a_body_with_its_placeholders(action):
    rule = RULES[action]
    assert rule.subject is not None and rule.body is not None
    names = set(re.findall(r"%\((\w+)\)s", rule.body.msgid))
    assert names == {"actor", "questionnaire", "target", "link"} | ({"comment"} if rule.comment else set())


def test_every_action_has_a_rule_and_a_transition():
    assert set(RULES) == set(Action) == {a for _s, a in TRANSITIONS}

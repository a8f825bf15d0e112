"""The authorization policy as a table: every action for every role, on no target, on the actor's own company,
on another company, and on a product at every level (no database, no app). The HTTP side — every route for
every role of the cast and another company's objects — is tests/test_authz_matrix.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from convergence.accounts.models import Role
from convergence.core.errors import Forbidden, NotAuthenticated, NotFound
from convergence.identity import policy
from convergence.identity.policy import Grant, Level, Permission as P, Tenant

OURS, THEIRS = 1, 2
ME, SOMEONE = 10, 11
VENDORS = (Role.MANAGER, Role.CONTRIBUTOR)


def actor(role: str) -> SimpleNamespace:
    return SimpleNamespace(id=ME, role=role, company_id=OURS if role in VENDORS else None)


# What each role may do with no target (ANS staff) or on its own company (vendors). "-": refused.
PLATFORM = [P.ACCOUNT_REQUESTS_REVIEW, P.OUTBOX_READ, P.OUTBOX_RETRY, P.TERMS_PUBLISH, P.COMPANIES_READ_ALL,
            P.REVIEW_READ, P.REVIEW_COMMENT, P.FAQ_FEEDBACK_READ]
COMPANY = [P.COMPANY_READ, P.TEAM_READ, P.TEAM_INVITE, P.TEAM_MANAGE, P.PRODUCTS_CREATE, P.PRODUCTS_ALL]
#                          support reviewer manager contributor
ROLE_TABLE = {
    P.ACCOUNT_REQUESTS_REVIEW: "y - - -",
    P.OUTBOX_READ:             "y - - -",
    P.OUTBOX_RETRY:            "y - - -",
    P.TERMS_PUBLISH:           "y - - -",
    P.COMPANIES_READ_ALL:      "y y - -",
    P.REVIEW_READ:             "y y - -",
    P.REVIEW_COMMENT:          "- y - -",
    P.FAQ_FEEDBACK_READ:       "y - - -",
    P.REFERENCING_READ_ALL:    "y y - -",
    P.REFERENCING_REVIEW:      "- y - -",
    P.COMPANY_READ:            "- - y y",
    P.TEAM_READ:               "- - y y",
    P.TEAM_INVITE:             "- - y y",
    P.TEAM_MANAGE:             "- - y -",
    P.PRODUCTS_CREATE:         "- - y y",
    P.PRODUCTS_ALL:            "- - y -",
    P.NOTIFICATIONS_OWN:       "y y y y",
    P.PUBLICATIONS_PUBLISH:    "y - - -",
}
ROLES = (Role.SUPPORT, Role.REVIEWER, Role.MANAGER, Role.CONTRIBUTOR)
CELLS = [(permission, role, mark == "y") for permission, row in ROLE_TABLE.items()
         for role, mark in zip(ROLES, row.split(), strict=True)]


@pytest.mark.parametrize(("permission", "role", "allowed"), CELLS)
def test_role_table(permission, role, allowed):
    target = Tenant(OURS) if permission in COMPANY else None
    assert policy.can(actor(role), permission, target) is allowed


def test_every_action_is_in_a_table():
    product_actions = set(policy.LEVEL_NEEDED)
    assert set(ROLE_TABLE) | product_actions | set(policy.OWNER_OVERRIDE) == set(P)


@pytest.mark.parametrize("permission", list(P))
def test_nobody_signed_in_may_do_nothing(permission):
    assert policy.decide(None, permission, Tenant(OURS))[0] == 401
    with pytest.raises(NotAuthenticated):
        policy.require(None, permission)


@pytest.mark.parametrize("permission", COMPANY + list(policy.LEVEL_NEEDED))
@pytest.mark.parametrize("role", VENDORS)
def test_another_companys_objects_answer_404(permission, role):
    """Whatever the role and the level: a vendor never learns another company's object exists."""
    with pytest.raises(NotFound):
        policy.require(actor(role), permission, Tenant(THEIRS))
    with pytest.raises(NotFound):
        policy.require(actor(role), permission, Grant(THEIRS, Level.VALIDATE))


@pytest.mark.parametrize("permission", COMPANY + list(policy.LEVEL_NEEDED))
@pytest.mark.parametrize("role", (Role.SUPPORT, Role.REVIEWER))
def test_ans_staff_are_told_the_vendor_side_is_not_theirs(permission, role):
    with pytest.raises(Forbidden) as refused:
        policy.require(actor(role), permission, Grant(OURS, Level.VALIDATE))
    assert refused.value.message == "This part of the platform is for vendor companies."


# Product actions: (contributor, manager) at each level held. A manager's grant always carries VALIDATE
# (companies/access.py gives managers every level), but the policy judges the grant it is handed.
#                        no right  read         edit         validate
PRODUCT_TABLE = {
    P.PRODUCT_READ:       ("404",   "y y",       "y y",       "y y"),
    P.PRODUCT_EDIT:       ("404",   "403 403",   "y y",       "y y"),
    P.RESPONSE_VALIDATE:  ("404",   "403 403",   "403 403",   "y y"),
    P.RESPONSES_REOPEN:   ("404",   "403 y",     "403 y",     "403 y"),
    P.RESPONSES_MIGRATE:  ("404",   "403 y",     "403 y",     "403 y"),
    P.APPLICATION_READ:   ("404",   "y y",       "y y",       "y y"),
    P.APPLICATION_FILE:   ("404",   "403 403",   "403 403",   "403 y"),
    P.ATTESTATION_PUBLISH: ("404",  "403 403",   "403 403",   "403 y"),
    P.ROADMAP_TARGET:     ("404",   "403 403",   "403 403",   "y y"),
}
LEVELS = (None, Level.READ, Level.EDIT, Level.VALIDATE)


@pytest.mark.parametrize(("permission", "level_index"), [(p, i) for p in PRODUCT_TABLE for i in range(4)])
def test_product_table(permission, level_index):
    cell = PRODUCT_TABLE[permission][level_index]
    expected = cell.split() if " " in cell else [cell, cell]
    for role, outcome in zip((Role.CONTRIBUTOR, Role.MANAGER), expected, strict=True):
        refusal = policy.decide(actor(role), permission, Grant(OURS, LEVELS[level_index]))
        assert (refusal[0] if refusal else "y") == (outcome if outcome == "y" else int(outcome)), (role, cell)


def test_a_level_too_low_says_so_on_the_object():
    grant = Grant(OURS, Level.READ, refused="You do not have the right to do this on this questionnaire.")
    with pytest.raises(Forbidden) as refused:
        policy.require(actor(Role.CONTRIBUTOR), P.PRODUCT_EDIT, grant)
    assert refused.value.message == grant.refused


def test_no_right_reads_as_missing():
    grant = Grant(OURS, None, missing="This response does not exist.")
    with pytest.raises(NotFound) as missing:
        policy.require(actor(Role.CONTRIBUTOR), P.PRODUCT_READ, grant)
    assert missing.value.message == grant.missing


@pytest.mark.parametrize(("role", "owner", "allowed"), [
    (Role.CONTRIBUTOR, ME, True),  # their own invitation
    (Role.CONTRIBUTOR, SOMEONE, False),
    (Role.MANAGER, SOMEONE, True),  # a manager withdraws anyone's
    (Role.MANAGER, ME, True),
])
def test_withdrawing_an_invitation(role, owner, allowed):
    assert policy.can(actor(role), P.INVITATION_WITHDRAW, Tenant(OURS, owner_id=owner)) is allowed


def test_allowed_lists_what_a_page_offers():
    offered = policy.allowed(actor(Role.CONTRIBUTOR), Grant(OURS, Level.EDIT))
    assert {P.PRODUCT_READ, P.PRODUCT_EDIT} <= offered
    assert P.RESPONSE_VALIDATE not in offered and P.RESPONSES_REOPEN not in offered


def test_roles_with():
    assert policy.roles_with(P.PRODUCTS_ALL) == [Role.MANAGER]
    assert set(policy.roles_with(P.REVIEW_READ)) == {Role.SUPPORT, Role.REVIEWER}


def test_templates_may_name_actions_as_strings():
    assert policy.can(actor(Role.MANAGER), "team:manage")
    with pytest.raises(ValueError):
        policy.can(actor(Role.MANAGER), "team:rule_the_world")

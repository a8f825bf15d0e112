"""The response workflow as data: which action moves a response from which status to which, who may take it
and what it emits. Pure (no database): `QuestionnaireService.apply` runs a transition, the page and the work
list ask `allowed_actions`.

To add a transition: a row in TRANSITIONS (and, for a new action, a Rule in RULES). Who may is the Rule's
`permission`, judged by the one policy (`identity/policy.py`) against what the actor holds on the product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from convergence.core import events
from convergence.core.errors import Conflict
from convergence.core.formatting import Phrase
from convergence.core.i18n import N_
from convergence.identity import policy
from convergence.identity.policy import Actor, Grant, Permission
from convergence.questionnaires.models import Status


class Action(StrEnum):
    EDIT = "edit"  # save answers (QuestionnaireService.save_answers): a draft stays a draft
    SUBMIT = "submit"
    VALIDATE = "validate"
    RETURN = "return"
    REOPEN = "reopen"


# (from-status, action) → to-status. A pair not listed is refused with 409 invalid_transition.
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.NOT_STARTED, Action.EDIT): Status.DRAFT,
    (Status.DRAFT, Action.EDIT): Status.DRAFT,
    (Status.NOT_STARTED, Action.SUBMIT): Status.SUBMITTED,
    (Status.DRAFT, Action.SUBMIT): Status.SUBMITTED,
    (Status.SUBMITTED, Action.VALIDATE): Status.VALIDATED,
    (Status.SUBMITTED, Action.RETURN): Status.DRAFT,
    (Status.VALIDATED, Action.REOPEN): Status.DRAFT,
}

# Values written with the new status; these markers stand for the moment and the actor of the transition.
NOW, ACTOR = "now", "actor"


@dataclass(frozen=True)
class Rule:
    """Who may take an action, and what taking it emits."""

    permission: Permission  # what the policy must allow on the response's product (or the global strategy)
    refused: Phrase  # the 409 invalid_transition sentence from any other status
    writes: dict[str, Any] = field(default_factory=dict)  # columns set with the status (NOW, ACTOR: markers)
    requires_complete: bool = False  # every required item answered (checked on the version written over)
    comment: bool = False  # a comment is required, stored as the return comment and mailed
    new_revision: bool = False  # the validated answers are kept as a revision; the response starts a new one
    audit: str | None = None  # the audit event's action
    audit_fields: tuple[str, ...] = ()  # response columns recorded in the audit event (after the change)
    notify: str | None = None  # "validators" or "contributors": who is mailed (never the actor)
    mail_kind: str = ""
    subject: Phrase | None = None
    body: Phrase | None = None  # %(actor)s, %(questionnaire)s, %(target)s, %(link)s (and %(comment)s)
    event: str | None = None  # announced to higher layers (core/events.py) with the people `notify` told


RULES: dict[Action, Rule] = {
    Action.EDIT: Rule(
        permission=Permission.PRODUCT_EDIT,
        refused=Phrase("This response is submitted or validated: it cannot be changed now.")),
    Action.SUBMIT: Rule(
        permission=Permission.PRODUCT_EDIT, refused=Phrase("Only a draft can be submitted."),
        writes={"submitted_at": NOW, "submitted_by_id": ACTOR, "return_comment": None},
        requires_complete=True, audit=N_("response.submitted"),
        notify="validators", mail_kind="response_submitted", event=events.RESPONSE_SUBMITTED,
        subject=Phrase("A questionnaire awaits your validation"),
        body=Phrase("%(actor)s submitted “%(questionnaire)s” for %(target)s. Review and validate it: %(link)s")),
    Action.VALIDATE: Rule(
        permission=Permission.RESPONSE_VALIDATE, refused=Phrase("Only a submitted response can be validated."),
        writes={"validated_at": NOW, "validated_by_id": ACTOR},
        audit=N_("response.validated"), audit_fields=("maturity",),
        notify="contributors", mail_kind="response_validated", event=events.RESPONSE_VALIDATED,
        subject=Phrase("A questionnaire has been validated"),
        body=Phrase("%(actor)s validated “%(questionnaire)s” for %(target)s: %(link)s")),
    Action.RETURN: Rule(
        permission=Permission.RESPONSE_VALIDATE, refused=Phrase("Only a submitted response can be returned for changes."),
        comment=True, audit=N_("response.returned"),
        notify="contributors", mail_kind="response_returned", event=events.RESPONSE_RETURNED,
        subject=Phrase("A questionnaire was returned for changes"),
        body=Phrase("%(actor)s returned “%(questionnaire)s” for %(target)s with this comment:\n\n%(comment)s\n\n"
                    "%(link)s")),
    Action.REOPEN: Rule(
        permission=Permission.RESPONSES_REOPEN,
        refused=Phrase("Only a validated response can be reopened."),
        writes={"validated_at": None, "validated_by_id": None}, new_revision=True,
        audit=N_("response.reopened"), audit_fields=("revision",), event=events.RESPONSE_REOPENED),
}

EDITABLE = tuple(status for status, action in TRANSITIONS if action == Action.EDIT)


def allowed_actions(actor: Actor | None, status: Status | str, grant: Grant) -> frozenset[Action]:
    """The actions the actor, holding `grant` on the response's product, may take on a response in `status`."""
    return frozenset(action for (source, action) in TRANSITIONS
                     if source == status and policy.can(actor, RULES[action].permission, grant))


def target(status: Status | str, action: Action) -> Status:
    """The status the action leads to from `status`, or Conflict (invalid_transition; not_editable for a save)."""
    to = TRANSITIONS.get((Status(status), action))
    if to is None:
        code = "not_editable" if action == Action.EDIT else "invalid_transition"
        raise Conflict(RULES[action].refused.msgid, code=code)
    return to

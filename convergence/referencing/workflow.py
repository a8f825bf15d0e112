"""The referencing application's workflow as data: which action moves an application from which status to which,
who may take it and whom it tells. Pure (no database): `ReferencingService.apply` runs a transition, pages and
the API ask `allowed_actions`.

filed → under_review (on assignment or the first chapter verdict) → info_requested (ANS asks for more on the
chapters marked "à compléter"; the vendor reopens those questionnaires, answers, has them validated again, and
resubmits) → under_review → referenced | refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from convergence.core.errors import Conflict
from convergence.core.formatting import Phrase
from convergence.core.i18n import N_
from convergence.identity import policy
from convergence.identity.policy import Actor, Permission, Target
from convergence.referencing.models import AppStatus


class Action(StrEnum):
    ASSIGN = "assign"
    VERDICT = "verdict"
    REQUEST_INFO = "request_info"
    REOPEN = "reopen"  # the vendor reopens the questionnaires of the chapters ANS asked about
    RESUBMIT = "resubmit"
    REFERENCE = "reference"
    REFUSE = "refuse"


TRANSITIONS: dict[tuple[AppStatus, Action], AppStatus] = {
    (AppStatus.FILED, Action.ASSIGN): AppStatus.UNDER_REVIEW,
    (AppStatus.UNDER_REVIEW, Action.ASSIGN): AppStatus.UNDER_REVIEW,
    (AppStatus.INFO_REQUESTED, Action.ASSIGN): AppStatus.INFO_REQUESTED,
    (AppStatus.FILED, Action.VERDICT): AppStatus.UNDER_REVIEW,
    (AppStatus.UNDER_REVIEW, Action.VERDICT): AppStatus.UNDER_REVIEW,
    (AppStatus.UNDER_REVIEW, Action.REQUEST_INFO): AppStatus.INFO_REQUESTED,
    (AppStatus.INFO_REQUESTED, Action.REOPEN): AppStatus.INFO_REQUESTED,
    (AppStatus.INFO_REQUESTED, Action.RESUBMIT): AppStatus.UNDER_REVIEW,
    (AppStatus.UNDER_REVIEW, Action.REFERENCE): AppStatus.REFERENCED,
    (AppStatus.UNDER_REVIEW, Action.REFUSE): AppStatus.REFUSED,
}


@dataclass(frozen=True)
class Rule:
    permission: Permission  # judged by the policy: REFERENCING_REVIEW (ANS) or APPLICATION_FILE on the product
    refused: Phrase  # the 409 invalid_transition sentence from any other status
    audit: str
    notify: tuple[str, ...] = ()  # "vendor" (managers and the application's contact), "assignee", "reviewers"
    mail_kind: str = ""
    subject: Phrase | None = None
    body: Phrase | None = None  # %(actor)s, %(name)s, %(step)s, %(link)s, %(text)s


RULES: dict[Action, Rule] = {
    Action.ASSIGN: Rule(
        permission=Permission.REFERENCING_REVIEW, refused=Phrase("A decided application cannot be assigned."),
        audit=N_("referencing.assigned"), notify=("assignee",), mail_kind="referencing_assigned",
        subject=Phrase("A referencing application is assigned to you"),
        body=Phrase("%(actor)s assigned you the referencing application of “%(name)s” (%(step)s): %(link)s")),
    Action.VERDICT: Rule(
        permission=Permission.REFERENCING_REVIEW,
        refused=Phrase("Chapters are verified only while the application is under review."),
        audit=N_("referencing.verdict")),
    Action.REQUEST_INFO: Rule(
        permission=Permission.REFERENCING_REVIEW,
        refused=Phrase("Information can be requested only while the application is under review."),
        audit=N_("referencing.info_requested"), notify=("vendor",), mail_kind="referencing_info_requested",
        subject=Phrase("ANS asks for more information on your referencing application"),
        body=Phrase("%(actor)s (ANS) asks for more information on the referencing application of “%(name)s” "
                    "(%(step)s):\n\n%(text)s\n\nReopen the questionnaires concerned, complete them, have them "
                    "validated, then resubmit the application: %(link)s")),
    Action.REOPEN: Rule(
        permission=Permission.APPLICATION_FILE,
        refused=Phrase("The questionnaires are reopened only when ANS has asked for information."),
        audit=N_("referencing.chapters_reopened"), notify=("assignee",), mail_kind="referencing_reopened",
        subject=Phrase("A vendor is completing its referencing application"),
        body=Phrase("%(actor)s reopened the questionnaires of “%(name)s” (%(step)s) to answer your request: "
                    "%(link)s")),
    Action.RESUBMIT: Rule(
        permission=Permission.APPLICATION_FILE,
        refused=Phrase("Only an application awaiting information can be resubmitted."),
        audit=N_("referencing.resubmitted"), notify=("assignee", "vendor"), mail_kind="referencing_resubmitted",
        subject=Phrase("A referencing application was resubmitted"),
        body=Phrase("%(actor)s resubmitted the referencing application of “%(name)s” (%(step)s) with the "
                    "completed answers: %(link)s")),
    Action.REFERENCE: Rule(
        permission=Permission.REFERENCING_REVIEW,
        refused=Phrase("Only an application under review can be decided."),
        audit=N_("referencing.referenced"), notify=("vendor",), mail_kind="referencing_referenced",
        subject=Phrase("Your service is referenced in Mon Espace Santé"),
        body=Phrase("%(actor)s (ANS) referenced “%(name)s” (%(step)s) in the Mon Espace Santé catalogue.\n\n"
                    "%(text)s\n\n%(link)s")),
    Action.REFUSE: Rule(
        permission=Permission.REFERENCING_REVIEW,
        refused=Phrase("Only an application under review can be decided."),
        audit=N_("referencing.refused"), notify=("vendor",), mail_kind="referencing_refused",
        subject=Phrase("Your referencing application was refused"),
        body=Phrase("%(actor)s (ANS) refused the referencing application of “%(name)s” (%(step)s) for these "
                    "reasons:\n\n%(text)s\n\n%(link)s")),
}

# Shown from stored codes (templates: `_(STATUS_LABELS[a.status])`).
STATUS_LABELS: dict[str, str] = {
    AppStatus.FILED: N_("Awaiting review"),
    AppStatus.UNDER_REVIEW: N_("Under review"),
    AppStatus.INFO_REQUESTED: N_("Information requested"),
    AppStatus.REFERENCED: N_("Referenced"),
    AppStatus.REFUSED: N_("Refused"),
}
VERDICT_LABELS: dict[str, str] = {"conforme": N_("Compliant"), "a_completer": N_("To be completed")}
HISTORY_LABELS: dict[str, str] = {
    "filed": N_("Application filed"), "assigned": N_("Assigned"), "verdict": N_("Chapter verified"),
    "info_requested": N_("Information requested"), "chapters_reopened": N_("Questionnaires reopened"),
    "resubmitted": N_("Application resubmitted"), "referenced": N_("Referenced"), "refused": N_("Refused"),
    "flagged": N_("Changed after the decision"),
}


def allowed_actions(actor: Actor | None, status: AppStatus | str, target: Target = None) -> frozenset[Action]:
    """The actions the actor may take on an application in `status` (`target`: the vendor's grant on the
    product, for the vendor's actions)."""
    return frozenset(action for (source, action) in TRANSITIONS
                     if source == status and policy.can(actor, RULES[action].permission,
                                                        None if RULES[action].permission
                                                        == Permission.REFERENCING_REVIEW else target))


def target(status: AppStatus | str, action: Action) -> AppStatus:
    """The status the action leads to from `status`, or Conflict invalid_transition."""
    to = TRANSITIONS.get((AppStatus(status), action))
    if to is None:
        raise Conflict(RULES[action].refused.msgid, code="invalid_transition")
    return to

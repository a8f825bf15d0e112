"""Typed shapes of the responses API (api.md, "Tracks, questionnaires, responses"). Bodies are checked by
`QuestionnaireService` (`invalid_answer`, `stale_version`...). An answer's value stays `Any`: its JSON type is
the item's (`boolean`, `choice`, `multi_choice`, `text`, `number`, `date`)."""

from __future__ import annotations

from typing import Any, Self

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.core.api_docs import UNSET, Integer, Integers, Page, Text, loose
from convergence.questionnaires.models import Item, Questionnaire, Response, Step, Track

Version = loose(OpenAPIType.INTEGER, "The response's version the client last read.")
# Named, not written inline: in a string annotation pyflakes would read the description as a type.
Answers = loose(OpenAPIType.OBJECT, "`{item_id: value}`; `null` clears.")
Planned = loose(OpenAPIType.OBJECT, '`{item_id: "YYYY-MM-DD"}`.')
Unset = msgspec.UnsetType  # a field typed `X | Unset` is left out of the answer while UNSET


class OptionOut(msgspec.Struct, kw_only=True):
    """A choice of a `choice` or `multi_choice` item: answers carry its `value`."""

    value: str
    label: str | None
    label_fr: str | None
    score: float | None


class ConditionOut(msgspec.Struct, kw_only=True):
    """`enable_when`: the item is shown (and required) when the item of code `item` has the answer `equals`, one
    of `in`, or, with neither, any answer."""

    item: str
    equals: Any = UNSET
    in_: list[Any] | Unset = msgspec.field(name="in", default=UNSET)


class BoundsOut(msgspec.Struct, kw_only=True):
    """As declared, not resolved: a number item's `min`, `max`, `integer`, `unit_fr`, `unit_en`; a date item's
    `min` and `max` as "YYYY-MM-DD" or "today" (the date in Europe/Paris when the answer is saved)."""

    min: float | str | None | Unset = UNSET
    max: float | str | None | Unset = UNSET
    integer: bool | Unset = UNSET
    unit_fr: str | Unset = UNSET
    unit_en: str | Unset = UNSET


class ItemOut(msgspec.Struct, kw_only=True):
    """`options`, `enable_when`, `faq_ids` (FAQ entry slugs) and `bounds` are sent only when the item has them."""

    id: int
    code: str
    type: str
    label: str
    label_fr: str
    theme: str
    required: bool
    scored: bool
    options: list[OptionOut] | Unset = UNSET
    enable_when: ConditionOut | Unset = UNSET
    faq_ids: list[str] | Unset = UNSET
    bounds: BoundsOut | Unset = UNSET

    @classmethod
    def of(cls, item: Item) -> ItemOut:
        return cls(
            id=item.id, code=item.code, type=item.type, label=item.label_en, label_fr=item.label_fr,
            theme=item.theme, required=item.required, scored=item.scored,
            options=[OptionOut(value=o["value"], label=o.get("label_en"), label_fr=o.get("label_fr"),
                               score=o.get("score")) for o in item.options] if item.options else UNSET,
            enable_when=msgspec.convert(item.enable_when, ConditionOut) if item.enable_when else UNSET,
            faq_ids=item.faq or UNSET,
            # Built, not converted: a converted bound would turn 5 into 5.0.
            bounds=BoundsOut(**item.bounds) if item.bounds else UNSET)


class QuestionnaireOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    title: str
    title_fr: str
    version: int
    items: list[ItemOut]

    @classmethod
    def of(cls, q: Questionnaire) -> QuestionnaireOut:
        return cls(id=q.id, code=q.code, title=q.title_en, title_fr=q.title_fr, version=q.version,
                   items=[ItemOut.of(i) for i in q.items])


class StepOut(msgspec.Struct, kw_only=True):
    """`requires_commercial_name`: a product enrols in this step only once it has its commercial name."""

    id: int
    code: str
    position: int
    title: str
    title_fr: str
    requires_commercial_name: bool
    questionnaires: list[QuestionnaireOut]

    @classmethod
    def of(cls, s: Step, questionnaires: list[Questionnaire]) -> StepOut:
        return cls(id=s.id, code=s.code, position=s.position, title=s.title_en, title_fr=s.title_fr,
                   requires_commercial_name=s.requires_commercial_name,
                   questionnaires=[QuestionnaireOut.of(q) for q in questionnaires])


class TrackOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    title: str
    title_fr: str
    steps: list[StepOut]


class TracksOut(msgspec.Struct, kw_only=True):
    """Tracks → steps → current questionnaires; `global_strategy`: the company's questionnaires (no step)."""

    items: list[TrackOut]
    global_strategy: list[QuestionnaireOut]

    @classmethod
    def of(cls, tracks: list[Track], questionnaires: list[Questionnaire]) -> TracksOut:
        by_step: dict[int | None, list[Questionnaire]] = {}
        for q in questionnaires:
            by_step.setdefault(q.step_id, []).append(q)
        return cls(items=[TrackOut(id=t.id, code=t.code, title=t.title_en, title_fr=t.title_fr,
                                   steps=[StepOut.of(s, by_step.get(s.id, [])) for s in t.steps]) for t in tracks],
                   global_strategy=[QuestionnaireOut.of(q) for q in by_step.get(None, [])])


class ResponseRowOut(msgspec.Struct, kw_only=True):
    """`status` is `not_started`, `draft`, `submitted` or `validated`; `maturity` goes from 0 to 100."""

    id: int
    questionnaire_id: int
    step_id: int | None
    product_id: int | None
    status: str
    version: int
    revision: int
    maturity: float

    @classmethod
    def of(cls, r: Response, **more: Any) -> Self:
        """The row of `r`; `more`: the fields a subclass adds (the detail's answers, history...)."""
        return cls(id=r.id, questionnaire_id=r.questionnaire_id, step_id=r.step_id, product_id=r.product_id,
                   status=r.status, version=r.version, revision=r.revision, maturity=r.maturity, **more)


class ResponsePage(Page[ResponseRowOut], kw_only=True):
    items: list[ResponseRowOut]


class HistoryEntryOut(msgspec.Struct, kw_only=True):
    """A step of a response's life, oldest first: a transition (`action` is `submitted`, `validated`, `returned`,
    `reopened`..., with `at`, `by` and the return `comment`), then each validated revision kept on reopening
    (`action` is `revision`, with `revision`, `maturity`, `validated_at` and its `answers`)."""

    action: str
    at: str | Unset = UNSET
    by: str | None | Unset = UNSET
    comment: str | None | Unset = UNSET
    revision: int | Unset = UNSET
    maturity: float | Unset = UNSET
    validated_at: str | None | Unset = UNSET
    answers: dict[str, Any] | Unset = UNSET


class ResponseOut(ResponseRowOut, kw_only=True):
    """`answers` and `planned` are keyed by item id; `missing`: the required items not answered yet;
    `allowed_actions`: what the caller may do now (`edit`, `submit`, `validate`, `return`, `reopen`)."""

    answers: dict[str, Any]
    planned: dict[str, str]
    theme_scores: dict[str, float]
    return_comment: str | None
    missing: list[int]
    history: list[HistoryEntryOut]
    allowed_actions: list[str]


class StepsIn(msgspec.Struct, kw_only=True):
    step_ids: Integers = None


class AnswersIn(msgspec.Struct, kw_only=True):
    version: Version = None
    answers: Answers = None
    planned: Planned = None


class CopyFromIn(msgspec.Struct, kw_only=True):
    source_response_id: Integer = None
    version: Version = None


class ReturnIn(msgspec.Struct, kw_only=True):
    comment: Text = None


class EnrolledOut(msgspec.Struct, kw_only=True):
    product_id: int
    step_ids: list[int]
    responses: list[ResponseRowOut]


class SavedOut(msgspec.Struct, kw_only=True):
    version: int
    status: str
    maturity: float


class ItemChangeOut(msgspec.Struct, kw_only=True):
    """An item another save changed: its current `value` (and `text`, as a reader sees it), `planned` date, the
    response's `version` of that change, who and when."""

    item_id: int
    value: Any
    planned: str | None
    version: int
    text: str
    saved_by: str | None
    saved_at: str | None


class AnswersSavedOut(SavedOut, kw_only=True):
    """`changes`: the items others changed after the `version` sent, with their values."""

    changes: list[ItemChangeOut]


class ProjectionPoint(msgspec.Struct, kw_only=True):
    date: str
    maturity: float


class ProjectionOut(msgspec.Struct, kw_only=True):
    points: list[ProjectionPoint]


# ------------------------------------------------------------------ questionnaire versions and the library
# (questionnaires/versions.py, questionnaires/library.py)

class LibraryVersionRef(msgspec.Struct, kw_only=True):
    """One version of a questionnaire: `current` marks the latest, which new enrolments get."""

    id: int
    version: int
    title: str
    title_fr: str
    items: int
    current: bool


class LibraryEntryOut(msgspec.Struct, kw_only=True):
    """A questionnaire of the library; `step_code` null: a global-strategy questionnaire."""

    code: str
    title: str
    title_fr: str
    track_code: str | None
    step_code: str | None
    latest_version: int
    versions: list[LibraryVersionRef]


class LibraryPage(Page[LibraryEntryOut], kw_only=True):
    items: list[LibraryEntryOut]


class LibraryVersionOut(msgspec.Struct, kw_only=True):
    """A version of a questionnaire with its items in order (each with its `theme`)."""

    code: str
    version: int
    title: str
    title_fr: str
    current: bool
    step_code: str | None
    versions: list[int]
    items: list[ItemOut]


class ItemDiffOut(msgspec.Struct, kw_only=True):
    """`kind`: `added`, `removed` or `changed`; for a change, `fields` names what changed (`label`, `type`,
    `options`, `bounds`); `before` and `after` are the item in each version (null where it is absent)."""

    kind: str
    code: str
    fields: list[str]
    before: ItemOut | None
    after: ItemOut | None


class DiffOut(msgspec.Struct, kw_only=True):
    code: str
    from_version: int = msgspec.field(name="from")
    to_version: int = msgspec.field(name="to")
    added: int
    removed: int
    changed: int
    changes: list[ItemDiffOut]


class FlagOut(msgspec.Struct, kw_only=True):
    """A question to look at again after a migration: `kind` is `new` or `changed`."""

    item_id: int
    code: str
    kind: str


class RemovedAnswerOut(msgspec.Struct, kw_only=True):
    """An answer the new version has no place for, kept in the migration's record: `reason` is `removed` (the
    question is gone) or `no_longer_accepted` (the changed question does not accept it)."""

    code: str
    label: str
    label_fr: str
    value: Any
    text: str
    reason: str


class MigratedOut(msgspec.Struct, kw_only=True):
    """A response moved to the latest version; `back_to_draft`: it was validated and is a draft again (its
    validated answers kept as a revision)."""

    response_id: int
    questionnaire_id: int
    from_version: int
    to_version: int
    previous_status: str
    status: str
    back_to_draft: bool
    version: int
    revision: int
    maturity: float
    carried: int
    flagged: list[FlagOut]
    removed: list[RemovedAnswerOut]


class BulkMigratedOut(msgspec.Struct, kw_only=True):
    """`skipped_submitted`: responses on an earlier version left as they are, since they await validation."""

    migrated: list[MigratedOut]
    skipped_submitted: int
    back_to_draft: int


class ConfirmIn(msgspec.Struct, kw_only=True):
    item_id: Integer = None


class FlagsOut(msgspec.Struct, kw_only=True):
    response_id: int
    flags: list[FlagOut]

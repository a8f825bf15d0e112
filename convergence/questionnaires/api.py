"""JSON API, "Tracks, questionnaires, responses" section of api.md."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post, put
from litestar.di import NamedDependency

from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.formatting import local_today
from convergence.core.inputs import MAX_INT
from convergence.core.params import FromPath, JSONBody, Limit, Offset, QueryParameter
from convergence.identity.web import signed_in
from convergence.questionnaires import engine
from convergence.questionnaires.library import LibraryService
from convergence.questionnaires.schemas import (
    AnswersIn,
    AnswersSavedOut,
    BulkMigratedOut,
    ConfirmIn,
    DiffOut,
    FlagOut,
    FlagsOut,
    ItemDiffOut,
    ItemOut,
    LibraryEntryOut,
    LibraryPage,
    LibraryVersionOut,
    LibraryVersionRef,
    MigratedOut,
    RemovedAnswerOut,
    CopyFromIn,
    EnrolledOut,
    HistoryEntryOut,
    ItemChangeOut,
    ProjectionOut,
    ProjectionPoint,
    ResponseOut,
    ResponsePage,
    ResponseRowOut,
    ReturnIn,
    SavedOut,
    StepsIn,
    TracksOut,
)
from convergence.questionnaires.services import QuestionnaireService
from convergence.questionnaires.versions import BulkResult, Migrated, VersionService
from convergence.questionnaires.workflow import Action


SAVE_RULE = """Saves some answers (`answers: {item_id: value}`, `null` clears) and planned compliance dates
(`planned: {item_id: "YYYY-MM-DD"}`, strictly after today and within ten years) of a draft.

Concurrency, per item: `version` is the version of the response at which the client last read the items it sends.
The save is refused with 409 `stale_version` only when one of those items was changed by another save after
that version (by anyone, the same person in another tab included) to a value different from the one sent; the
409 body lists them in `items` (`item_id`, `value`, `planned`, `text`, `version`, `saved_by`, `saved_at`) so the
client can show both values and let the person choose; sending again with the `version` given for an item
keeps the client's value. Saves of different items merge: the answer carries the new `version` and, in
`changes`, the items others changed after the `version` sent, with their values. A value of the wrong type or
outside the item's options or bounds answers 422 `invalid_answer` and saves nothing of the request; a
submitted or validated response answers 409 `not_editable`."""


READ = errors(SIGNED_IN, 404)
WRITE = errors(SIGNED_IN, BODY, 404, 409)
TRANSITION = errors(SIGNED_IN, 404, 409)


class QuestionnairesApi(Controller):
    path = "/api/v1"
    tags = ["Tracks, questionnaires, responses"]
    guards = [signed_in]

    @get("/tracks", responses=errors(SIGNED_IN))
    async def tracks(self, questionnaire_service: NamedDependency[QuestionnaireService]) -> TracksOut:
        tracks = await questionnaire_service.tracks()
        return TracksOut.of(tracks, await questionnaire_service.current_questionnaires())

    @put("/products/{product_id:int}/steps", status_code=200, responses=WRITE)
    async def enrol(self, questionnaire_service: NamedDependency[QuestionnaireService], product_id: FromPath[int],
                    data: JSONBody[StepsIn]) -> EnrolledOut:
        steps = await questionnaire_service.enrol(product_id, data.step_ids)
        responses = await questionnaire_service.product_responses(product_id)
        return EnrolledOut(product_id=product_id, step_ids=steps, responses=[ResponseRowOut.of(r) for r in responses])

    @get("/products/{product_id:int}/responses", responses=READ)
    async def product_responses(self, questionnaire_service: NamedDependency[QuestionnaireService],
                                product_id: FromPath[int]) -> ResponsePage:
        rows = await questionnaire_service.product_responses(product_id)
        return ResponsePage.whole([ResponseRowOut.of(r) for r in rows])

    @get("/companies/{company_id:int}/responses", responses=READ)
    async def company_responses(self, questionnaire_service: NamedDependency[QuestionnaireService],
                                company_id: FromPath[int]) -> ResponsePage:
        rows = await questionnaire_service.company_responses(company_id)
        return ResponsePage.whole([ResponseRowOut.of(r) for r in rows])

    @get("/responses/{response_id:int}", responses=READ)
    async def response(self, questionnaire_service: NamedDependency[QuestionnaireService],
                       response_id: FromPath[int]) -> ResponseOut:
        view = await questionnaire_service.view(response_id)
        r = view.response
        allowed = questionnaire_service.allowed_actions(view)
        return ResponseOut.of(
            r, answers=r.answers, planned=r.planned, theme_scores=r.theme_scores, return_comment=r.return_comment,
            missing=[i.id for i in view.evaluation.missing],
            history=[HistoryEntryOut(**entry) for entry in await questionnaire_service.history(r)],
            # In the workflow's order, as the page offers them (a set has none).
            allowed_actions=[action.value for action in Action if action in allowed])

    @patch("/responses/{response_id:int}/answers", status_code=200, description=SAVE_RULE, responses=WRITE)
    async def save(self, questionnaire_service: NamedDependency[QuestionnaireService], response_id: FromPath[int],
                   data: JSONBody[AnswersIn]) -> AnswersSavedOut:
        result = await questionnaire_service.save_answers(response_id, data.version, data.answers, data.planned)
        r = result.response
        items = {str(i.id): i for i in r.questionnaire.items}
        return AnswersSavedOut(version=r.version, status=r.status, maturity=r.maturity, changes=[
            ItemChangeOut(**c.as_json(items[str(c.item_id)])) for c in result.changes if str(c.item_id) in items])

    @post("/responses/{response_id:int}/copy-from", status_code=200, responses=WRITE)
    async def copy_from(self, questionnaire_service: NamedDependency[QuestionnaireService], response_id: FromPath[int],
                        data: JSONBody[CopyFromIn]) -> SavedOut:
        r = await questionnaire_service.copy_from(response_id, data.source_response_id, data.version)
        return SavedOut(version=r.version, status=r.status, maturity=r.maturity)

    @post("/responses/{response_id:int}/submit", status_code=200, responses=TRANSITION)
    async def submit(self, questionnaire_service: NamedDependency[QuestionnaireService],
                     response_id: FromPath[int]) -> ResponseRowOut:
        return ResponseRowOut.of(await questionnaire_service.submit(response_id))

    @post("/responses/{response_id:int}/validate", status_code=200, responses=TRANSITION)
    async def validate(self, questionnaire_service: NamedDependency[QuestionnaireService],
                       response_id: FromPath[int]) -> ResponseRowOut:
        return ResponseRowOut.of(await questionnaire_service.validate(response_id))

    @post("/responses/{response_id:int}/return", status_code=200, responses=WRITE)
    async def return_for_changes(self, questionnaire_service: NamedDependency[QuestionnaireService],
                                 response_id: FromPath[int], data: JSONBody[ReturnIn]) -> ResponseRowOut:
        return ResponseRowOut.of(await questionnaire_service.return_for_changes(response_id, data.comment))

    @post("/responses/{response_id:int}/reopen", status_code=200, responses=TRANSITION)
    async def reopen(self, questionnaire_service: NamedDependency[QuestionnaireService],
                     response_id: FromPath[int]) -> ResponseRowOut:
        return ResponseRowOut.of(await questionnaire_service.reopen(response_id))

    @get("/responses/{response_id:int}/projection", responses=READ)
    async def projection(self, questionnaire_service: NamedDependency[QuestionnaireService],
                         response_id: FromPath[int]) -> ProjectionOut:
        view = await questionnaire_service.view(response_id)
        points = engine.projection(view.items, view.response.answers, view.response.planned or {}, local_today())
        return ProjectionOut(points=[ProjectionPoint(date=d.isoformat(), maturity=m) for d, m in points])


# ------------------------------------------------------------------ questionnaire versions and the library

def _migrated(m: Migrated) -> MigratedOut:
    r, record = m.response, m.record
    codes = {str(i.id): i.code for i in r.questionnaire.items}
    return MigratedOut(
        response_id=r.id, questionnaire_id=r.questionnaire_id, from_version=record.from_version,
        to_version=record.to_version, previous_status=m.previous_status, status=r.status,
        back_to_draft=m.back_to_draft, version=r.version, revision=r.revision, maturity=r.maturity,
        carried=record.carried,
        flagged=[FlagOut(item_id=int(k), code=codes.get(k, ""), kind=v) for k, v in record.flags.items()],
        removed=[RemovedAnswerOut(code=code, label=entry["label_en"], label_fr=entry["label_fr"],
                                  value=entry["value"], text=entry["text"], reason=entry["reason"])
                 for code, entry in record.removed.items()])


def _bulk(result: BulkResult) -> BulkMigratedOut:
    return BulkMigratedOut(migrated=[_migrated(m) for m in result.migrated],
                           skipped_submitted=result.skipped_submitted, back_to_draft=result.back_to_draft)


MIGRATE_RULE = """Moves the response to the latest version of its questionnaire (managers). Answers are carried
over by item code; questions new or changed (label, type, options or bounds) are flagged (`flagged`) until a
contributor answers or confirms them; answers the new version has no place for are kept in `removed` and in the
response's history. A validated response goes back to draft (`back_to_draft`; its validated answers kept as a
revision). 409 `already_latest` when it already uses the latest version, 409 `awaiting_validation` when it is
submitted."""


class VersionsApi(Controller):
    path = "/api/v1"
    tags = ["Questionnaire library and versions"]
    guards = [signed_in]

    @get("/library", responses=errors(SIGNED_IN))
    async def library(self, library_service: NamedDependency[LibraryService], limit: Limit = 50,
                      offset: Offset = 0) -> LibraryPage:
        entries = await library_service.entries()
        rows = [LibraryEntryOut(
            code=e.code, title=e.latest.title_en, title_fr=e.latest.title_fr,
            track_code=e.step.track.code if e.step else None, step_code=e.step.code if e.step else None,
            latest_version=e.latest.version,
            versions=[LibraryVersionRef(id=q.id, version=q.version, title=q.title_en, title_fr=q.title_fr,
                                        items=len(q.items), current=q.current) for q in e.versions])
            for e in entries]
        return LibraryPage(items=rows[offset:offset + limit], total=len(rows), limit=limit, offset=offset)

    @get("/library/{code:str}/versions/{version:int}", responses=READ)
    async def library_version(self, library_service: NamedDependency[LibraryService], code: FromPath[str],
                              version: FromPath[int]) -> LibraryVersionOut:
        page = await library_service.version(code, version)
        q = page.questionnaire
        return LibraryVersionOut(code=q.code, version=q.version, title=q.title_en, title_fr=q.title_fr,
                                 current=q.current, step_code=page.entry.step.code if page.entry.step else None,
                                 versions=[v.version for v in page.entry.versions],
                                 items=[ItemOut.of(i) for i in q.items])

    @get("/library/{code:str}/diff", responses=READ,
         description="What changed from version `from` to version `to` (by default: from the version before the "
                     "latest to the latest): items added, removed and changed, with both sides.")
    async def library_diff(self, library_service: NamedDependency[LibraryService], code: FromPath[str],
                           from_: Annotated[int | None, QueryParameter(name="from", ge=1, le=MAX_INT)] = None,
                           to: Annotated[int | None, QueryParameter(ge=1, le=MAX_INT)] = None) -> DiffOut:
        diff = await library_service.diff(code, from_, to)
        return DiffOut(code=code, from_version=diff.before.version, to_version=diff.after.version,
                       added=diff.count("added"), removed=diff.count("removed"), changed=diff.count("changed"),
                       changes=[ItemDiffOut(kind=c.kind, code=c.code, fields=c.fields,
                                            before=ItemOut.of(c.before) if c.before else None,
                                            after=ItemOut.of(c.after) if c.after else None) for c in diff.changes])

    @post("/responses/{response_id:int}/migrate", status_code=200, description=MIGRATE_RULE, responses=TRANSITION)
    async def migrate(self, version_service: NamedDependency[VersionService],
                      response_id: FromPath[int]) -> MigratedOut:
        return _migrated(await version_service.migrate(response_id))

    @post("/products/{product_id:int}/migrate", status_code=200, responses=TRANSITION,
          description="Migrates every response of the product on an earlier version (see the response's migrate); "
                      "submitted ones are skipped and counted. 409 when none could be migrated.")
    async def migrate_product(self, version_service: NamedDependency[VersionService],
                              product_id: FromPath[int]) -> BulkMigratedOut:
        return _bulk(await version_service.migrate_product(product_id))

    @post("/companies/{company_id:int}/migrate", status_code=200, responses=TRANSITION,
          description="Migrates every response of the company (products and global strategy) on an earlier "
                      "version; submitted ones are skipped and counted. 409 when none could be migrated.")
    async def migrate_company(self, version_service: NamedDependency[VersionService],
                              company_id: FromPath[int]) -> BulkMigratedOut:
        return _bulk(await version_service.migrate_company(company_id))

    @post("/responses/{response_id:int}/confirm", status_code=200, responses=WRITE,
          description="Confirms the answer of a question flagged by a migration as it stands: the flag clears "
                      "(confirming an unflagged question changes nothing). Answers the remaining flags.")
    async def confirm(self, version_service: NamedDependency[VersionService], response_id: FromPath[int],
                      data: JSONBody[ConfirmIn]) -> FlagsOut:
        response = await version_service.confirm(response_id, data.item_id)
        flags = await version_service.flags(response)
        codes = {i.id: i.code for i in response.questionnaire.items}
        return FlagsOut(response_id=response.id, flags=[FlagOut(item_id=k, code=codes.get(k, ""), kind=v)
                                                        for k, v in sorted(flags.items())])

"""JSON API, "Tracks, questionnaires, responses" section of api.md."""

from __future__ import annotations

from litestar import Controller, get, patch, post, put
from litestar.di import NamedDependency

from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.formatting import local_today
from convergence.core.params import FromPath, JSONBody
from convergence.identity.web import signed_in
from convergence.questionnaires import engine
from convergence.questionnaires.schemas import (
    AnswersIn,
    AnswersSavedOut,
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

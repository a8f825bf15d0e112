"""JSON API, "Tracks, questionnaires, responses" section of api.md."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch, post, put
from litestar.di import Provide

from convergence.core.api_docs import BODY, SIGNED_IN, Page, errors
from convergence.core.formatting import local_today
from convergence.core.params import FromPath, JSONBody
from convergence.identity.web import Ctx, provide_ctx, signed_in
from convergence.questionnaires import engine
from convergence.questionnaires.models import Item, Questionnaire, Track
from convergence.questionnaires.schemas import (
    AnswersIn,
    AnswersSavedOut,
    CopyFromIn,
    EnrolledOut,
    ProjectionOut,
    ProjectionPoint,
    ResponseRowOut,
    ReturnIn,
    SavedOut,
    StepsIn,
)
from convergence.questionnaires.services import QuestionnaireService


def item_json(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.id, "code": item.code, "type": item.type, "label": item.label_en,
                            "label_fr": item.label_fr, "theme": item.theme, "required": item.required,
                            "scored": item.scored}
    if item.options:
        data["options"] = [{"value": o["value"], "label": o.get("label_en"), "label_fr": o.get("label_fr"),
                            "score": o.get("score")} for o in item.options]
    if item.enable_when:
        data["enable_when"] = item.enable_when
    if item.faq:
        data["faq_ids"] = item.faq
    if item.bounds:
        # As declared, not resolved: number {min, max, integer, unit_fr, unit_en}; date {min, max} as
        # "YYYY-MM-DD" or "today" (the date in Europe/Paris when the answer is saved). Every key optional.
        data["bounds"] = item.bounds
    return data


def questionnaire_json(q: Questionnaire) -> dict[str, Any]:
    return {"id": q.id, "code": q.code, "title": q.title_en, "title_fr": q.title_fr, "version": q.version,
            "items": [item_json(i) for i in q.items]}


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
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/tracks", responses=errors(SIGNED_IN))
    async def tracks(self, ctx: Ctx) -> dict[str, Any]:
        service = QuestionnaireService(ctx)
        tracks: list[Track] = await service.tracks()
        by_step: dict[int | None, list[Questionnaire]] = {}
        for q in await service.current_questionnaires():
            by_step.setdefault(q.step_id, []).append(q)
        return {"items": [{"id": t.id, "code": t.code, "title": t.title_en, "title_fr": t.title_fr, "steps": [
            {"id": s.id, "code": s.code, "position": s.position, "title": s.title_en, "title_fr": s.title_fr,
             "requires_commercial_name": s.requires_commercial_name,
             "questionnaires": [questionnaire_json(q) for q in by_step.get(s.id, [])]} for s in t.steps]}
            for t in tracks],
            "global_strategy": [questionnaire_json(q) for q in by_step.get(None, [])]}

    @put("/products/{product_id:int}/steps", status_code=200, responses=WRITE)
    async def enrol(self, ctx: Ctx, product_id: FromPath[int], data: JSONBody[StepsIn]) -> EnrolledOut:
        service = QuestionnaireService(ctx)
        steps = await service.enrol(product_id, data.step_ids)
        responses = await service.product_responses(product_id)
        return EnrolledOut(product_id=product_id, step_ids=steps, responses=[ResponseRowOut.of(r) for r in responses])

    @get("/products/{product_id:int}/responses", responses=READ)
    async def product_responses(self, ctx: Ctx, product_id: FromPath[int]) -> Page[ResponseRowOut]:
        rows = await QuestionnaireService(ctx).product_responses(product_id)
        return Page(items=[ResponseRowOut.of(r) for r in rows], total=len(rows))

    @get("/companies/{company_id:int}/responses", responses=READ)
    async def company_responses(self, ctx: Ctx, company_id: FromPath[int]) -> Page[ResponseRowOut]:
        rows = await QuestionnaireService(ctx).company_responses(company_id)
        return Page(items=[ResponseRowOut.of(r) for r in rows], total=len(rows))

    @get("/responses/{response_id:int}", responses=READ)
    async def response(self, ctx: Ctx, response_id: FromPath[int]) -> dict[str, Any]:
        service = QuestionnaireService(ctx)
        view = await service.view(response_id)
        r = view.response
        return {**msgspec.structs.asdict(ResponseRowOut.of(r)), "answers": r.answers, "planned": r.planned,
                "theme_scores": r.theme_scores, "return_comment": r.return_comment,
                "missing": [i.id for i in view.evaluation.missing],
                "history": await service.history(r)}

    @patch("/responses/{response_id:int}/answers", status_code=200, description=SAVE_RULE, responses=WRITE)
    async def save(self, ctx: Ctx, response_id: FromPath[int], data: JSONBody[AnswersIn]) -> AnswersSavedOut:
        service = QuestionnaireService(ctx)
        result = await service.save_answers(response_id, data.version, data.answers, data.planned)
        r = result.response
        items = {str(i.id): i for i in r.questionnaire.items}
        return AnswersSavedOut(version=r.version, status=r.status, maturity=r.maturity, changes=[
            c.as_json(items[str(c.item_id)]) for c in result.changes if str(c.item_id) in items])

    @post("/responses/{response_id:int}/copy-from", status_code=200, responses=WRITE)
    async def copy_from(self, ctx: Ctx, response_id: FromPath[int], data: JSONBody[CopyFromIn]) -> SavedOut:
        r = await QuestionnaireService(ctx).copy_from(response_id, data.source_response_id, data.version)
        return SavedOut(version=r.version, status=r.status, maturity=r.maturity)

    @post("/responses/{response_id:int}/submit", status_code=200, responses=TRANSITION)
    async def submit(self, ctx: Ctx, response_id: FromPath[int]) -> ResponseRowOut:
        return ResponseRowOut.of(await QuestionnaireService(ctx).submit(response_id))

    @post("/responses/{response_id:int}/validate", status_code=200, responses=TRANSITION)
    async def validate(self, ctx: Ctx, response_id: FromPath[int]) -> ResponseRowOut:
        return ResponseRowOut.of(await QuestionnaireService(ctx).validate(response_id))

    @post("/responses/{response_id:int}/return", status_code=200, responses=WRITE)
    async def return_for_changes(self, ctx: Ctx, response_id: FromPath[int],
                                 data: JSONBody[ReturnIn]) -> ResponseRowOut:
        return ResponseRowOut.of(await QuestionnaireService(ctx).return_for_changes(response_id, data.comment))

    @post("/responses/{response_id:int}/reopen", status_code=200, responses=TRANSITION)
    async def reopen(self, ctx: Ctx, response_id: FromPath[int]) -> ResponseRowOut:
        return ResponseRowOut.of(await QuestionnaireService(ctx).reopen(response_id))

    @get("/responses/{response_id:int}/projection", responses=READ)
    async def projection(self, ctx: Ctx, response_id: FromPath[int]) -> ProjectionOut:
        view = await QuestionnaireService(ctx).view(response_id)
        points = engine.projection(view.items, view.response.answers, view.response.planned or {}, local_today())
        return ProjectionOut(points=[ProjectionPoint(date=d.isoformat(), maturity=m) for d, m in points])

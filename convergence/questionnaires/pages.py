"""Questionnaire pages: enrolment, filling with autosave (HTMX), workflow, maturity and projection chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from convergence.identity.policy import Permission
from convergence.core.charts import chart
from convergence.core.errors import DomainError
from convergence.core.formatting import format_maturity, format_time
from convergence.core.i18n import N_, current_language, gettext
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, redirect, render
from convergence.core.params import FromPath, FromQuery
from convergence.core.web import answers_json
from convergence.identity.web import Ctx, signed_in
from convergence.products.services import ProductService
from convergence.questionnaires import engine, item_types, reference
from convergence.questionnaires.evidence.services import EvidenceService
from convergence.questionnaires.models import Item, Theme
from convergence.questionnaires.workflow import Action
from convergence.questionnaires.worklist import response_progress
from convergence.questionnaires.versions import VersionService
from convergence.questionnaires.services import (
    QuestionnaireService,
    ResponseView,
    SaveResult,
    local_today,
    localized,
)


def value_from_form(item: Item, form: Any) -> Any:
    """Form fields are strings; the item's type reads them, the engine checks the typed value."""
    return item_types.from_form(item, form.getall("value", []))


def form_int(raw: Any) -> Any:
    """A form field as a non-negative integer, or the raw text for the service to refuse with a sentence."""
    number = parse_int(raw)
    return str(raw or "") if number is None else number


@dataclass
class Section:
    theme: str
    title: str
    items: list[Item] = field(default_factory=list)
    done: int = 0
    total: int = 0
    missing: int = 0

    @property
    def state(self) -> str:
        if self.total and self.done == self.total:
            return "done"
        return "in_progress" if self.done else "todo"

    @property
    def state_label(self) -> str:
        return gettext(STATE_LABELS[self.state])

    def as_json(self) -> dict[str, Any]:
        return {"theme": self.theme, "done": self.done, "total": self.total, "missing": self.missing,
                "state": self.state, "label": progress_label(self.done, self.total),
                "state_label": self.state_label}


STATE_LABELS = {"done": N_("Complete"), "in_progress": N_("In progress"), "todo": N_("To do")}


def progress_label(done: int, total: int) -> str:
    return gettext("%(done)s of %(total)s answered", done=done, total=total)


def sections_of(items: list[Item], evaluation: engine.Evaluation, themes: dict[str, Theme]) -> list[Section]:
    """The questionnaire's themes in order, with their completion (enabled items only)."""
    sections: list[Section] = []
    missing = {i.id for i in evaluation.missing}
    for item in items:
        if not sections or sections[-1].theme != item.theme:
            title = localized(themes[item.theme], "title") if item.theme in themes else item.theme
            sections.append(Section(theme=item.theme, title=title))
        sections[-1].items.append(item)
    for section in sections:
        section.done, section.total = evaluation.section_progress.get(section.theme, (0, 0))
        section.missing = sum(1 for i in section.items if i.id in missing)
    return sections


def bounds_view(item: Item, today: date) -> dict[str, Any]:
    """What the page shows of an item's bounds: input limits, the unit, and the hint sentences."""
    bounds = engine.resolved_bounds(item, today)
    return {"min": bounds.get("min"), "max": bounds.get("max"),
            "unit": bounds.get("unit_en" if current_language() == "en" else "unit_fr") or "",
            "hint": " ".join(str(phrase) for phrase in engine.bounds_hint(item, today))}


DONE = {*(a.value for a in Action if a != Action.EDIT), "copy"}  # ?done= after a transition: say what it did


class QuestionnairePages(Controller):
    guards = [signed_in]
    include_in_schema = False

    async def _page_context(self, ctx: Any, view: ResponseView, **extra: Any) -> dict[str, Any]:
        service = QuestionnaireService(ctx)
        response = view.response
        themes = await service.themes()
        by_code = {i.code: i for i in view.items}
        enabled = {i.id for i in view.items if engine.is_enabled(i, response.answers, by_code)}
        sections = sections_of(view.items, view.evaluation, themes)
        allowed = service.allowed_actions(view)
        today = local_today()
        return {"item_bounds": lambda item: bounds_view(item, today), "item_types": item_types.TYPES,
                "planned_window": engine.planned_window(today), "view": view, "response": response,
                "sections": sections, "enabled": enabled,
                "themes": themes, "not_compliant": {i.id for i in engine.not_compliant(view.items, response.answers)},
                "next_missing": view.evaluation.missing[0] if view.evaluation.missing else None,
                "allowed": allowed,
                "chart": chart(engine.projection(view.items, response.answers, response.planned or {}, today)),
                "history": await service.history(response),
                "sources": await service.copy_sources(view) if "edit" in allowed else [],
                "revision_changes": await service.changes_since_validated(view),
                "versions": await VersionService(ctx).state(response, view.grant),  # questionnaires/versions.py
                "feedback": await service.last_transition(response) if extra.get("done") else None,
                "faq": await reference.faq(ctx.session),
                "evidence": await EvidenceService(ctx).by_code(response),  # questionnaires/evidence
                "localized": localized, "errors": {}, "item_errors": {}, **extra}

    @get("/responses/{response_id:int}")
    async def response_page(self, questionnaire_service: NamedDependency[QuestionnaireService],
                            request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int],
                            done: FromQuery[str] = "") -> Any:
        view = await questionnaire_service.view(response_id)
        context = await self._page_context(ctx, view, done=done if done in DONE else "")
        return render(request, "questionnaires/response.html", context)

    @post("/responses/{response_id:int}/answer", status_code=200)
    async def save_answer(self, questionnaire_service: NamedDependency[QuestionnaireService],
                          request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        form = await request.form()
        view = await questionnaire_service.view(response_id)
        item = next((i for i in view.items if str(i.id) == str(form.get("item_id"))), None)
        version = form_int(form.get("version"))
        since = form_int(form.get("since"))
        try:
            if item is None:
                # The questionnaire_service checks the right first, then refuses the unknown question.
                await questionnaire_service.save_answers(response_id, version, {str(form.get("item_id")): None})
                raise AssertionError("unreachable: an unknown question is refused")
            planned = {str(item.id): form.get("planned") or None} if "planned" in form else None
            result = await questionnaire_service.save_answers(
                response_id, version, {str(item.id): value_from_form(item, form)}, planned,
                since=since if isinstance(since, int) else None)
        except DomainError as exc:
            if answers_json(request):
                for change in exc.extra.get("items", []) if exc.code == "stale_version" else []:
                    change["label"] = gettext("Changed by %(name)s at %(time)s", name=change["saved_by"] or "?",
                                              time=format_time(change["saved_at"]))
                raise  # the app's error handler answers JSON to the workspace script
            context = {"message": gettext(exc.message)}
            page = await self._page_context(ctx, view, item_errors={item.id: context} if item else {},
                                            errors=form_errors(exc))
            return render(request, "questionnaires/response.html", page, status=exc.status_code)
        if answers_json(request):
            return self._saved_json(view, result, item)
        return redirect(request, f"/responses/{response_id}#item-{item.id}")

    @staticmethod
    def _saved_json(view: ResponseView, result: SaveResult, item: Item) -> dict[str, Any]:
        """What the workspace needs after a save: the new version, what appeared or disappeared, progress,
        and the answers other people saved since the page last heard from the server."""
        response = result.response
        items = view.items
        by_id = {str(i.id): i for i in items}
        evaluation = result.evaluation
        by_code = {i.code: i for i in items}
        saved_at = format_time(response.last_saved_at)
        return {
            "version": response.version, "status": response.status, "item_id": item.id,
            "saved_label": gettext("Saved at %(time)s", time=saved_at),
            "enabled": [i.id for i in items if engine.is_enabled(i, response.answers, by_code)],
            "not_compliant": [i.id for i in engine.not_compliant(items, response.answers)],
            "sections": [s.as_json() for s in sections_of(items, evaluation, {})],
            "next_missing": evaluation.missing[0].id if evaluation.missing else None,
            "next_missing_label": localized(evaluation.missing[0], "label") if evaluation.missing else None,
            "missing_count": len(evaluation.missing),
            "maturity": format_maturity(response.maturity, response.status),
            "status_label": gettext(response.status.replace("_", " ").capitalize()),
            "changes": [{**c.as_json(by_id[str(c.item_id)]),
                         "label": gettext("Changed by %(name)s at %(time)s", name=c.saved_by or "?",
                                          time=format_time(c.saved_at))}
                        for c in result.changes if str(c.item_id) in by_id],
        }

    async def _transition(self, request: Request[Any, Any, Any], ctx: Any, response_id: int, action: Action) -> Any:
        form = await request.form()
        service = QuestionnaireService(ctx)
        try:
            await service.apply(action, response_id, form.get("comment"))
        except DomainError as exc:
            view = await service.view(response_id)
            missing = exc.extra.get("missing", []) if exc.code == "incomplete" else []
            page = await self._page_context(ctx, view, errors=form_errors(exc), missing=missing,
                                            comment=form.get("comment") or "")
            return render(request, "questionnaires/response.html", page, status=exc.status_code)
        return redirect(request, f"/responses/{response_id}?done={action}")

    @post("/responses/{response_id:int}/submit")
    async def submit(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, Action.SUBMIT)

    @post("/responses/{response_id:int}/validate")
    async def validate(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, Action.VALIDATE)

    @post("/responses/{response_id:int}/return")
    async def return_for_changes(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, Action.RETURN)

    @post("/responses/{response_id:int}/reopen")
    async def reopen(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, Action.REOPEN)

    @post("/responses/{response_id:int}/copy")
    async def copy(self, questionnaire_service: NamedDependency[QuestionnaireService], request: Request[Any, Any, Any],
                   ctx: Ctx, response_id: FromPath[int]) -> Any:
        """Copy answers from another product's response; asks first when answers already given would change."""
        form = await request.form()
        source_id, version = form_int(form.get("source_response_id")), form_int(form.get("version"))
        try:
            preview = await questionnaire_service.copy_preview(response_id, source_id)
            if preview.overwritten and form.get("confirm") != "yes":
                page = await self._page_context(ctx, await questionnaire_service.view(response_id), copy_preview=preview)
                return render(request, "questionnaires/response.html", page)
            await questionnaire_service.copy_from(response_id, source_id, version)
        except DomainError as exc:
            page = await self._page_context(ctx, await questionnaire_service.view(response_id), errors=form_errors(exc))
            return render(request, "questionnaires/response.html", page, status=exc.status_code)
        return redirect(request, f"/responses/{response_id}?done=copy")

    @get("/products/{product_id:int}/questionnaires")
    async def product_questionnaires(self, request: Request[Any, Any, Any], ctx: Ctx,
                                     product_id: FromPath[int]) -> Any:
        return render(request, "questionnaires/product.html", await self._product_context(ctx, product_id))

    async def _product_context(self, ctx: Any, product_id: int, **extra: Any) -> dict[str, Any]:
        service = QuestionnaireService(ctx)
        products = ProductService(ctx)
        product = await products.get(product_id, Permission.PRODUCT_READ)
        responses = await service.product_responses(product_id)
        return {"product": product, "tracks": await service.tracks(),
                "enrolled": set(await service.enrolled_steps(product_id)),
                "responses": responses, "progress": response_progress(responses), "localized": localized,
                "grant": await products.grant(product), "errors": {},
                "versions": await VersionService(ctx).product_versions(product, await products.grant(product)),
                **extra}

    @post("/products/{product_id:int}/questionnaires")
    async def enrol(self, questionnaire_service: NamedDependency[QuestionnaireService], request: Request[Any, Any, Any],
                    ctx: Ctx, product_id: FromPath[int]) -> Any:
        form = await request.form()
        raw = form.getall("step_id", [])
        step_ids = [form_int(s) for s in raw]
        try:
            await questionnaire_service.enrol(product_id, step_ids)
        except DomainError as exc:
            return render(request, "questionnaires/product.html",
                          await self._product_context(ctx, product_id, errors=form_errors(exc)),
                          status=exc.status_code)
        return redirect(request, f"/products/{product_id}/questionnaires")

    @get("/strategy")
    async def strategy(self, questionnaire_service: NamedDependency[QuestionnaireService],
                       request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        rows = await questionnaire_service.company_responses(ctx.company_id)  # type: ignore[arg-type]
        return render(request, "questionnaires/strategy.html", {"responses": rows, "progress": response_progress(rows),
                                                                  "localized": localized})


"""Questionnaire pages: enrolment, filling with autosave (HTMX), workflow, maturity and projection chart."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.plugins.htmx import ClientRefresh
from sqlalchemy import select

from convergence.accounts.models import Role
from convergence.companies.access import Level, member
from convergence.core.errors import Conflict, DomainError
from convergence.core.i18n import gettext
from convergence.core.pages import form_errors, is_htmx, redirect, render
from convergence.core.params import FromPath
from convergence.core.web import Ctx, provide_ctx, signed_in
from convergence.questionnaires import engine
from convergence.questionnaires.models import Item, Response as ResponseRow, Status, Theme
from convergence.questionnaires.services import EDITABLE, QuestionnaireService, ResponseView, localized

CHART_W, CHART_H, PAD = 640, 220, 36


def chart(points: list[tuple[date, float]]) -> dict[str, Any]:
    """Server-side SVG geometry for the projected maturity (readable without JavaScript)."""
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)

    def xy(moment: date, value: float) -> tuple[float, float]:
        x = PAD + (moment - first).days / span * (CHART_W - 2 * PAD)
        y = CHART_H - PAD - value / 100 * (CHART_H - 2 * PAD)
        return round(x, 1), round(y, 1)

    coords = [xy(d, m) for d, m in points]
    # A step line: maturity holds until the next planned date.
    path: list[str] = []
    for index, (x, y) in enumerate(coords):
        if index:
            path.append(f"{x},{coords[index - 1][1]}")
        path.append(f"{x},{y}")
    return {"width": CHART_W, "height": CHART_H, "pad": PAD, "polyline": " ".join(path),
            "dots": [{"x": x, "y": y, "date": d.isoformat(), "maturity": m}
                     for (x, y), (d, m) in zip(coords, points, strict=True)],
            "gridlines": [{"y": CHART_H - PAD - v / 100 * (CHART_H - 2 * PAD), "label": v} for v in (0, 25, 50, 75, 100)],
            "points": points}


def value_from_form(item: Item, form: Any) -> Any:
    """Form fields are strings; the engine checks the typed value."""
    raw = form.getall("value", [])
    raw = [v for v in raw if v is not None]
    if item.type == "multi_choice":
        return [v for v in raw if v]
    value = raw[0] if raw else ""
    if value == "":
        return None
    if item.type == "boolean":
        return {"true": True, "false": False}.get(value, value)
    if item.type == "number":
        try:
            number = float(value.replace(",", "."))
        except ValueError:
            return value  # the engine refuses it with a clear sentence
        return int(number) if number.is_integer() else number
    return value


class QuestionnairePages(Controller):
    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}
    include_in_schema = False

    async def _page_context(self, ctx: Any, view: ResponseView, **extra: Any) -> dict[str, Any]:
        service = QuestionnaireService(ctx)
        response = view.response
        themes = {t.code: t for t in (await ctx.session.scalars(select(Theme))).all()}
        by_code = {i.code: i for i in view.items}
        enabled = {i.id for i in view.items if engine.is_enabled(i, response.answers, by_code)}
        sections: list[dict[str, Any]] = []
        for item in view.items:
            if not sections or sections[-1]["theme"] != item.theme:
                sections.append({"theme": item.theme, "title": localized(themes[item.theme], "title")
                                 if item.theme in themes else item.theme, "items": []})
            sections[-1]["items"].append(item)
        not_compliant = {i.id for i in engine.not_compliant(view.items, response.answers)}
        user = member(ctx)
        sources = [r for r in (await ctx.session.scalars(select(ResponseRow).where(
            ResponseRow.company_id == response.company_id, ResponseRow.id != response.id))).all()
            if r.questionnaire.code == response.questionnaire.code]
        can_edit = view.level >= Level.EDIT and response.status in EDITABLE
        return {"view": view, "response": response, "sections": sections, "enabled": enabled,
                "themes": themes, "not_compliant": not_compliant, "can_edit": can_edit,
                "can_validate": view.level >= Level.VALIDATE and response.status == Status.SUBMITTED,
                "can_reopen": user.role == Role.MANAGER and response.status == Status.VALIDATED,
                "can_submit": view.level >= Level.EDIT and response.status in EDITABLE,
                "chart": chart(engine.projection(view.items, response.answers, response.planned or {},
                                                 date.today())),
                "history": await service.history(response), "sources": sources, "localized": localized,
                "errors": {}, "item_errors": {}, **extra}

    @get("/responses/{response_id:int}")
    async def response_page(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        view = await QuestionnaireService(ctx).view(response_id)
        return render(request, "questionnaires/response.html", await self._page_context(ctx, view))

    @post("/responses/{response_id:int}/answer")
    async def save_answer(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        form = await request.form()
        service = QuestionnaireService(ctx)
        view = await service.view(response_id)
        item = next((i for i in view.items if str(i.id) == str(form.get("item_id"))), None)
        version = str(form.get("version") or "")
        by_code = {i.code: i for i in view.items}
        enabled_before = {i.id for i in view.items if engine.is_enabled(i, view.response.answers, by_code)}
        try:
            number = int(version) if version.isdigit() else version
            if item is None:
                # The service checks the right first, then refuses the unknown question.
                await service.save_answers(response_id, number, {str(form.get("item_id")): None})
            planned = {str(item.id): form.get("planned") or None} if "planned" in form else None
            saved = await service.save_answers(response_id, number, {str(item.id): value_from_form(item, form)},
                                               planned)
        except DomainError as exc:
            context = {"item": item, "message": gettext(exc.message), "extra": exc.extra,
                       "stale": isinstance(exc, Conflict) and exc.code == "stale_version", "response_id": response_id}
            if is_htmx(request):
                return render(request, "questionnaires/_save_error.html", context, status=exc.status_code)
            page = await self._page_context(ctx, view, item_errors={item.id: context} if item else {},
                                            errors=form_errors(exc))
            return render(request, "questionnaires/response.html", page, status=exc.status_code)
        if not is_htmx(request):
            return redirect(request, f"/responses/{response_id}#item-{item.id}")
        enabled_after = {i.id for i in view.items if engine.is_enabled(i, saved.answers, by_code)}
        if enabled_after != enabled_before:
            # Other questions appear or disappear: the page is redrawn from the saved data.
            refresh = ClientRefresh()
            refresh.status_code = 200
            return refresh
        evaluation = engine.evaluate(view.items, saved.answers)
        not_compliant = {i.id for i in engine.not_compliant(view.items, saved.answers)}
        return render(request, "questionnaires/_saved.html", {
            "item": item, "response": saved, "evaluation": evaluation, "not_compliant": not_compliant})

    async def _transition(self, request: Request[Any, Any, Any], ctx: Any, response_id: int, action: str) -> Any:
        form = await request.form()
        service = QuestionnaireService(ctx)
        try:
            if action == "submit":
                await service.submit(response_id)
            elif action == "validate":
                await service.validate(response_id)
            elif action == "return":
                await service.return_for_changes(response_id, form.get("comment"))
            elif action == "reopen":
                await service.reopen(response_id)
            elif action == "copy":
                source = str(form.get("source_response_id") or "")
                version = str(form.get("version") or "")
                await service.copy_from(response_id, int(source) if source.isdigit() else source,
                                        int(version) if version.isdigit() else version)
        except DomainError as exc:
            view = await service.view(response_id)
            missing = exc.extra.get("missing", []) if exc.code == "incomplete" else []
            page = await self._page_context(ctx, view, errors=form_errors(exc), missing=missing)
            return render(request, "questionnaires/response.html", page, status=exc.status_code)
        return redirect(request, f"/responses/{response_id}?done={action}")

    @post("/responses/{response_id:int}/submit")
    async def submit(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, "submit")

    @post("/responses/{response_id:int}/validate")
    async def validate(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, "validate")

    @post("/responses/{response_id:int}/return")
    async def return_for_changes(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, "return")

    @post("/responses/{response_id:int}/reopen")
    async def reopen(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, "reopen")

    @post("/responses/{response_id:int}/copy")
    async def copy(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        return await self._transition(request, ctx, response_id, "copy")

    @get("/products/{product_id:int}/questionnaires")
    async def product_questionnaires(self, request: Request[Any, Any, Any], ctx: Ctx,
                                     product_id: FromPath[int]) -> Any:
        return render(request, "questionnaires/product.html", await self._product_context(ctx, product_id))

    async def _product_context(self, ctx: Any, product_id: int, **extra: Any) -> dict[str, Any]:
        from convergence.products.services import ProductService

        service = QuestionnaireService(ctx)
        product = await ProductService(ctx).get(product_id, Level.READ)
        level = await ProductService(ctx).level(product)
        return {"product": product, "tracks": await service.tracks(),
                "enrolled": set(await service.enrolled_steps(product_id)),
                "responses": await service.product_responses(product_id), "localized": localized,
                "can_edit": level is not None and level >= Level.EDIT, "errors": {}, **extra}

    @post("/products/{product_id:int}/questionnaires")
    async def enrol(self, request: Request[Any, Any, Any], ctx: Ctx, product_id: FromPath[int]) -> Any:
        form = await request.form()
        raw = form.getall("step_id", [])
        step_ids = [int(s) for s in raw if str(s).isdigit()]
        try:
            await QuestionnaireService(ctx).enrol(product_id, step_ids)
        except DomainError as exc:
            return render(request, "questionnaires/product.html",
                          await self._product_context(ctx, product_id, errors=form_errors(exc)),
                          status=exc.status_code)
        return redirect(request, f"/products/{product_id}/questionnaires")

    @get("/strategy")
    async def strategy(self, request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        user = member(ctx)
        rows = await QuestionnaireService(ctx).company_responses(user.company_id)
        return render(request, "questionnaires/strategy.html", {"responses": rows, "localized": localized})


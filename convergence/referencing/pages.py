"""Referencing pages: the vendor's "Référencement Mon Espace Santé" of a product (file, follow, answer ANS), and
an application's page (frozen answers by chapter; for ANS the assignment, the verdicts, the request for
information and the decision). Form posts answer 303; the verdict forms also work over HTMX (the chapter is
swapped in place) and without JavaScript."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency

from convergence.core.errors import Conflict, Invalid
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, is_htmx, redirect, render
from convergence.core.params import FromPath
from convergence.identity.web import signed_in
from convergence.referencing.attachments import MAX_BYTES, Upload
from convergence.referencing.categories import CATEGORIES
from convergence.referencing.services import FilingInput, ReferencingService, localized
from convergence.referencing.workflow import HISTORY_LABELS, STATUS_LABELS, VERDICT_LABELS, Action

FILING_FIELDS = ("commercial_name", "description", "category", "contact_name", "contact_email", "contact_phone",
                 "attachments")


def _texts(form: Any) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _common() -> dict[str, Any]:
    return {"localized": localized, "status_labels": STATUS_LABELS, "verdict_labels": VERDICT_LABELS,
            "categories": CATEGORIES, "history_labels": HISTORY_LABELS, "Action": Action}


class ReferencingPages(Controller):
    path = "/"
    guards = [signed_in]
    include_in_schema = False

    # ------------------------------------------------------------------ vendor: a product's referencing

    async def _product_page(self, service: ReferencingService, request: Request[Any, Any, Any], product_id: int, *,
                            form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                            step_code: str | None = None, status: int = 200) -> Any:
        product, held, steps = await service.readiness(product_id)
        applications = await service.product_applications(product_id, checked=True)
        user = request.scope.get("user")
        defaults = {"commercial_name": product.commercial_name or "", "description": product.description or "",
                    "contact_name": user.full_name if user else "", "contact_email": user.email if user else ""}
        return render(request, "referencing/product.html", {
            "product": product, "grant": held, "steps": steps, "applications": applications,
            "form": form if form is not None else defaults, "errors": errors or {}, "failed_step": step_code,
            "step_titles": {s.code: localized(s, "title") for s in await service.steps()}, **_common()}, status=status)

    @get("/products/{product_id:int}/referencing", media_type=MediaType.HTML)
    async def product(self, referencing_service: NamedDependency[ReferencingService], request: Request[Any, Any, Any],
                      product_id: FromPath[int]) -> Any:
        return await self._product_page(referencing_service, request, product_id)

    @post("/products/{product_id:int}/referencing", media_type=MediaType.HTML)
    async def file(self, referencing_service: NamedDependency[ReferencingService], request: Request[Any, Any, Any],
                   product_id: FromPath[int]) -> Any:
        await referencing_service.may_file(product_id)  # before the upload is read
        form = await request.form()
        values = _texts(form)
        uploads = [Upload(filename=u.filename or "", content=await u.read(MAX_BYTES + 1))
                   for u in form.getall("attachments", []) if isinstance(u, UploadFile) and u.filename]
        try:
            application = await referencing_service.file(product_id, FilingInput.from_mapping(values), uploads)
        except (Invalid, Conflict) as exc:
            return await self._product_page(referencing_service, request, product_id, form=values,
                                            errors=form_errors(exc), step_code=values.get("step_code"),
                                            status=exc.status_code)
        return redirect(request, f"/referencing/applications/{application.id}?filed=1")

    # ------------------------------------------------------------------ an application

    async def _page(self, service: ReferencingService, request: Request[Any, Any, Any], application_id: int, *,
                    errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                    chapter_errors: dict[str, dict[str, str]] | None = None, status: int = 200) -> Any:
        view = await service.view(application_id)
        return render(request, "referencing/application.html", {
            "view": view, "a": view.application, "errors": errors or {}, "form": form or {},
            "filed": request.query_params.get("filed") == "1", "chapter_errors": chapter_errors or {}, **_common()},
            status=status)

    @get("/referencing/applications/{application_id:int}", media_type=MediaType.HTML)
    async def application(self, referencing_service: NamedDependency[ReferencingService],
                          request: Request[Any, Any, Any], application_id: FromPath[int]) -> Any:
        return await self._page(referencing_service, request, application_id)

    @get("/referencing/applications/{application_id:int}/attachments/{attachment_id:int}")
    async def attachment(self, referencing_service: NamedDependency[ReferencingService],
                         application_id: FromPath[int], attachment_id: FromPath[int]) -> Response[bytes]:
        found = await referencing_service.attachment(application_id, attachment_id)
        return Response(found.content, media_type="application/pdf", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})

    async def _act(self, service: ReferencingService, request: Request[Any, Any, Any], application_id: int,
                   action: Any) -> Any:
        """Run a form's action; its refusal re-renders the page with the message (and the form as sent)."""
        form = _texts(await request.form())
        try:
            await action(form)
        except (Invalid, Conflict) as exc:  # a refusal (401, 403, 404) is the error page, not this one
            return await self._page(service, request, application_id, errors=form_errors(exc), form=form,
                                    status=exc.status_code)
        return redirect(request, f"/referencing/applications/{application_id}")

    @post("/referencing/applications/{application_id:int}/assign", media_type=MediaType.HTML)
    async def assign(self, referencing_service: NamedDependency[ReferencingService], request: Request[Any, Any, Any],
                     application_id: FromPath[int]) -> Any:
        # A form sends the id as text; anything but digits stays as sent, for the service to refuse.
        return await self._act(referencing_service, request, application_id, lambda f: referencing_service.assign(
            application_id, parse_int(f.get("assignee_id")) if parse_int(f.get("assignee_id")) is not None
            else (f.get("assignee_id") or None)))

    @post("/referencing/applications/{application_id:int}/verdicts", media_type=MediaType.HTML)
    async def verdict(self, referencing_service: NamedDependency[ReferencingService], request: Request[Any, Any, Any],
                      application_id: FromPath[int]) -> Any:
        form = _texts(await request.form())
        code = form.get("chapter_code")
        errors: dict[str, str] = {}
        status = 200
        try:
            await referencing_service.set_verdict(application_id, code, form.get("verdict"), form.get("comment"))
        except (Invalid, Conflict) as exc:
            errors, status = form_errors(exc), exc.status_code
        if not is_htmx(request):
            if errors:
                # The chapter shows its own messages; the top of the page says that one needs attention.
                general = errors.get("__all__") or next(iter(errors.values()))
                return await self._page(referencing_service, request, application_id, errors={"__all__": general},
                                        chapter_errors={str(code): errors}, status=status)
            anchor = quote(str(code).replace(":", "-"))
            return redirect(request, f"/referencing/applications/{application_id}#chapter-{anchor}")
        view = await referencing_service.view(application_id)
        index = next((i for i, c in enumerate(view.chapters) if c["code"] == code), None)
        if index is None:
            return await self._page(referencing_service, request, application_id, errors=errors, status=status)
        return render(request, "referencing/_chapter.html", {
            "view": view, "a": view.application, "chapter": view.chapters[index], "index": index + 1,
            "chapter_errors": {code: errors} if errors else {}, "form": form, "swapped": True, **_common()},
            status=status)

    @post("/referencing/applications/{application_id:int}/request-info", media_type=MediaType.HTML)
    async def request_info(self, referencing_service: NamedDependency[ReferencingService],
                           request: Request[Any, Any, Any], application_id: FromPath[int]) -> Any:
        return await self._act(referencing_service, request, application_id,
                               lambda f: referencing_service.request_info(application_id, f.get("message")))

    @post("/referencing/applications/{application_id:int}/decision", media_type=MediaType.HTML)
    async def decide(self, referencing_service: NamedDependency[ReferencingService], request: Request[Any, Any, Any],
                     application_id: FromPath[int]) -> Any:
        return await self._act(referencing_service, request, application_id, lambda f: referencing_service.decide(
            application_id, f.get("decision"), f.get("reasons")))

    @post("/referencing/applications/{application_id:int}/reopen", media_type=MediaType.HTML)
    async def reopen(self, referencing_service: NamedDependency[ReferencingService], request: Request[Any, Any, Any],
                     application_id: FromPath[int]) -> Any:
        return await self._act(referencing_service, request, application_id,
                               lambda f: referencing_service.reopen(application_id))

    @post("/referencing/applications/{application_id:int}/resubmit", media_type=MediaType.HTML)
    async def resubmit(self, referencing_service: NamedDependency[ReferencingService], request: Request[Any, Any, Any],
                       application_id: FromPath[int]) -> Any:
        return await self._act(referencing_service, request, application_id,
                               lambda f: referencing_service.resubmit(application_id))

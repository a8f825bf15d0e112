"""Evidence pages: the evidence beside one answer (its list and, for editors, the forms to attach a file or a link
and to remove one), and a response's evidence by question for validators and ANS reviewers.

The forms post with HTMX and get back only this answer's evidence block, so the answer being typed next to it (and
saved by the workspace's autosave) is never touched. Without JavaScript they post as usual and the browser is sent
back to the question on the response page, or to this answer's own page when something must be corrected."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency

from convergence.core.errors import Conflict, Invalid
from convergence.core.pages import form_errors, is_htmx, redirect, render
from convergence.core.params import FromPath
from convergence.identity.web import signed_in
from convergence.questionnaires.answers import answer_text
from convergence.questionnaires.evidence.api import download, read_file
from convergence.questionnaires.evidence.services import EvidenceService, EvidenceView
from convergence.questionnaires.models import Item, Response as QuestionnaireResponse
from convergence.questionnaires.services import localized

ITEM_PAGE, ITEM_PARTIAL = "questionnaires/evidence/item.html", "questionnaires/evidence/_item.html"
# The two forms alone: what the response page's "Add evidence" disclosure loads when first opened.
FORMS_PARTIAL = "questionnaires/evidence/_forms.html"


def _texts(form: Any) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


class EvidencePages(Controller):
    guards = [signed_in]
    include_in_schema = False

    async def _item_page(self, service: EvidenceService, request: Request[Any, Any, Any], response_id: int,
                         item_code: str, *, errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                         kind: str = "", status: int = 200, forms_only: bool = False) -> Any:
        response, item, views = await service.for_item(response_id, item_code)
        return render(request, ITEM_PAGE, self._item_context(service, response, item, views, errors=errors,
                                                             form=form, kind=kind),
                      partial=FORMS_PARTIAL if forms_only and service.editable else ITEM_PARTIAL, status=status)

    @staticmethod
    def _item_context(service: EvidenceService, response: QuestionnaireResponse, item: Item,
                      views: list[EvidenceView], *, errors: dict[str, str] | None = None,
                      form: dict[str, str] | None = None, kind: str = "") -> dict[str, Any]:
        return {"response": response, "item": item, "evidence_views": views, "evidence_editable": service.editable,
                "evidence_errors": {"kind": kind, **(errors or {})} if errors else {},
                "evidence_form": form or {}, "localized": localized,
                "answer": answer_text(item, (response.answers or {}).get(str(item.id)))}

    async def _after_change(self, service: EvidenceService, request: Request[Any, Any, Any], response_id: int,
                            item: Item) -> Any:
        if is_htmx(request):
            return await self._item_page(service, request, response_id, item.code)
        return redirect(request, f"/responses/{response_id}#evidence-{item.id}")

    @get("/responses/{response_id:int}/items/{item_code:str}/evidence", media_type=MediaType.HTML)
    async def item(self, evidence_service: NamedDependency[EvidenceService], request: Request[Any, Any, Any],
                   response_id: FromPath[int], item_code: FromPath[str]) -> Any:
        return await self._item_page(evidence_service, request, response_id, item_code,
                                     forms_only=request.query_params.get("part") == "forms")

    @post("/responses/{response_id:int}/items/{item_code:str}/evidence/file", media_type=MediaType.HTML)
    async def add_file(self, evidence_service: NamedDependency[EvidenceService], request: Request[Any, Any, Any],
                       response_id: FromPath[int], item_code: FromPath[str]) -> Any:
        _response, item = await evidence_service.may_add(response_id, item_code)  # before the upload is read
        form = await request.form()
        values = _texts(form)
        try:
            await evidence_service.add_file(response_id, item_code, await read_file(form), values.get("comment"))
        except (Invalid, Conflict) as exc:
            return await self._item_page(evidence_service, request, response_id, item_code, errors=form_errors(exc),
                                         form=values, kind="file", status=exc.status_code)
        return await self._after_change(evidence_service, request, response_id, item)

    @post("/responses/{response_id:int}/items/{item_code:str}/evidence/link", media_type=MediaType.HTML)
    async def add_link(self, evidence_service: NamedDependency[EvidenceService], request: Request[Any, Any, Any],
                       response_id: FromPath[int], item_code: FromPath[str]) -> Any:
        values = _texts(await request.form())
        try:
            view = await evidence_service.add_link(response_id, item_code, values.get("url"), values.get("comment"))
        except (Invalid, Conflict) as exc:
            return await self._item_page(evidence_service, request, response_id, item_code, errors=form_errors(exc),
                                         form=values, kind="link", status=exc.status_code)
        _response, item = await evidence_service.response_and_item(view.evidence)
        assert item is not None
        return await self._after_change(evidence_service, request, response_id, item)

    @post("/evidence/{evidence_id:int}/remove", media_type=MediaType.HTML)
    async def remove(self, evidence_service: NamedDependency[EvidenceService], request: Request[Any, Any, Any],
                     evidence_id: FromPath[int]) -> Any:
        try:
            evidence = await evidence_service.remove(evidence_id)
        except Conflict as exc:
            found = await evidence_service.get(evidence_id)
            return await self._item_page(evidence_service, request, found.evidence.response_id,
                                         found.evidence.item_code, errors=form_errors(exc), kind="remove",
                                         status=exc.status_code)
        response, item = await evidence_service.response_and_item(evidence)
        if item is None:  # a question the questionnaire's version no longer has: its response's evidence page
            return redirect(request, f"/responses/{response.id}/evidence")
        return await self._after_change(evidence_service, request, response.id, item)

    @get("/evidence/{evidence_id:int}/file")
    async def file(self, evidence_service: NamedDependency[EvidenceService],
                   evidence_id: FromPath[int]) -> Response[bytes]:
        return download(await evidence_service.document(evidence_id))

    @get("/responses/{response_id:int}/evidence", media_type=MediaType.HTML)
    async def for_response(self, evidence_service: NamedDependency[EvidenceService], request: Request[Any, Any, Any],
                           response_id: FromPath[int]) -> Any:
        """Every question's evidence beside its answer: for validators, and for ANS reviewers on the review's
        product page (which loads it with HTMX)."""
        response, views = await evidence_service.for_response(response_id)
        by_code: dict[str, list[EvidenceView]] = {}
        for view in views:
            by_code.setdefault(view.evidence.item_code, []).append(view)
        items = response.questionnaire.items
        rows = [{"item": i, "label": localized(i, "label"), "views": by_code.pop(i.code),
                 "answer": answer_text(i, (response.answers or {}).get(str(i.id)))} for i in items if i.code in by_code]
        # Evidence of questions a newer version of the questionnaire no longer asks: kept, shown last.
        rows += [{"item": None, "label": code, "views": rest, "answer": ""} for code, rest in sorted(by_code.items())]
        return render(request, "questionnaires/evidence/response.html",
                      {"response": response, "evidence_rows": rows, "localized": localized},
                      partial="questionnaires/evidence/_response.html")

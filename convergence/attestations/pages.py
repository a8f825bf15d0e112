"""Attestation pages: the public page and PDF at an unguessable address, the public key, `/verify` (anyone),
and, on a response's page, its attestations with the publish and revoke forms (loaded with HTMX; a plain page
without JavaScript)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency

from convergence.attestations.pdf import render_pdf
from convergence.attestations.services import AttestationService, format_code, normalize_code
from convergence.core.errors import DomainError, NotFound
from convergence.core.i18n import gettext
from convergence.core.pages import form_errors, redirect, render
from convergence.core.params import FromPath, FromQuery
from convergence.identity.web import Ctx, signed_in
from convergence.questionnaires.models import Status
from convergence.questionnaires.services import localized

# A public page's state changes with the response (revoked, reopened): always asked again, never indexed.
PUBLIC_HEADERS = {"Cache-Control": "no-cache", "X-Robots-Tag": "noindex, nofollow"}


class PublicAttestationPages(Controller):
    include_in_schema = False

    @get("/attestations/public-key", media_type="application/x-pem-file")
    async def public_key(self, attestation_service: NamedDependency[AttestationService]) -> Response[str]:
        return Response(attestation_service.public_key_pem, media_type="application/x-pem-file", headers={
            "Content-Disposition": 'inline; filename="convergence-attestations.pem"',
            "Cache-Control": "public, max-age=3600"})

    @get("/attestations/{token:str}")
    async def public(self, attestation_service: NamedDependency[AttestationService], ctx: Ctx,
                     request: Request[Any, Any, Any], token: FromPath[str]) -> Any:
        """The page, or with `.pdf` after the token the PDF (one address a person can read aloud or print)."""
        pdf = token.endswith(".pdf")
        view = await attestation_service.by_token(token.removesuffix(".pdf") if pdf else token)
        if pdf:
            # Laying out the PDF takes a few hundred milliseconds of CPU: off the event loop, in the request's
            # language (to_thread carries the context variables along).
            content = await asyncio.to_thread(render_pdf, view, ctx.settings.static_dir, ctx.settings.base_url)
            return Response(content, media_type="application/pdf", headers={
                **PUBLIC_HEADERS, "Content-Disposition": f'inline; filename="attestation-{view.attestation.code}.pdf"'})
        response = render(request, "attestations/public.html", {"view": view, "base_url": ctx.settings.base_url})
        response.headers.update(PUBLIC_HEADERS)
        return response

    @get("/verify")
    async def verify(self, attestation_service: NamedDependency[AttestationService], ctx: Ctx,
                     request: Request[Any, Any, Any], code: FromQuery[str] = "") -> Any:
        """A GET form: a check is a link one can share, and changes nothing."""
        context: dict[str, Any] = {"code": code, "view": None, "errors": {}, "base_url": ctx.settings.base_url}
        status = 200
        if code.strip():
            if normalize_code(code) is None:
                context["errors"] = {"code": gettext(
                    "A verification code has 12 letters and digits, as printed: for example ABCD-EFGH-JK23.")}
                status = 422
            else:
                try:
                    context["view"] = await attestation_service.by_code(code)
                    context["code"] = format_code(normalize_code(code) or "")
                except NotFound:
                    context["unknown"] = True
                    status = 404
        response = render(request, "attestations/verify.html", context, partial="attestations/_verify_result.html",
                          status=status)
        response.headers.update(PUBLIC_HEADERS)
        return response


class AttestationPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    async def _context(self, ctx: Any, response_id: int, **extra: Any) -> dict[str, Any]:
        view, attestations, may = await AttestationService(ctx).panel(response_id)
        live = any(a.validity.valid for a in attestations)
        return {"response": view.response, "questionnaire": view.questionnaire, "product": view.product,
                "attestations": attestations, "may_publish": may,
                "can_publish": may and view.product is not None and view.response.status == Status.VALIDATED
                and not live, "localized": localized, "errors": {}, **extra}

    @get("/responses/{response_id:int}/attestations")
    async def for_response(self, ctx: Ctx, request: Request[Any, Any, Any], response_id: FromPath[int]) -> Any:
        return render(request, "attestations/response_attestations.html", await self._context(ctx, response_id),
                      partial="attestations/_response_attestations.html")

    @post("/responses/{response_id:int}/attestations")
    async def publish(self, attestation_service: NamedDependency[AttestationService], ctx: Ctx,
                      request: Request[Any, Any, Any], response_id: FromPath[int]) -> Any:
        try:
            view = await attestation_service.publish(response_id)
        except DomainError as exc:
            if exc.status_code not in (409, 422):
                raise
            context = await self._context(ctx, response_id, errors=form_errors(exc))
            return render(request, "attestations/response_attestations.html", context, status=exc.status_code)
        return redirect(request, f"/responses/{view.attestation.response_id or response_id}#attestations")

    @post("/attestations/{attestation_id:int}/revoke")
    async def revoke(self, attestation_service: NamedDependency[AttestationService], ctx: Ctx,
                     request: Request[Any, Any, Any], attestation_id: FromPath[int]) -> Any:
        form = await request.form()
        try:
            view = await attestation_service.revoke(attestation_id, form.get("reason"))
        except DomainError as exc:
            if exc.status_code not in (409, 422):
                raise
            found = await attestation_service.response_of(attestation_id)
            if found is None:
                raise
            context = await self._context(ctx, found, errors={attestation_id: form_errors(exc)},
                                          reasons={attestation_id: form.get("reason") or ""})
            return render(request, "attestations/response_attestations.html", context, status=exc.status_code)
        target = view.attestation.response_id
        return redirect(request, f"/responses/{target}#attestations" if target else "/products")

"""HTML pages for joining: account request, support queue, password, CGU, sign-in, language."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect

from convergence.accounts.models import RequestStatus
from convergence.accounts.services import (
    AuthService,
    Document,
    JoiningService,
    PasswordService,
    RequestInput,
    TermsService,
)
from convergence.accounts.validation import normalise_siren, valid_siren
from convergence.core.errors import Conflict, DomainError, Invalid
from convergence.core.i18n import LANGUAGES, gettext
from convergence.core.mail import MailStatus
from convergence.core.inputs import parse_int
from convergence.identity.mail_views import OutboxService
from convergence.core.pages import form_errors, redirect, render, safe_next
from convergence.identity.policy import Permission
from convergence.core.params import FromPath, FromQuery
from convergence.core import audit
from convergence.core.models import utcnow
from convergence.core.web import CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE, answers_json, retry_after, set_cookie
from convergence.identity.web import Ctx, current_terms_version, requires, signed_in
from convergence.core.security import new_token, session_csrf_token
from convergence.core.ratelimit import settle_early

PAGE_SIZE = 25
JSON = "application/json"


def _form_dict(form: Any) -> dict[str, Any]:
    return {key: value for key, value in form.items() if not isinstance(value, UploadFile)}


async def _login_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Form fields, or a JSON object from a script: {email, password, next}."""
    if request.headers.get("content-type", "").startswith(JSON):
        try:
            body = await request.json()
        except Exception:  # noqa: BLE001 - an unreadable body is a failed sign-in, not a server error
            body = None
        return {k: v for k, v in body.items() if isinstance(v, str)} if isinstance(body, dict) else {}
    return _form_dict(await request.form())


async def _open_session(request: Request[Any, Any, Any], ctx: Any, user: Any) -> tuple[str, str]:
    """A new session id and a new CSRF token at every sign-in (no session fixation, no token carry-over): the
    token of a signed-in browser is bound to its session (`session_csrf_token`)."""
    key = await AuthService(ctx).open_session(user, request.scope["state"].get("session_key"),
                                              request.headers.get("user-agent"))
    return key, session_csrf_token(ctx.settings, key)


def _sign_in_cookies(response: Response[Any], ctx: Any, key: str, csrf_token: str) -> None:
    """The new session and its token; they replace, in the same answer, any cookie the middleware would have
    set or removed (an expired session's removal must not cancel the new session)."""
    set_cookie(response, ctx.settings, SESSION_COOKIE, key)
    set_cookie(response, ctx.settings, CSRF_COOKIE, csrf_token)


async def _enter(request: Request[Any, Any, Any], ctx: Any, user: Any) -> Response[Any]:
    """Someone who just proved they own the address (a password link, a sign-in link) is signed in with a fresh
    session, and goes on to the CGU if the current version is not accepted yet (the terms gate would send them
    there anyway)."""
    current = await current_terms_version(ctx.session)
    accepted = current is None or user.terms_accepted_version == current
    key, csrf_token = await _open_session(request, ctx, user)
    response = redirect(request, "/" if accepted else "/terms?next=/")
    _sign_in_cookies(response, ctx, key, csrf_token)
    return response


class JoiningPages(Controller):
    include_in_schema = False

    @get("/account-request")
    async def request_form(self, request: Request[Any, Any, Any]) -> Any:
        return render(request, "accounts/account_request.html", {"form": {"is_corporate_officer": "yes"},
                                                                  "errors": {}},
                      partial="accounts/_account_request_form.html")

    @post("/account-request")
    async def file_request(self, joining_service: NamedDependency[JoiningService], request: Request[Any, Any, Any],
                           ctx: Ctx) -> Any:
        form = await request.form()
        values = _form_dict(form)
        document = None
        upload = form.get("document")
        if isinstance(upload, UploadFile) and upload.filename:
            # Read one byte past the limit: enough to know it is too large without holding more.
            content = await upload.read(ctx.settings.upload_max_bytes + 1)
            document = Document(filename=upload.filename, content=content)
        try:
            await joining_service.file_request(RequestInput.from_mapping(values), document)
        except DomainError as exc:
            return retry_after(render(request, "accounts/account_request.html",
                                      {"form": values, "errors": form_errors(exc)},
                                      partial="accounts/_account_request_form.html", status=exc.status_code), exc)
        return redirect(request, "/account-request/sent")

    @post("/account-request/check-siren")
    async def check_siren(self, request: Request[Any, Any, Any]) -> Any:
        form = await request.form()
        siren = normalise_siren(form.get("siren"))
        message = "" if not siren or valid_siren(siren) else gettext(
            "The SIREN must be 9 digits with a valid check digit.")
        return render(request, "accounts/_siren_check.html", {"message": message, "siren": siren})

    @get("/account-request/sent")
    async def request_sent(self, request: Request[Any, Any, Any]) -> Any:
        return render(request, "accounts/request_sent.html")


class SignInPages(Controller):
    include_in_schema = False

    @get("/login", opt={"terms_exempt": True})
    async def login_form(self, request: Request[Any, Any, Any]) -> Any:
        return render(request, "accounts/login.html", {"form": {}, "errors": {},
                                                        "next": safe_next(request.query_params.get("next"))})

    @post("/login", opt={"terms_exempt": True})
    async def login(self, auth_service: NamedDependency[AuthService], request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        """The sign-in form; with `Accept: application/json` the page's own scripts sign in without leaving
        the page (the autosave's sign-in dialog) and get the new CSRF token to send their pending saves with."""
        wants_json = answers_json(request)
        form = await _login_body(request)
        next_url = safe_next(form.get("next"))
        try:
            user = await auth_service.authenticate(str(form.get("email") or ""), str(form.get("password") or ""))
        except DomainError as exc:
            if wants_json:
                return retry_after(Response(exc.payload(gettext(exc.message)), status_code=exc.status_code), exc)
            return retry_after(render(request, "accounts/login.html",
                                      {"form": {"email": form.get("email", "")}, "errors": form_errors(exc),
                                       "next": next_url}, status=exc.status_code), exc)
        key, csrf_token = await _open_session(request, ctx, user)
        if wants_json:
            response: Response[Any] = Response({"csrf_token": csrf_token,
                                                "user": {"id": user.id, "full_name": user.full_name}},
                                               status_code=200)
        else:
            response = redirect(request, next_url)
        _sign_in_cookies(response, ctx, key, csrf_token)
        return response

    @post("/logout", opt={"terms_exempt": True})
    async def logout(self, auth_service: NamedDependency[AuthService], request: Request[Any, Any, Any],
                     ctx: Ctx) -> Any:
        await auth_service.close_session(request.scope["state"].get("session_key"))
        response = Redirect("/", status_code=303)
        set_cookie(response, ctx.settings, SESSION_COOKIE, "", max_age=0)
        set_cookie(response, ctx.settings, CSRF_COOKIE, new_token())
        return response

    @post("/lang", opt={"terms_exempt": True})
    async def switch_language(self, request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        form = await request.form()
        lang = form.get("lang") if form.get("lang") in LANGUAGES else "fr"
        response = Redirect(safe_next(form.get("next")), status_code=303)
        set_cookie(response, ctx.settings, LANG_COOKIE, str(lang), max_age=365 * 24 * 3600)
        return response

    @get("/password/set", opt={"terms_exempt": True})
    async def password_form(self, password_service: NamedDependency[PasswordService], request: Request[Any, Any, Any],
                            token: FromQuery[str] = "") -> Any:
        try:
            user = await password_service.user_for_token(token)
        except DomainError as exc:
            return render(request, "accounts/password_invalid.html", {"detail": gettext(exc.message)},
                          status=exc.status_code)
        return render(request, "accounts/password_set.html", {"token": token, "email": user.email, "errors": {}})

    @post("/password/set", opt={"terms_exempt": True})
    async def password_set(self, password_service: NamedDependency[PasswordService], request: Request[Any, Any, Any],
                           ctx: Ctx) -> Any:
        form = await request.form()
        token = str(form.get("token") or "")
        password = str(form.get("password") or "")
        try:
            user = await password_service.user_for_token(token)
        except DomainError as exc:
            return render(request, "accounts/password_invalid.html", {"detail": gettext(exc.message)},
                          status=exc.status_code)
        try:
            if password != str(form.get("password_confirm") or ""):
                raise Invalid("The two passwords differ.", code="password_mismatch",
                              fields={"password_confirm": "The two passwords differ."})
            user = await password_service.set_password(token, password)
        except Invalid as exc:
            return render(request, "accounts/password_set.html",
                          {"token": token, "email": user.email, "errors": form_errors(exc)}, status=422)
        user.last_login_at = utcnow()
        audit.record(ctx.session, "user.signed_in", actor_id=user.id, target_type="user", target_id=user.id,
                     company_id=user.company_id, ip=ctx.ip, via="password_set")
        return await _enter(request, ctx, user)

    @get("/login/link", opt={"terms_exempt": True})
    async def link_form(self, auth_service: NamedDependency[AuthService], request: Request[Any, Any, Any],
                        token: FromQuery[str] = "") -> Any:
        """The one-time sign-in link mailed to a throttled account. Opening it uses nothing (mail scanners
        prefetch links): the page's button signs in."""
        try:
            user = await auth_service.link_user(token)
        except DomainError as exc:
            return render(request, "accounts/password_invalid.html", {"detail": gettext(exc.message)},
                          status=exc.status_code)
        return render(request, "accounts/login_link.html", {"token": token, "email": user.email})

    @post("/login/link", opt={"terms_exempt": True})
    async def link_sign_in(self, auth_service: NamedDependency[AuthService], request: Request[Any, Any, Any],
                           ctx: Ctx) -> Any:
        form = await request.form()
        try:
            user = await auth_service.sign_in_with_link(str(form.get("token") or ""))
        except DomainError as exc:
            return render(request, "accounts/password_invalid.html", {"detail": gettext(exc.message)},
                          status=exc.status_code)
        return await _enter(request, ctx, user)

    @get("/password/forgot", opt={"terms_exempt": True})
    async def forgot_form(self, request: Request[Any, Any, Any]) -> Any:
        return render(request, "accounts/password_forgot.html", {"sent": False, "form": {}, "errors": {}})

    @post("/password/forgot", opt={"terms_exempt": True})
    async def forgot(self, password_service: NamedDependency[PasswordService], request: Request[Any, Any, Any],
                     ctx: Ctx) -> Any:
        form = await request.form()
        email = str(form.get("email") or "")
        try:
            await password_service.request_reset(email, settle=settle_early(request, ctx.session))
        except DomainError as exc:
            return retry_after(render(request, "accounts/password_forgot.html",
                                      {"sent": False, "form": {"email": email}, "errors": form_errors(exc)},
                                      status=exc.status_code), exc)
        return render(request, "accounts/password_forgot.html", {"sent": True})


class TermsPages(Controller):
    include_in_schema = False

    @get("/terms", opt={"terms_exempt": True})
    async def terms(self, terms_service: NamedDependency[TermsService], request: Request[Any, Any, Any]) -> Any:
        terms = await terms_service.current()
        return render(request, "accounts/terms.html", {
            "terms": terms, "next": safe_next(request.query_params.get("next")), "errors": {}})

    @post("/terms/accept", guards=[signed_in], opt={"terms_exempt": True})
    async def accept(self, terms_service: NamedDependency[TermsService], request: Request[Any, Any, Any]) -> Any:
        form = await request.form()
        try:
            if form.get("agree") != "yes":
                raise Invalid("Tick the box to accept the terms.", code="invalid_input",
                              fields={"agree": "Tick the box to accept the terms."})
            version = str(form.get("version") or "")
            number = parse_int(version)
            await terms_service.accept(version if number is None else number)
        except DomainError as exc:
            terms = await terms_service.current()
            return render(request, "accounts/terms.html", {"terms": terms, "next": safe_next(form.get("next")),
                                                            "errors": form_errors(exc)}, status=exc.status_code)
        return redirect(request, safe_next(form.get("next")))


class SupportPages(Controller):
    path = "/support"
    include_in_schema = False

    @get("/requests", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)])
    async def queue(self, joining_service: NamedDependency[JoiningService], request: Request[Any, Any, Any],
                    status: FromQuery[str] = "pending", page: FromQuery[int] = 1) -> Any:
        status = status if status in set(RequestStatus) or status == "" else "pending"
        page = max(page, 1)
        rows, total = await joining_service.list_requests(status or None, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        return render(request, "support/requests.html", {
            "rows": rows, "total": total, "status": status, "page": page,
            "registered": await joining_service.registered_emails(rows),
            "pages": max(1, -(-total // PAGE_SIZE)), "errors": {}})

    @get("/requests/{request_id:int}", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)])
    async def detail(self, joining_service: NamedDependency[JoiningService], request: Request[Any, Any, Any],
                     request_id: FromPath[int]) -> Any:
        row = await joining_service.get_request(request_id)
        return render(request, "support/request_detail.html", {
            "row": row, "errors": {}, "registered": await joining_service.registered_emails([row])})

    @get("/requests/{request_id:int}/document", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)],
         media_type="application/pdf")
    async def document(self, joining_service: NamedDependency[JoiningService],
                       request_id: FromPath[int]) -> Response[bytes]:
        row, content = await joining_service.get_document(request_id)
        return Response(content, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="account-request-{row.id}.pdf"'})

    @post("/requests/{request_id:int}/approve", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)])
    async def approve(self, joining_service: NamedDependency[JoiningService], request: Request[Any, Any, Any],
                      request_id: FromPath[int]) -> Any:
        try:
            await joining_service.approve(request_id)
        except DomainError as exc:
            row = await joining_service.get_request(request_id)
            return render(request, "support/request_detail.html", {"row": row, "errors": form_errors(exc)},
                          partial="support/_request_decision.html", status=exc.status_code)
        row = await joining_service.get_request(request_id)
        return render(request, "support/request_detail.html", {"row": row, "errors": {}},
                      partial="support/_request_decision.html")

    @post("/requests/{request_id:int}/reject", guards=[requires(Permission.ACCOUNT_REQUESTS_REVIEW)])
    async def reject(self, joining_service: NamedDependency[JoiningService], request: Request[Any, Any, Any],
                     request_id: FromPath[int]) -> Any:
        form = await request.form()
        try:
            await joining_service.reject(request_id, str(form.get("reason") or ""))
        except DomainError as exc:
            row = await joining_service.get_request(request_id)
            return render(request, "support/request_detail.html", {"row": row, "errors": form_errors(exc),
                                                                   "reason": form.get("reason", "")},
                          partial="support/_request_decision.html", status=exc.status_code)
        row = await joining_service.get_request(request_id)
        return render(request, "support/request_detail.html", {"row": row, "errors": {}},
                      partial="support/_request_decision.html")

    @get("/outbox", guards=[requires(Permission.OUTBOX_READ)])
    async def outbox(self, outbox_service: NamedDependency[OutboxService], request: Request[Any, Any, Any],
                     recipient: FromQuery[str] = "", status: FromQuery[str] = "", page: FromQuery[int] = 1) -> Any:
        page = max(page, 1)
        status = status if status in set(MailStatus) else ""
        rows, total = await outbox_service.list(recipient or None, PAGE_SIZE, (page - 1) * PAGE_SIZE,
                                                    status=status or None)
        return render(request, "support/outbox.html", {"rows": rows, "total": total, "recipient": recipient,
                                                       "status": status, "statuses": list(MailStatus),
                                                       "page": page, "pages": max(1, -(-total // PAGE_SIZE))})

    @get("/outbox/{message_id:int}", guards=[requires(Permission.OUTBOX_READ)])
    async def outbox_message(self, outbox_service: NamedDependency[OutboxService], request: Request[Any, Any, Any],
                             message_id: FromPath[int]) -> Any:
        return render(request, "support/outbox_message.html", {"message": await outbox_service.get(message_id),
                                                               "errors": {}})

    @post("/outbox/{message_id:int}/retry", guards=[requires(Permission.OUTBOX_RETRY)])
    async def outbox_retry(self, outbox_service: NamedDependency[OutboxService], request: Request[Any, Any, Any],
                           message_id: FromPath[int]) -> Any:
        try:
            await outbox_service.retry(message_id)
        except Conflict as exc:
            return render(request, "support/outbox_message.html", {"message": await outbox_service.get(message_id),
                                                                   "errors": form_errors(exc)},
                          status=exc.status_code)
        return redirect(request, f"/support/outbox/{message_id}?retried=1")

    @get("/terms", guards=[requires(Permission.TERMS_PUBLISH)])
    async def terms_admin(self, terms_service: NamedDependency[TermsService], request: Request[Any, Any, Any]) -> Any:
        return render(request, "support/terms.html", {"current": await terms_service.current(), "errors": {},
                                                      "form": {}})

    @post("/terms", guards=[requires(Permission.TERMS_PUBLISH)])
    async def publish_terms(self, terms_service: NamedDependency[TermsService], request: Request[Any, Any, Any]) -> Any:
        form = await request.form()
        try:
            await terms_service.publish(str(form.get("text_fr") or ""), str(form.get("text_en") or ""))
        except DomainError as exc:
            return render(request, "support/terms.html", {"current": await terms_service.current(),
                                                          "errors": form_errors(exc), "form": _form_dict(form)},
                          status=exc.status_code)
        return redirect(request, "/support/terms")

"""Joining and authentication: every page and API handler goes through these services."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, update

from convergence.accounts.models import (
    AccountRequest,
    AccountRequestDocument,
    ApiToken,
    PasswordToken,
    RequestStatus,
    Role,
    TermsVersion,
    User,
    UserSession,
)
from convergence.accounts.validation import (
    looks_like_pdf,
    normalise_email,
    normalise_siren,
    valid_email,
    valid_siren,
)
from convergence.companies.models import Company
from convergence.companies.team_models import Invitation
from convergence.core import audit, events, ratelimit
from convergence.core.errors import (
    BadRequest,
    Conflict,
    Invalid,
    NotAuthenticated,
    NotFound,
    Throttled,
)
from convergence.core.i18n import gettext as _
from convergence.core.i18n import N_
from convergence.identity.context import Context
from convergence.core.inputs import TextProblem, clean_text
from convergence.core.models import utcnow
from convergence.identity.policy import Permission
from convergence.core.security import (
    hash_password_async,
    new_token,
    password_problems,
    token_digest,
    verify_password_async,
)


class RequestFields(msgspec.Struct, kw_only=True):
    """What an account request states, declared once: `RequestInput` checks it as filed, the API's
    `AccountRequestOut` shows it as stored."""

    company_name: str
    siren: str
    first_name: str
    last_name: str
    email: str
    job_title: str
    is_corporate_officer: bool
    officer_name: str | None


class RequestInput(RequestFields, kw_only=True):
    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> RequestInput:
        """Raw values; `problems()` cleans the texts (NFC, one line, lengths after normalisation)."""
        officer = data.get("is_corporate_officer")
        if isinstance(officer, str):
            officer = officer.lower() in ("1", "true", "yes", "on", "officer")
        return cls(
            company_name=str(data.get("company_name") or ""),
            siren=normalise_siren(data.get("siren")),
            first_name=str(data.get("first_name") or ""),
            last_name=str(data.get("last_name") or ""),
            email=normalise_email(data.get("email")),
            job_title=str(data.get("job_title") or ""),
            is_corporate_officer=bool(officer),
            officer_name=str(data.get("officer_name") or "") or None,
        )

    def problems(self) -> dict[str, str]:
        """What is wrong, per field; the texts are replaced by their cleaned form (as they will be stored)."""
        problems: dict[str, str] = {}
        required = {
            "company_name": (N_("The company name is required."), N_("The company name is too long."), 200),
            "first_name": (N_("The first name is required."), N_("The first name is too long."), 100),
            "last_name": (N_("The last name is required."), N_("The last name is too long."), 100),
            "job_title": (N_("The job title is required."), N_("The job title is too long."), 150),
            "officer_name": (N_("Give the name of the corporate officer who authorized you."),
                             N_("The corporate officer's name is too long (200 characters at most)."), 200),
        }
        if self.is_corporate_officer:
            del required["officer_name"]
            self.officer_name = None
        for name, (missing, too_long, limit) in required.items():
            try:
                value = clean_text(getattr(self, name), max_len=limit, too_long=too_long)
            except TextProblem as problem:
                problems[name] = problem.message
                continue
            setattr(self, name, value or (None if name == "officer_name" else ""))
            if not value:
                problems[name] = missing
        if not valid_siren(self.siren):
            problems["siren"] = N_("The SIREN must be 9 digits with a valid check digit.")
        if not valid_email(self.email):
            problems["email"] = N_("The e-mail address is not valid.")
        return problems


@dataclass
class Document:
    filename: str
    content: bytes


def _first_code(problems: dict[str, str]) -> str:
    if "siren" in problems:
        return "invalid_siren"
    if "email" in problems:
        return "invalid_email"
    return "invalid_input"


class JoiningService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    async def _active_company(self, siren: str) -> Company | None:
        return await self.session.scalar(select(Company).where(Company.siren == siren, Company.active.is_(True)))

    async def _email_taken(self, email: str) -> bool:
        return await self.session.scalar(select(func.count()).select_from(User).where(User.email == email)) > 0

    async def file_request(self, data: RequestInput, document: Document | None = None) -> AccountRequest:
        """File an account request. Whether the address already has an account changes nothing in the answer
        (no enumeration of people): the request is filed and stays pending, support sees that the address is
        registered, and the address's owner is told by mail instead of receiving the acknowledgement."""
        problems = data.problems()
        if document is not None:
            if len(document.content) > self.ctx.settings.upload_max_bytes:
                problems["document"] = N_("The signed form must be at most 5 MB.")
            elif not looks_like_pdf(document.content):
                problems["document"] = N_("The signed form must be a PDF file.")
        if problems:
            raise Invalid(next(iter(problems.values())), code=_first_code(problems), fields=problems)
        await ratelimit.limit_mails(self.ctx, "account_request", data.email)

        company = await self._active_company(data.siren)
        if company is not None:
            await self._tell_managers_of_attempt(company, data)
            raise Conflict(
                "Your company is already represented on Convergence. Ask one of its managers to invite you.",
                code="company_already_represented",
            )
        pending = await self.session.scalar(select(AccountRequest).where(
            AccountRequest.email == data.email, AccountRequest.siren == data.siren,
            AccountRequest.status == RequestStatus.PENDING).order_by(AccountRequest.id).limit(1))
        if pending is not None:
            return pending  # the same request again: answered like the first, nothing new filed or sent

        request = AccountRequest(
            company_name=data.company_name, siren=data.siren, first_name=data.first_name,
            last_name=data.last_name, email=data.email, job_title=data.job_title,
            is_corporate_officer=data.is_corporate_officer,
            officer_name=None if data.is_corporate_officer else data.officer_name,
            status=RequestStatus.PENDING,
        )
        if document is not None:
            request.document_name = document.filename[:255] or "form.pdf"
            request.document_size = len(document.content)
        self.session.add(request)
        await self.session.flush()
        if document is not None:
            self.session.add(AccountRequestDocument(request_id=request.id, content=document.content,
                                                    sha256=hashlib.sha256(document.content).hexdigest()))
        registered = await self._email_taken(data.email)
        self.ctx.audit("account_request.filed", target_type="account_request", target_id=request.id,
                       siren=data.siren, email_registered=registered)
        if registered:
            await self.ctx.mailer.send(
                data.email, _("Your Convergence account request"),
                _("Hello,\n\nAn account request for %(company)s (SIREN %(siren)s) was filed on Convergence with "
                  "this e-mail address, but you already have a Convergence account with it. Sign in: "
                  "%(url)s/login\nForgot your password? Choose a new one: %(url)s/password/forgot\n\n"
                  "If you did not file this request, you can ignore this message. Questions: %(support)s",
                  company=data.company_name, siren=data.siren, url=self.ctx.settings.base_url,
                  support=self.ctx.settings.support_address),
                kind="account_request_existing")
        else:
            await self.ctx.mailer.send(
                data.email, _("Your Convergence account request"),
                _("Hello %(name)s,\n\nWe have received your request to open a Convergence account for %(company)s "
                  "(SIREN %(siren)s). ANS support will review it and write to you.\n\nQuestions: %(support)s",
                  name=data.first_name, company=data.company_name, siren=data.siren,
                  support=self.ctx.settings.support_address),
                kind="account_request_received")
        return request

    async def _tell_managers_of_attempt(self, company: Company, data: RequestInput) -> None:
        """The refused requester must not learn who the managers are; the managers learn who asked (a few times
        per window at most, whoever asks: the notices must not become a way to flood their mailboxes).

        Committed before the 409 is raised: the notice, and the rate events counting this answer, must survive
        the refusal.
        """
        settings = self.ctx.settings
        notices = await ratelimit.hit(self.session, ratelimit.Limit(
            "represented.notice", company.siren, settings.rate_per_target,
            timedelta(minutes=settings.rate_window_minutes)))
        managers = (await self.session.scalars(select(User).where(
            User.company_id == company.id, User.role == Role.MANAGER, User.active.is_(True)))).all()
        for manager in managers if notices.allowed else []:
            await self.ctx.mailer.send(
                manager.email, _("Someone asked to join Convergence for your company"),
                _("Hello,\n\n%(name)s (%(email)s, %(job)s) filed an account request for %(company)s, which you "
                  "already represent on Convergence. The request was refused; if this person should work with you, "
                  "invite them from your team page: %(url)s/team",
                  name=f"{data.first_name} {data.last_name}", email=data.email, job=data.job_title,
                  company=company.name, url=self.ctx.settings.base_url),
                kind="duplicate_company_notice")
        self.ctx.audit("account_request.refused_duplicate", target_type="company", target_id=company.id,
                       company_id=company.id, email=data.email, managers_told=notices.allowed)
        await self.session.commit()

    async def registered_emails(self, requests: list[AccountRequest]) -> set[str]:
        """Which of these requests' addresses already have an account (shown to support: approving them
        would answer 409 `email_already_registered`)."""
        emails = {r.email for r in requests}
        if not emails:
            return set()
        return set((await self.session.scalars(select(User.email).where(User.email.in_(emails)))).all())

    async def pending_count(self) -> int:
        """How many account requests await support (the home page's call to action)."""
        self.ctx.require(Permission.ACCOUNT_REQUESTS_REVIEW)
        return await self.session.scalar(select(func.count()).select_from(AccountRequest).where(
            AccountRequest.status == RequestStatus.PENDING)) or 0

    async def list_requests(self, status: str | None, limit: int = 50, offset: int = 0) -> tuple[list[AccountRequest], int]:
        self.ctx.require(Permission.ACCOUNT_REQUESTS_REVIEW)
        query = select(AccountRequest)
        if status:
            if status not in set(RequestStatus):
                raise Invalid("Unknown status: use pending, approved or rejected.", code="invalid_status")
            query = query.where(AccountRequest.status == status)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (await self.session.scalars(
            query.order_by(AccountRequest.created_at.desc(), AccountRequest.id.desc()).limit(limit).offset(offset))).all()
        return list(rows), total

    async def get_request(self, request_id: int) -> AccountRequest:
        self.ctx.require(Permission.ACCOUNT_REQUESTS_REVIEW)
        request = await self.session.get(AccountRequest, request_id)
        if request is None:
            raise NotFound("This account request does not exist.")
        return request

    async def get_document(self, request_id: int) -> tuple[AccountRequest, bytes]:
        request = await self.get_request(request_id)
        content = await self.session.scalar(
            select(AccountRequestDocument.content).where(AccountRequestDocument.request_id == request.id))
        if content is None:
            raise NotFound("This request has no signed form.")
        return request, content

    async def _pending(self, request_id: int) -> AccountRequest:
        request = await self.get_request(request_id)
        if request.status != RequestStatus.PENDING:
            raise Conflict("This request has already been handled.", code="request_not_pending")
        return request

    async def approve(self, request_id: int) -> tuple[Company, User]:
        request = await self._pending(request_id)
        if await self._active_company(request.siren) is not None:
            raise Conflict("This company is already represented on Convergence.", code="company_already_represented")
        if await self._email_taken(request.email):
            raise Conflict("An account already exists for this e-mail address.", code="email_already_registered")
        company = Company(name=request.company_name, siren=request.siren, active=True)
        self.session.add(company)
        await self.session.flush()
        user = User(email=request.email, first_name=request.first_name, last_name=request.last_name,
                    job_title=request.job_title, role=Role.MANAGER, company_id=company.id, active=True)
        self.session.add(user)
        await self.session.flush()
        request.status = RequestStatus.APPROVED
        request.decided_by_id = self.ctx.actor.id if self.ctx.actor else None
        request.decided_at = utcnow()
        request.company_id = company.id
        request.user_id = user.id
        token = await PasswordService(self.ctx).issue(user, "initialise", self.ctx.settings.password_link_hours)
        link = f"{self.ctx.settings.base_url}/password/set?token={token}"
        await self.ctx.mailer.send(
            user.email, _("Your Convergence account has been created"),
            _("Hello %(name)s,\n\nYour account has been created: you are the manager of %(company)s on Convergence.\n\n"
              "Set your password with this link (valid %(hours)s hours, usable once):\n%(link)s\n\n"
              "Questions: %(support)s",
              name=user.first_name, company=company.name, hours=self.ctx.settings.password_link_hours,
              link=link, support=self.ctx.settings.support_address),
            kind="account_created")
        await events.emit(self.session, events.COMPANY_CREATED, company_id=company.id)
        self.ctx.audit("account_request.approved", target_type="account_request", target_id=request.id,
                       company_id=company.id, user_id=user.id)
        self.ctx.audit("company.created", target_type="company", target_id=company.id, company_id=company.id)
        return company, user

    async def reject(self, request_id: int, reason: str) -> AccountRequest:
        request = await self._pending(request_id)
        reason = (reason or "").strip()
        if not reason:
            raise Invalid("Give the reason for the rejection: the requester will read it.", code="reason_required",
                          fields={"reason": "Give the reason for the rejection: the requester will read it."})
        if len(reason) > 2000:
            raise Invalid("The reason is too long (2,000 characters at most).", code="invalid_input",
                          fields={"reason": "The reason is too long (2,000 characters at most)."})
        request.status = RequestStatus.REJECTED
        request.reason = reason
        request.decided_by_id = self.ctx.actor.id if self.ctx.actor else None
        request.decided_at = utcnow()
        await self.ctx.mailer.send(
            request.email, _("Your Convergence account request"),
            _("Hello %(name)s,\n\nYour account request for %(company)s was not accepted, for this reason:\n\n"
              "%(reason)s\n\nQuestions: %(support)s",
              name=request.first_name, company=request.company_name, reason=reason,
              support=self.ctx.settings.support_address),
            kind="account_request_rejected")
        self.ctx.audit("account_request.rejected", target_type="account_request", target_id=request.id,
                       reason=reason)
        return request


# Links that lead to choosing a password, and the one-time sign-in link of a throttled account: a token works
# only for its own purpose.
PASSWORD_PURPOSES = frozenset({"initialise", "reset", "invitation"})
SIGN_IN_PURPOSE = "sign_in"
SIGN_IN_LINK_MINUTES = 15
# The floor of a password-reset answer (see `request_reset`): above the time of the path that writes a token
# and a mail, commit included, on a loaded server.
RESET_FLOOR_SECONDS = 0.3


class PasswordService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    async def issue(self, user: User, purpose: str, hours: int = 0, *, minutes: int = 0,
                    token: str | None = None) -> str:
        token = token or new_token()
        self.session.add(PasswordToken(user_id=user.id, digest=token_digest(self.ctx.settings, token),
                                       purpose=purpose,
                                       expires_at=utcnow() + timedelta(hours=hours, minutes=minutes)))
        return token

    async def valid_token(self, token: str, purposes: frozenset[str] = PASSWORD_PURPOSES) -> tuple[PasswordToken, User]:
        row = await self.session.scalar(select(PasswordToken).where(
            PasswordToken.digest == token_digest(self.ctx.settings, token or "")))
        user = await self.session.get(User, row.user_id) if row is not None else None
        if (row is None or row.purpose not in purposes or row.used_at is not None or row.expires_at <= utcnow()
                or user is None or not user.active):
            raise BadRequest("This link is invalid, has expired or has already been used. Ask for a new one.",
                             code="invalid_token")
        return row, user

    async def user_for_token(self, token: str) -> User:
        return (await self.valid_token(token))[1]

    async def set_password(self, token: str, password: str) -> User:
        row, user = await self.valid_token(token)
        problems = password_problems(self.ctx.settings, password or "", user.email)
        if problems:
            raise Invalid(" ".join(problems), code="weak_password", fields={"password": " ".join(problems)},
                          problems=problems)
        user.password_hash = await hash_password_async(self.ctx.settings, password)
        now = utcnow()
        # Single use: this link and any other outstanding link for the account stop working.
        await self.session.execute(update(PasswordToken).where(
            PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None)).values(used_at=now))
        row.used_at = now
        # Setting the password from an invitation fulfils it.
        await self.session.execute(update(Invitation).where(
            Invitation.user_id == user.id, Invitation.status == "pending").values(status="accepted"))
        # A new password ends every existing session and API token of the account.
        await self.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        await self.session.execute(update(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))
        self.ctx.audit("user.password_set", target_type="user", target_id=user.id, company_id=user.company_id,
                       purpose=row.purpose)
        return user

    async def request_reset(self, email: str, *, settle: Callable[[], Awaitable[None]] | None = None) -> None:
        """Always the same answer, in the same time, whether or not the address has an account.

        Same answer: counted against the rate limits (per client address and per target address) before the
        account is looked up, and nothing else is said. Same time: otherwise the delay would say what the
        answer hides — the known address's path writes a token and queues a mail (with an SMTP relay, waits for
        it), the unknown one does neither. So both paths do the same lookups, draw a token and compose the mail,
        write the same audit event, flush inside the padded block, and the call is padded to
        RESET_FLOOR_SECONDS. `settle` (the handler's commit, which also hands the write lock on) runs inside the
        padding, so that the commit's cost is covered and the wait holds no lock.
        """
        email = normalise_email(email)
        await ratelimit.limit_mails(self.ctx, "password_reset", email)
        if not valid_email(email):
            return  # malformed: nothing to hide, nothing to pad
        async with ratelimit.at_least(RESET_FLOOR_SECONDS):
            await self._reset(email)
            await self.session.flush()
            if settle is not None:
                await settle()

    async def _reset(self, email: str) -> None:
        user = await self.session.scalar(select(User).where(User.email == email))
        known = user is not None and user.active
        token = new_token()
        subject = _("Reset your Convergence password")
        body = _("Hello %(name)s,\n\nSomeone (probably you) asked to reset your Convergence password. "
                 "Choose a new one with this link (valid 2 hours, usable once):\n%(link)s\n\n"
                 "If you did not ask, ignore this message.",
                 name=user.first_name if known else "", link=f"{self.ctx.settings.base_url}/password/set?token={token}")
        self.ctx.audit("user.password_reset_requested", target_type="user", target_id=user.id if known else None,
                       company_id=user.company_id if known else None)
        if known:
            await self.issue(user, "reset", 2, token=token)
            await self.ctx.mailer.send(user.email, subject, body, kind="password_reset")


@dataclass
class Credentials:
    user: User
    token: str
    expires_at: datetime


class AuthService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.settings = ctx.settings

    def _limits(self, email: str, ip: str) -> tuple[ratelimit.Limit, ratelimit.Limit]:
        """Failed sign-ins, counted per account (known or not) and per client address over the window."""
        window = timedelta(minutes=self.settings.throttle_window_minutes)
        return (ratelimit.Limit("sign_in.account", email, self.settings.throttle_per_account, window),
                ratelimit.Limit("sign_in.address", ratelimit.address_key(ip), self.settings.throttle_per_address,
                                window))

    async def authenticate(self, email: str, password: str) -> User:
        """A password sign-in. Count, check and record happen one attempt at a time per account and per address
        (`ratelimit.serialize`): without it, 24 parallel wrong passwords got 22 password checks on PostgreSQL
        instead of 5.

        An account with too many failures refuses password sign-in (429, whether or not it exists) but is never
        locked for its owner: it is mailed a one-time sign-in link, which bypasses both throttles."""
        email = normalise_email(email)
        ip = self.ctx.ip or "unknown"
        account, address = self._limits(email, ip)
        await ratelimit.serialize(self.session, (account, address))
        by_account = await ratelimit.verdict(self.session, account)
        if not by_account.allowed:
            await self._offer_link(email)
            await self.session.commit()  # the link and its rate event survive the 429
            raise Throttled("Too many failed sign-in attempts for this e-mail address. If it has an account, a "
                            "one-time sign-in link has just been sent to it; otherwise wait 15 minutes and try "
                            "again.", retry_after=by_account.retry_after)
        by_address = await ratelimit.verdict(self.session, address)
        if not by_address.allowed:
            raise Throttled("Too many failed sign-in attempts. Wait 15 minutes and try again.",
                            retry_after=by_address.retry_after)
        user = await self.session.scalar(select(User).where(User.email == email))
        ok = await verify_password_async(self.settings, password or "", user.password_hash if user else None)
        if not ok or user is None or not user.active:
            # The failure must be counted although the request ends in 401, so it is committed here; nothing
            # else has been written by this unit of work yet.
            await ratelimit.record(self.session, account, address)
            audit.record(self.session, "user.sign_in_failed", actor_id=None, target_type="user",
                         target_id=user.id if user else None, ip=ip)
            await self.session.commit()
            raise NotAuthenticated("Wrong e-mail address or password.", code="invalid_credentials")
        await self._signed_in(user, "password")
        return user

    async def _signed_in(self, user: User, method: str) -> None:
        await ratelimit.clear(self.session, "sign_in.account", user.email)
        user.last_login_at = utcnow()
        audit.record(self.session, "user.signed_in", actor_id=user.id, target_type="user", target_id=user.id,
                     company_id=user.company_id, ip=self.ctx.ip, method=method)

    async def _offer_link(self, email: str) -> None:
        """The owner of a throttled account gets a one-time sign-in link, at most once per window. Counted for
        every address, known or not, like the failures."""
        window = timedelta(minutes=self.settings.throttle_window_minutes)
        offer = await ratelimit.hit(self.session, ratelimit.Limit("sign_in.link", email, 1, window))
        user = await self.session.scalar(select(User).where(User.email == email))
        if not offer.allowed or user is None or not user.active or user.password_hash is None:
            return
        token = await PasswordService(self.ctx).issue(user, SIGN_IN_PURPOSE, minutes=SIGN_IN_LINK_MINUTES)
        await self.ctx.mailer.send(
            user.email, _("Sign in to Convergence"),
            _("Hello %(name)s,\n\nThere have been several failed attempts to sign in to your Convergence account "
              "with a wrong password, so signing in with the password is paused for a while.\n\n"
              "If it was you, sign in with this link (valid %(minutes)s minutes, usable once):\n%(link)s\n\n"
              "If it was not you, someone may be trying to guess your password: your account stays closed to "
              "them. You may choose a new password from the sign-in page.",
              name=user.first_name, minutes=SIGN_IN_LINK_MINUTES,
              link=f"{self.settings.base_url}/login/link?token={token}"),
            kind="sign_in_link")
        audit.record(self.session, "user.sign_in_link_sent", actor_id=None, target_type="user", target_id=user.id,
                     company_id=user.company_id, ip=self.ctx.ip)

    async def link_user(self, token: str) -> User:
        """Whose sign-in link this is, without using it (the page a mail scanner may prefetch)."""
        return (await PasswordService(self.ctx).valid_token(token, frozenset({SIGN_IN_PURPOSE})))[1]

    async def sign_in_with_link(self, token: str) -> User:
        """The link proves the mailbox: it signs in whatever the throttles say, clears the account's failures,
        and stops working."""
        row, user = await PasswordService(self.ctx).valid_token(token, frozenset({SIGN_IN_PURPOSE}))
        now = utcnow()
        await self.session.execute(update(PasswordToken).where(
            PasswordToken.user_id == user.id, PasswordToken.purpose == SIGN_IN_PURPOSE,
            PasswordToken.used_at.is_(None)).values(used_at=now))
        row.used_at = now
        await self._signed_in(user, "link")
        return user

    async def open_session(self, user: User, previous_key: str | None, user_agent: str | None) -> str:
        """A fresh key at every sign-in; the previous session (if any) is destroyed, not reused."""
        if previous_key:
            await self.session.execute(delete(UserSession).where(
                UserSession.digest == token_digest(self.settings, previous_key)))
        key = new_token()
        now = utcnow()
        self.session.add(UserSession(
            user_id=user.id, digest=token_digest(self.settings, key), last_seen_at=now,
            expires_at=now + timedelta(hours=self.settings.session_absolute_hours),
            ip=self.ctx.ip, user_agent=(user_agent or "")[:300]))
        return key

    async def close_session(self, key: str | None) -> None:
        if not key:
            return
        row = await self.session.scalar(select(UserSession).where(
            UserSession.digest == token_digest(self.settings, key)))
        if row is not None:
            await self.session.delete(row)
            audit.record(self.session, "user.signed_out", actor_id=row.user_id, target_type="user",
                         target_id=row.user_id, ip=self.ctx.ip)

    async def issue_api_token(self, user: User) -> Credentials:
        token = new_token()
        expires_at = utcnow() + timedelta(hours=self.settings.api_token_hours)
        self.session.add(ApiToken(user_id=user.id, digest=token_digest(self.settings, token), expires_at=expires_at))
        audit.record(self.session, "api_token.issued", actor_id=user.id, target_type="user", target_id=user.id,
                     company_id=user.company_id, ip=self.ctx.ip)
        return Credentials(user=user, token=token, expires_at=expires_at)

    async def revoke_api_token(self, token: str) -> None:
        await self.session.execute(update(ApiToken).where(
            ApiToken.digest == token_digest(self.settings, token), ApiToken.revoked_at.is_(None)
        ).values(revoked_at=utcnow()))
        if self.ctx.actor is not None:
            audit.record(self.session, "api_token.revoked", actor_id=self.ctx.actor.id, target_type="user",
                         target_id=self.ctx.actor.id, company_id=self.ctx.actor.company_id, ip=self.ctx.ip)


class TermsService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    async def current(self) -> TermsVersion:
        terms = await self.session.scalar(select(TermsVersion).order_by(TermsVersion.version.desc()).limit(1))
        if terms is None:
            raise NotFound("No terms of use have been published yet.")
        return terms

    async def accept(self, version: object) -> None:
        user = self.ctx.actor
        if user is None:
            raise NotAuthenticated("Please sign in.")
        current = await self.current()
        if not isinstance(version, int) or isinstance(version, bool) or version != current.version:
            raise Conflict("This is not the current version of the terms: read and accept the current one.",
                           code="terms_version_mismatch", current_version=current.version)
        user.terms_accepted_version = current.version
        user.terms_accepted_at = utcnow()
        self.ctx.audit("user.terms_accepted", target_type="user", target_id=user.id, company_id=user.company_id,
                       version=current.version)

    async def publish(self, text_fr: str, text_en: str) -> TermsVersion:
        self.ctx.require(Permission.TERMS_PUBLISH)
        text_fr, text_en = (text_fr or "").strip(), (text_en or "").strip()
        if not text_fr or not text_en:
            raise Invalid("Both the French and the English text are required.", code="invalid_input")
        latest = await self.session.scalar(select(func.max(TermsVersion.version))) or 0
        terms = TermsVersion(version=latest + 1, text_fr=text_fr, text_en=text_en, published_at=utcnow(),
                             published_by_id=self.ctx.actor.id if self.ctx.actor else None)
        self.session.add(terms)
        await self.session.flush()
        self.ctx.audit("terms.published", target_type="terms_version", target_id=terms.id, version=terms.version)
        return terms

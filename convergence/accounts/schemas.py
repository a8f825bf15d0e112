"""Typed shapes of the joining, sign-in, terms and outbox API (api.md, "Joining"). Request fields are checked by
the services, which answer with their own codes (`invalid_siren`, `invalid_email`, `weak_password`...)."""

from __future__ import annotations

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.accounts.models import AccountRequest, User
from convergence.accounts.services import RequestFields
from convergence.core.api_docs import UNSET, Flag, Integer, Page, Text, loose

# Named, not written inline: in a string annotation pyflakes would read the description as a type.
Siren = loose(OpenAPIType.STRING, "Nine digits (spaces allowed).")


class AccountRequestIn(msgspec.Struct, kw_only=True):
    company_name: Text = UNSET
    siren: Siren = UNSET
    first_name: Text = UNSET
    last_name: Text = UNSET
    email: Text = UNSET
    job_title: Text = UNSET
    is_corporate_officer: Flag = UNSET
    officer_name: Text = UNSET


class AccountRequestFiled(msgspec.Struct, kw_only=True):
    id: int
    status: str


class AccountRequestOut(RequestFields, kw_only=True):
    """The fields filed, then the request's course; `email_registered`: the address already has an account
    (approving would answer 409)."""

    id: int
    status: str
    reason: str | None
    created_at: str
    decided_at: str | None
    company_id: int | None
    user_id: int | None
    has_document: bool
    email_registered: bool

    @classmethod
    def of(cls, r: AccountRequest, registered: set[str] | frozenset[str] = frozenset()) -> AccountRequestOut:
        return cls(
            id=r.id, status=r.status, company_name=r.company_name, siren=r.siren, first_name=r.first_name,
            last_name=r.last_name, email=r.email, job_title=r.job_title, is_corporate_officer=r.is_corporate_officer,
            officer_name=r.officer_name, reason=r.reason, created_at=r.created_at.isoformat(),
            decided_at=r.decided_at.isoformat() if r.decided_at else None, company_id=r.company_id,
            user_id=r.user_id, has_document=r.document_size is not None, email_registered=r.email in registered)


class ApprovedOut(msgspec.Struct, kw_only=True):
    company_id: int
    user_id: int


class RejectIn(msgspec.Struct, kw_only=True):
    reason: Text = None


class PasswordSetIn(msgspec.Struct, kw_only=True):
    token: Text = None
    password: Text = None


class EmailIn(msgspec.Struct, kw_only=True):
    email: Text = None


class CredentialsIn(msgspec.Struct, kw_only=True):
    email: Text = None
    password: Text = None


class DetailOut(msgspec.Struct, kw_only=True):
    detail: str


class TokenOut(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_at: str


class MeOut(msgspec.Struct, kw_only=True):
    """`role` is `support`, `reviewer`, `manager` or `contributor`."""

    id: int
    email: str
    first_name: str
    last_name: str
    role: str
    company_id: int | None
    terms_accepted_version: int | None

    @classmethod
    def of(cls, user: User) -> MeOut:
        return cls(id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name,
                   role=user.role, company_id=user.company_id, terms_accepted_version=user.terms_accepted_version)


class TermsOut(msgspec.Struct, kw_only=True):
    version: int
    text: str
    published_at: str


class TermsAcceptIn(msgspec.Struct, kw_only=True):
    version: Integer = None


class OutboxMessageOut(msgspec.Struct, kw_only=True):
    id: int
    recipient: str
    subject: str
    body: str
    kind: str
    created_at: str
    sent_at: str | None
    status: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None


class AccountRequestPage(Page[AccountRequestOut], kw_only=True):
    items: list[AccountRequestOut]


class OutboxMessagePage(Page[OutboxMessageOut], kw_only=True):
    items: list[OutboxMessageOut]

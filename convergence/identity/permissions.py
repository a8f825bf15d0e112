"""Permissions are named once here; guards and services ask for names, never for roles."""

from __future__ import annotations

from enum import StrEnum

from convergence.accounts.models import Role


class Permission(StrEnum):
    ACCOUNT_REQUESTS_REVIEW = "account_requests:review"
    OUTBOX_READ = "outbox:read"
    OUTBOX_RETRY = "outbox:retry"
    TERMS_PUBLISH = "terms:publish"
    COMPANIES_READ_ALL = "companies:read_all"
    REVIEW_READ = "review:read"
    REVIEW_COMMENT = "review:comment"
    FAQ_FEEDBACK_READ = "faq:feedback_read"
    TEAM_READ = "team:read"
    TEAM_INVITE = "team:invite"
    TEAM_MANAGE = "team:manage"
    PRODUCTS_CREATE = "products:create"
    RESPONSES_REOPEN = "responses:reopen"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.SUPPORT: frozenset({
        Permission.ACCOUNT_REQUESTS_REVIEW, Permission.OUTBOX_READ, Permission.OUTBOX_RETRY,
        Permission.TERMS_PUBLISH, Permission.COMPANIES_READ_ALL, Permission.REVIEW_READ, Permission.FAQ_FEEDBACK_READ,
    }),
    Role.REVIEWER: frozenset({
        Permission.COMPANIES_READ_ALL, Permission.REVIEW_READ, Permission.REVIEW_COMMENT,
    }),
    Role.MANAGER: frozenset({
        Permission.TEAM_READ, Permission.TEAM_INVITE, Permission.TEAM_MANAGE,
        Permission.PRODUCTS_CREATE, Permission.RESPONSES_REOPEN,
    }),
    Role.CONTRIBUTOR: frozenset({Permission.TEAM_READ, Permission.TEAM_INVITE, Permission.PRODUCTS_CREATE}),
}


def has_permission(role: str | None, permission: Permission) -> bool:
    return role is not None and permission in ROLE_PERMISSIONS.get(role, frozenset())

"""Domain errors: a status, a machine code and a human sentence (an English msgid, translated for pages)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra

    def payload(self, detail: str) -> dict[str, Any]:
        return {"detail": detail, "code": self.code, **self.extra}


class BadRequest(DomainError):
    status_code = 400


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None, **extra: Any):
        super().__init__(message, code=code, **extra)
        self.fields = fields or {}


class Throttled(DomainError):
    status_code = 429
    code = "throttled"


class TermsNotAccepted(Forbidden):
    code = "terms_not_accepted"

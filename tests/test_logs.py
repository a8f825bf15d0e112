"""No secrets in logs: password-link tokens are redacted from access-log lines."""

from __future__ import annotations

import logging

from convergence.core.logs import RedactSecrets


def test_access_log_lines_lose_their_token():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/password/set?token=abcDEF-123_x&lang=fr", "1.1", 200),
                               None)
    RedactSecrets().filter(record)
    line = record.getMessage()
    assert "abcDEF-123_x" not in line and "token=[redacted]&lang=fr" in line

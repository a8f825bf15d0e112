"""Keep secrets out of logs: the password links carry their token in the query string."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"((?:token|password)=)[^&\s\"']+", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(_SECRET.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                                for a in (record.args if isinstance(record.args, tuple) else (record.args,)))
        if isinstance(record.msg, str):
            record.msg = _SECRET.sub(r"\1[redacted]", record.msg)
        return True


def install() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "convergence"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())

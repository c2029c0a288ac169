"""Logging as the operator chose (`text` or `json`), with secrets masked in every record."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# Slack tokens (xoxb-, xoxp-, xapp-, …) and HubSpot private-app tokens (pat-…).
SECRET = re.compile(r"\b(xox[abeoprs]-|xapp-|pat-(?:na|eu)\d?-)[A-Za-z0-9-]+")


def mask(text: str) -> str:
    """`text` with anything shaped like a token replaced by its prefix and `***`."""
    return SECRET.sub(lambda m: f"{m.group(1)}***", text)


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return mask(json.dumps(entry, ensure_ascii=False))


def configure_logging(level: int, fmt: str) -> None:
    """Send logs to stderr in `fmt` (`text` or `json`) at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

"""How a fake Slack method refuses a call."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """Raised by a handler: answered as `{"ok": false, "error": code, **extra}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code, self.extra = code, extra

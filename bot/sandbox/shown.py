"""`Shown`: one visible thing the bot did in the fake Slack, as `FakeSlack.watch` reports it."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

Kind = Literal["message", "reply", "edit", "ephemeral", "response", "home", "modal", "file"]
KINDS: tuple[Kind, ...] = (
    "message",
    "reply",
    "edit",
    "ephemeral",
    "response",
    "home",
    "modal",
    "file",
)


@dataclass(frozen=True)
class Shown:
    """A message posted, replied in a thread, edited or sent privately; a view; a file shared."""

    kind: Kind
    channel: str | None  # a channel or user id as the bot gave it; None when Slack chose
    text: str = ""  # the message's fallback text; a file's initial comment
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None  # the thread a reply (or a file) went to
    user: str | None = None  # who alone sees it (ephemeral), whose Home tab it is
    ts: str | None = None  # the message's timestamp (for an edit, the edited message's)
    name: str | None = None  # a file's name
    title: str | None = None  # a file's title, a modal's title
    size: int | None = None  # a file's size in bytes
    alt: str | None = None  # a file's alt text
    view: dict[str, Any] | None = None  # the whole view, for "home" and "modal"
    replaces: bool = False  # a response that replaces the original message; a modal updated
    public: bool = False  # a response posted in the channel (`response_type: in_channel`)
    origin: str = ""  # what a response answers, as `FakeSlack.response_url(origin=…)` was told


Watcher = Callable[[Shown], None]


class Watchers:
    """The callbacks told of each `Shown`, in the order the fake made them, outside its lock."""

    def __init__(self) -> None:
        self._callbacks: list[Watcher] = []
        self._pending: deque[Shown] = deque()
        self._lock = threading.Lock()  # guards the two lists
        # One thread tells at a time, draining what every thread queued: the order holds even
        # when requests overlap, and a request's own `Shown` is told before its answer leaves.
        self._telling = threading.Lock()
        self._failed = False

    def add(self, callback: Watcher) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def queue(self, shown: Shown) -> None:
        """Called under the fake's lock, so the queue's order is the fake's."""
        with self._lock:
            if self._callbacks:  # nobody watching: keep nothing
                self._pending.append(shown)

    def tell(self) -> None:
        """Call every callback with what is queued; a failing callback never breaks the fake."""
        with self._telling:
            while True:
                with self._lock:
                    if not self._pending:
                        return
                    shown = self._pending.popleft()
                    callbacks = list(self._callbacks)
                for callback in callbacks:
                    try:
                        callback(shown)
                    except Exception:
                        self._report_failure(callback)

    def _report_failure(self, callback: Watcher) -> None:
        # Once: a broken printer would otherwise repeat the same traceback for every message.
        if not self._failed:
            self._failed = True
            log.exception(
                "a FakeSlack watcher (%r) failed; later failures are not logged", callback
            )

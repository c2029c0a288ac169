"""The fake HubSpot's transport: the HTTP server, rate limits, injected faults, error bodies.

HubSpot counts search requests per second and every request in a rolling ten seconds (and a
day), answering 429 with a `policyName`; its errors are JSON with a `category` and a
`correlationId`. Time is the fake's own (the wall clock sped up), as the client's is in tests.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RATE_MESSAGES = {
    "SECONDLY": "You have reached your secondly limit.",
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
}
UNAUTHORIZED = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass
class PortalLimits:
    """The account's limits; None switches one off."""

    search_per_second: int | None = 5
    per_ten_seconds: int | None = 100
    daily: int | None = None


@dataclass
class Fault:
    """A fault served to the next `times` requests whose path contains `path`."""

    kind: str  # "status", "slow", "malformed", "no_id" (a result without its id) or "rate_limit"
    times: int
    path: str = ""
    status: int = 503
    seconds: float = 0.0
    policy: str = "SECONDLY"


@dataclass(frozen=True)
class Seen:
    """A request the fake received, with the status it answered and when (in its own seconds)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    at: float

    @property
    def filters(self) -> list[dict[str, Any]]:
        groups = (self.body or {}).get("filterGroups") or []
        return [f for group in groups for f in group.get("filters", [])]


def error_body(message: str, category: str = "VALIDATION_ERROR") -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }


def rate_limited_body(policy: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": RATE_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
    }


class Gate:
    """The account's limits and the injected faults, as one request at a time meets them."""

    def __init__(self, limits: PortalLimits) -> None:
        self.limits = limits
        self.faults: list[Fault] = []
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self._admitted = 0

    def fault(self, path: str) -> Fault | None:
        """The next fault for a request to `path` (used up one at a time)."""
        for fault in self.faults:
            if fault.path in path and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def admit(self, path: str, now: float) -> str | None:
        """The policy a request breaks, or None (then it counts towards the limits)."""
        limits = self.limits
        if limits.daily is not None and self._admitted >= limits.daily:
            return "DAILY"
        while self._window and self._window[0] <= now - 10:
            self._window.popleft()
        if limits.per_ten_seconds is not None and len(self._window) >= limits.per_ten_seconds:
            return "TEN_SECONDLY_ROLLING"
        if path.endswith("/search"):
            while self._search_window and self._search_window[0] <= now - 1:
                self._search_window.popleft()
            if (
                limits.search_per_second is not None
                and len(self._search_window) >= limits.search_per_second
            ):
                return "SECONDLY"
            self._search_window.append(now)
        self._window.append(now)
        self._admitted += 1
        return None


Handle = Callable[[str, str, str | None, bytes], tuple[int, bytes, float]]
"""(method, path with query, Authorization header, body) -> (status, body, delay in seconds)."""


class Server:
    """A threaded HTTP/1.1 server on 127.0.0.1 (`port`, or an ephemeral one) that calls `handle`."""

    def __init__(self, handle: Handle, port: int = 0) -> None:
        self._http = _Server(("127.0.0.1", port), _Handler)
        self._http.handle = handle
        threading.Thread(target=self._http.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default listen backlog of 5 refuses a burst of connections
    handle: Handle

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a time-out test) is expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    wbufsize = 1 << 16  # headers and body leave in one write (flushed after each request)
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, payload, delay = self.server.handle(
            method, self.path, self.headers.get("Authorization"), raw
        )
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are in `FakeHubSpot.requests`; no log lines."""

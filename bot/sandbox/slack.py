"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that tests fill, break and inspect.

Methods are served at `/api/<method>` by GET or POST, with arguments in the query string, a
form-encoded body or a JSON body, and the token as `Authorization: Bearer xoxb-…` (or a `token`
argument, outside JSON bodies). Answers are Slack's: HTTP 200 with `{"ok": true, …}` or
`{"ok": false, "error": "…"}`, 429 with `Retry-After` when rate limited, 5xx when it fails. Each
method is a handler in `FakeSlack.handlers`, so tests (and later features) add methods such as
`chat.postMessage` by adding to that dict. Every request is recorded in `FakeSlack.calls`, and
every visible thing the bot did (a message, a view, a file) is told to `watch` callbacks.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox import slack_files, slack_history, slack_messages, slack_seen
from bot.sandbox.block_kit import BlockKitError, check_message
from bot.sandbox.shown import Shown, Watcher, Watchers
from bot.sandbox.slack_error import SlackError
from bot.sandbox.slack_messages import Message

__all__ = ["FakeSlack", "Message", "Shown", "SlackError", "SlackUser"]

TOKEN = "xoxb-1111111111-2222222222-fakeslackbottoken"
APP_TOKEN = "xapp-1-A0SLABOT01-3333333333-fakeslackapptoken"
TEAM_ID = "T0FAKE0001"
BOT_USER_ID = "U0FAKEBOT1"
ALL_SCOPES = frozenset(
    {"chat:write", "commands", "files:read", "files:write", "users:read", "users:read.email"}
)
SERVER_ERRORS = {500: "internal_error", 502: "internal_error", 503: "service_unavailable"}


@dataclass(frozen=True)
class Call:
    """A request the fake received and what it answered."""

    method: str  # the Web API method, e.g. "users.lookupByEmail"
    http_method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any]
    at: float  # time.monotonic() when it arrived

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return str(error) if error is not None else None


@dataclass
class Fault:
    """Served to the next `times` calls of `method` (any method when empty)."""

    kind: str  # "rate_limited", "server_error", "lost_response" (served, then a 5xx), "stall"
    times: int
    method: str = ""
    retry_after: int = 1
    status: int = 503
    seconds: float = 2.0  # a stall: the call is served, its answer held this long (a time-out)


@dataclass
class SlackUser:
    id: str
    email: str
    name: str
    real_name: str
    deleted: bool = False
    is_bot: bool = False

    def json(self) -> dict[str, Any]:
        """The user object as `users.info` and `users.lookupByEmail` give it (the fields we use)."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": "America/Chicago",
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "email": self.email,
                "real_name": self.real_name,
                "display_name": self.name,
            },
        }


Handler = Callable[["FakeSlack", dict[str, Any]], dict[str, Any]]
"""(the fake, the call's arguments) -> the answer's fields beside `ok`; raise `SlackError`."""


def auth_test(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": "https://fake-workspace.slack.com/",
        "team": "Fake Workspace",
        "user": "slabot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": "B0FAKEBOT1",
        "is_enterprise_install": False,
    }


def apps_connections_open(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not fake.socket_url:
        raise SlackError("invalid_auth")  # no Socket Mode server in this test
    return {"url": fake.socket_url}


def users_lookup_by_email(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    fake.require_scope("users:read.email")
    email = str(args.get("email") or "").strip()
    if not email:
        raise SlackError("invalid_arguments")
    user = fake.users.get(email.lower())
    if user is None:
        raise SlackError("users_not_found")
    return {"user": user.json()}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "users.lookupByEmail": users_lookup_by_email,
    "apps.connections.open": apps_connections_open,
    **slack_messages.METHODS,
    **slack_history.METHODS,
    **slack_files.METHODS,
}
RESPONSE_URL_USES = 5  # Slack: a response_url takes at most five messages, within 30 minutes


@dataclass
class FakeSlack:
    """The fake workspace: add users, `start()`, point `SLACK_API_URL` at `url`, then inspect."""

    token: str = TOKEN
    scopes: set[str] = field(default_factory=lambda: set(ALL_SCOPES))
    users: dict[str, SlackUser] = field(default_factory=dict)  # by lower-case email
    calls: list[Call] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=lambda: dict(METHODS))
    faults: list[Fault] = field(default_factory=list)
    messages: dict[str, list[Message]] = field(default_factory=dict)  # by channel, oldest first
    ephemeral: list[Message] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # through response_url
    home: dict[str, dict[str, Any]] = field(default_factory=dict)  # published Home tab by user
    modals: dict[str, dict[str, Any]] = field(default_factory=dict)  # opened views by id
    closed_channels: set[str] = field(default_factory=set)  # channels the bot is not in
    app_token: str = APP_TOKEN  # the app-level token; only `apps.connections.open` takes it
    socket_url: str = ""  # set by a running FakeSocketMode
    # Opt-in: Slack posts about one message a second per channel, with short bursts (a token
    # bucket of `channel_burst`); a post over it is answered 429 with `Retry-After`.
    channel_rate: float | None = None
    channel_burst: int = 3

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._ids = 0
        self._ts = 0
        self._response_urls: dict[str, int] = {}
        self._response_origins: dict[str, tuple[str | None, str]] = {}  # hook -> channel, origin
        self._watchers = Watchers()
        self._channel_budget: dict[str, tuple[float, float]] = {}  # channel -> tokens, when

    # --- running -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The Web API's base URL, as `SLACK_API_URL` takes it (`http://127.0.0.1:port/api/`)."""
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def start(self, port: int = 0) -> FakeSlack:
        """Serve on 127.0.0.1: `port`, or an ephemeral one (tests)."""
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.fake = self
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- building the workspace ----------------------------------------------------------------

    def add_user(
        self, email: str, name: str | None = None, *, user_id: str | None = None, **flags: Any
    ) -> str:
        """A member with this email (`deleted=True`, `is_bot=True` as flags); returns its id."""
        with self._lock:
            self._ids += 1
            uid = user_id or f"U{self._ids:08d}"
            handle = name or email.split("@")[0]
            self.users[email.lower()] = SlackUser(uid, email, handle, handle.title(), **flags)
            return uid

    def inject(self, kind: str, *, times: int = 1, method: str = "", **details: Any) -> None:
        """Serve a fault (`rate_limited`, `server_error`, `lost_response`, `stall`: see `Fault`)
        next."""
        if kind not in ("rate_limited", "server_error", "lost_response", "stall"):
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self.faults.append(Fault(kind, times, method, **details))

    def next_ts(self) -> str:
        """A message timestamp, unique and increasing, as Slack's `ts`."""
        with self._lock:
            self._ts += 1
            return f"{1_800_000_000 + self._ts}.{self._ts:06d}"

    def response_url(self, *, channel: str | None = None, origin: str = "") -> str:
        """A fresh `response_url` for a command or action the test sends; `channel` (where it
        was typed or clicked) and `origin` (`/sla status`) only tell watchers where replies go."""
        with self._lock:
            self._ids += 1
            hook = f"T{self._ids:06d}"
            self._response_urls[hook] = 0
            self._response_origins[hook] = (channel, origin)
        return self.url.removesuffix("api/") + f"respond/{hook}"

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        """What the bot sent to one `response_url`."""
        hook = url.rsplit("/", 1)[-1]
        with self._lock:
            return [r for r in self.responses if r["hook"] == hook]

    def require_scope(self, scope: str) -> None:
        """In a handler: refuse as Slack does when the app lacks `scope`."""
        if scope not in self.scopes:
            raise SlackError("missing_scope", needed=scope, provided=",".join(sorted(self.scopes)))

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    # --- watching ------------------------------------------------------------------------------

    def watch(self, callback: Watcher) -> None:
        """Call `callback` with each thing the bot makes visible, once it succeeded, in order.

        It runs in a server thread before that request is answered; it must not call the fake
        over HTTP (that request would wait for it). What it raises is logged once and ignored.
        """
        self._watchers.add(callback)

    def show(self, shown: Shown) -> None:
        """In a handler, once the call succeeded: what the bot made visible, for the watchers."""
        self._watchers.queue(shown)

    # --- serving -------------------------------------------------------------------------------

    def handle(
        self, http_method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """One request: (status, extra response headers, JSON body)."""
        try:
            return self._route(http_method, target, headers, raw)
        finally:
            self._watchers.tell()

    def _route(
        self, http_method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        url = urlsplit(target)
        method = url.path.removeprefix("/api/") if url.path.startswith("/api/") else ""
        if url.path.startswith(slack_files.UPLOAD_PATH):  # the URL files.getUploadURLExternal gives
            return slack_files.receive_upload(self, url.path, headers, raw)
        args, json_body = _args(url.query, headers.get("content-type", ""), raw)
        if url.path.startswith("/respond/"):
            return self._respond(url.path.removeprefix("/respond/"), args, headers)
        if url.path == slack_seen.PATH:  # what a member sees, for the sandbox's command line
            return slack_seen.views_seen(self, args)
        with self._lock:
            status, extra, body = self._answer(method, args, json_body, headers)
            self.calls.append(
                Call(method, http_method, args, headers, status, body, time.monotonic())
            )
        return status, extra, body

    def _answer(
        self, method: str, args: dict[str, Any], json_body: bool, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        if not method:
            return 404, {}, {"ok": False, "error": "unknown_method"}
        wait = self._channel_wait(method, args)
        if wait is not None:
            return 429, {"Retry-After": str(wait)}, _error("ratelimited")
        fault = self._fault(method)
        if fault is not None and fault.kind == "rate_limited":
            return 429, {"Retry-After": str(fault.retry_after)}, _error("ratelimited")
        if fault is not None and fault.kind == "stall":
            answer = self._serve_call(method, args, json_body, headers)  # done, answered late
            self._lock.release()  # the caller's hold: other calls go on while this one stalls
            try:
                time.sleep(fault.seconds)
            finally:
                self._lock.acquire()
            return answer
        if fault is not None and fault.kind == "lost_response":
            self._serve_call(method, args, json_body, headers)  # done, but the answer is lost
        if fault is not None:
            return fault.status, {}, _error(SERVER_ERRORS.get(fault.status, "internal_error"))
        return self._serve_call(method, args, json_body, headers)

    def _serve_call(
        self, method: str, args: dict[str, Any], json_body: bool, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        bearer = headers.get("authorization", "")
        token = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
        if token is None and not json_body:
            token = args.pop("token", None)  # Slack takes a token argument, except in JSON
        if not token:
            return 200, {}, _error("not_authed")
        wanted = self.app_token if method == "apps.connections.open" else self.token
        if token != wanted:
            return 200, {}, _error("invalid_auth")
        handler = self.handlers.get(method)
        if handler is None:
            return 200, {}, {**_error("unknown_method"), "req_method": method}
        try:
            return 200, {}, {"ok": True, **handler(self, args)}
        except SlackError as exc:
            return 200, {}, {**_error(exc.code), **exc.extra}

    def _respond(
        self, hook: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """A message through a `response_url`: no token; at most five per URL."""
        with self._lock:
            uses = self._response_urls.get(hook)
            if uses is None:
                status, body = 404, _error("expired_url")
            elif uses >= RESPONSE_URL_USES:
                status, body = 404, _error("used_url")
            else:
                try:
                    blocks = check_message(args)
                except BlockKitError as exc:
                    status, body = 400, _error(str(exc).partition(":")[0])
                else:
                    self._response_urls[hook] = uses + 1
                    self.responses.append(
                        {**args, "blocks": blocks, "hook": hook, "received_at": time.monotonic()}
                    )
                    self.show(self._response_shown(hook, args, blocks))
                    status, body = 200, {"ok": True}
            self.calls.append(
                Call("response_url", "POST", args, headers, status, body, time.monotonic())
            )
        return status, {}, body

    def _response_shown(
        self, hook: str, args: dict[str, Any], blocks: list[dict[str, Any]]
    ) -> Shown:
        channel, origin = self._response_origins.get(hook, (None, ""))
        return Shown(
            "response",
            channel,
            str(args.get("text") or ""),
            blocks,
            replaces=_flag(args.get("replace_original")),
            public=args.get("response_type") == "in_channel",
            origin=origin,
        )

    def _channel_wait(self, method: str, args: dict[str, Any]) -> int | None:
        """Whole seconds to wait when a post exceeds `channel_rate` in its channel, else None
        (and the post takes its place in the channel's budget)."""
        if self.channel_rate is None or method != "chat.postMessage":
            return None
        channel, now = str(args.get("channel") or ""), time.monotonic()
        tokens, since = self._channel_budget.get(channel, (float(self.channel_burst), now))
        tokens = min(float(self.channel_burst), tokens + (now - since) * self.channel_rate)
        if tokens < 1:
            self._channel_budget[channel] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.channel_rate))
        self._channel_budget[channel] = (tokens - 1, now)
        return None

    def _fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method in ("", method):
                fault.times -= 1
                return fault
        return None


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


def _flag(value: Any) -> bool:
    """A boolean argument, as JSON (`true`) or a form (`"true"`) gives it."""
    return value is True or str(value).lower() == "true"


def _args(query: str, content_type: str, raw: bytes) -> tuple[dict[str, Any], bool]:
    """The call's arguments from the query string and the body; and whether the body was JSON."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if content_type.startswith("application/json"):
        body = json.loads(raw) if raw else {}
        args.update(body if isinstance(body, dict) else {})
        return args, True
    if raw:
        args.update(parse_qsl(raw.decode(), keep_blank_values=True))
    return args, False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of connections waits to be accepted, as at Slack's edge
    fake: FakeSlack

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up is expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, http_method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, extra, body = self.server.fake.handle(http_method, self.path, headers, raw)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are in `FakeSlack.calls`; no log lines."""

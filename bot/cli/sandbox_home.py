"""`slabot sandbox click --home`: a click on a button of a member's App Home tab, as Slack sends it.

The Home tab is a view the bot published to the fake Slack, so the click starts there: the tab
as the fake holds it (opened first, as a person opening it would, when the bot has published
none), the button found on it, the signed `block_actions` carrying that view; then what the
person sees change, read back from the fake: a modal opened or updated, the Home tab published
again. The Home tab has no channel and no `response_url`: the bot answers through the Web API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from bot.cli.common import settings
from bot.cli.sandbox_talk import SETTLE, Target, fresh_trigger, out, post_signed, show_ack, width
from bot.errors import BadInput, NotReady
from bot.sandbox import slack_requests
from bot.sandbox.render import render_message
from bot.sandbox.shown import Shown
from bot.sandbox.slack_seen import PATH
from bot.settings import SLACK_API_URL

POLL = 0.05  # seconds between two looks at the fake's views


@dataclass(frozen=True)
class Screen:
    """What the member sees in the fake Slack: their Home tab (None until published), modals."""

    home: dict[str, Any] | None
    modals: dict[str, dict[str, Any]]  # by view id


@dataclass(frozen=True)
class FakeViews:
    """The fake Slack's views, as `GET /sandbox/views` gives them for `user`."""

    http: httpx.AsyncClient
    api_url: str  # SLACK_API_URL, as the bot is told it
    user: str

    async def read(self) -> Screen:
        url = urljoin(self.api_url, PATH)
        try:
            answer = await self.http.get(url, params={"user": self.user})
        except httpx.TransportError:
            raise NotReady(
                f"no fake Slack answers at {self.api_url} (SLACK_API_URL): --home reads the Home "
                "tab from the sandbox's fake Slack; start it with `slabot sandbox`"
            ) from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("ok"):
            raise NotReady(
                f"{self.api_url} (SLACK_API_URL) is not the sandbox's fake Slack (no {PATH}): "
                "run this in the folder `slabot sandbox` wrote its .env to"
            )
        return Screen(body.get("home"), {m["id"]: m for m in body.get("modals") or []})


def fake_slack_url() -> str:
    """SLACK_API_URL, which must point at the sandbox's fake Slack for --home."""
    url = settings().slack_api_url
    if url == SLACK_API_URL:
        raise BadInput(
            "missing setting: SLACK_API_URL (--home reads the Home tab from the sandbox's fake "
            "Slack: run this in the folder `slabot sandbox` wrote its .env to)"
        )
    return url


async def click_on_home(
    action_id: str, value: str | None, *, user: str, target: Target, api_url: str, wait: float
) -> None:
    """Click `action_id` on `user`'s Home tab; print the ack and what changed on their screen."""
    async with httpx.AsyncClient(timeout=10) as http:
        views = FakeViews(http, api_url, user)
        before = await views.read()
        if before.home is None:
            before = await _open_home(http, views, target, wait=wait)
        assert before.home is not None
        buttons = slack_requests.home_buttons(before.home)
        if action_id not in buttons:
            raise BadInput(_not_a_button(action_id, user, list(buttons)))
        shown_value = value if value is not None else str(buttons[action_id][1].get("value") or "")
        out(
            f"→ click {action_id} {shown_value}".rstrip()
            + f" on the Home tab  (as {user}, to {target.url})"
        )
        body = slack_requests.home_block_actions_body(
            action_id,
            value,
            user=user,
            trigger_id=fresh_trigger(),
            action_ts=time.time(),
            view=before.home,
        )
        answer = await post_signed(http, body, target)
        if show_ack(answer, user):
            return  # the ack carried the answer: nothing follows
        if not answer.is_success:
            raise NotReady(f"the bot at {target.url} answered HTTP {answer.status_code}")
        if not await _show_changes(views, before, wait=wait):
            raise NotReady(
                f"the bot acknowledged the click but opened no modal and published no Home tab "
                f"within {wait:g} s; see the log of `slabot run`"
            )


async def _open_home(
    http: httpx.AsyncClient, views: FakeViews, target: Target, *, wait: float
) -> Screen:
    """Open the Home tab as Slack tells the bot (`app_home_opened`); the tab it publishes."""
    user = views.user
    out(f"→ open the Home tab, none published yet  (as {user}, to {target.url})")
    now = time.time()
    event = slack_requests.home_opened_event(user, event_ts=now)
    # A fresh event id: the bot applies an event once per id, as Slack may deliver one twice.
    body = slack_requests.event_body(event, event_id=f"Ev{time.time_ns()}", event_time=int(now))
    answer = await post_signed(http, body, target, content_type=slack_requests.JSON)
    show_ack(answer, user)
    if not answer.is_success:
        raise NotReady(f"the bot at {target.url} answered HTTP {answer.status_code}")
    screen = await _until(views, lambda seen: seen.home is not None, wait=wait)
    if screen.home is None:
        raise NotReady(
            f"the bot published no Home tab for {user} within {wait:g} s of its opening "
            f"(app_home_opened); see the log of `slabot run`, and check that SLACK_API_URL here "
            f"({views.api_url}) is the one the bot was started with"
        )
    buttons = ", ".join(slack_requests.home_buttons(screen.home)) or "none"
    blocks = len(screen.home.get("blocks") or [])
    out(f"← Home tab published ({blocks} blocks; buttons: {buttons})")
    return screen


def _not_a_button(action_id: str, user: str, buttons: list[str]) -> str:
    if not buttons:
        return (
            f"{action_id}: {user}'s Home tab has no buttons (the bot shows its edit buttons to "
            "the agreement's admins and team leads); try --user with one of them"
        )
    return (
        f"{action_id}: no such button on {user}'s Home tab; its buttons: {', '.join(buttons)} "
        f"(e.g. slabot sandbox click --home {buttons[0]})"
    )


async def _until(views: FakeViews, done: Callable[[Screen], bool], *, wait: float) -> Screen:
    """The fake's views once `done` holds of them, or as they are when `wait` is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        screen = await views.read()
        if done(screen) or loop.time() >= deadline:
            return screen
        await asyncio.sleep(POLL)


async def _show_changes(views: FakeViews, before: Screen, *, wait: float) -> int:
    """Print each view that changes until `wait` is up, or `SETTLE` of calm after one. How many?"""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    shown, seen, last = 0, before, 0.0
    while loop.time() < (min(deadline, last + SETTLE) if shown else deadline):
        await asyncio.sleep(POLL)
        screen = await views.read()
        for change in changes(seen, screen, user=views.user):
            _show_view(change)
            shown, last = shown + 1, loop.time()
        seen = screen
    return shown


def changes(before: Screen, after: Screen, *, user: str) -> list[Shown]:
    """What the member sees change from `before` to `after`: modals opened or updated, then the
    Home tab published anew (a view published again unchanged looks the same, so is no change)."""
    found = []
    for view_id, view in after.modals.items():
        if before.modals.get(view_id) != view:
            title = str((view.get("title") or {}).get("text") or "")
            replaces = view_id in before.modals
            blocks = list(view.get("blocks") or [])
            found.append(
                Shown("modal", None, blocks=blocks, title=title, view=view, replaces=replaces)
            )
    if after.home is not None and after.home != before.home:
        blocks = list(after.home.get("blocks") or [])
        found.append(Shown("home", user, blocks=blocks, user=user, view=after.home))
    return found


def _show_view(shown: Shown) -> None:
    if shown.kind == "home":
        heading = "Home tab published again"
    else:
        heading = "modal updated" if shown.replaces else "modal opened"
        heading += f" ({shown.title})" if shown.title else ""
    _, _, body = render_message(shown, width=width()).partition("\n")  # its body, under a title
    out(f"← {heading}:")
    if body:
        out(body)

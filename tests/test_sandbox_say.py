"""`slabot sandbox say` / `click` against the real bot listener, and the Slack request builders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli.sandbox_say import DEFAULT_USER, command_text
from bot.sandbox import slack_requests as sr
from bot.sandbox.render import render_blocks
from bot.sandbox.slack import TOKEN, FakeSlack
from bot.server import EVENTS_PATH
from tests.conftest import CLI, Result
from tests.utils.alerts import lead_row, post_alert, ref_of, store_with_leads
from tests.utils.processes import free_port
from tests.utils.slack_bot import SIGNING_SECRET, SlackBot
from tests.utils.store import store_agreement

# --- the builders ------------------------------------------------------------------------------


def test_the_signature_verifies_with_slack_sdk_and_only_for_its_body_and_secret() -> None:
    body = sr.command_form(
        "status", user="U1", channel="C1", response_url="http://x/r", trigger_id="t"
    )
    now = int(time.time())
    headers = sr.sign(body, secret=SIGNING_SECRET, timestamp=now)
    stamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert stamp == str(now) and signature.startswith("v0=")
    assert SignatureVerifier(SIGNING_SECRET).is_valid(body, stamp, signature)
    assert not SignatureVerifier(SIGNING_SECRET).is_valid(body + "x", stamp, signature)
    assert not SignatureVerifier("another-secret").is_valid(body, stamp, signature)


def test_trigger_ids_differ_by_number_and_look_like_slacks() -> None:
    assert sr.trigger_id(1) != sr.trigger_id(2)
    assert sr.trigger_id(7).split(".")[0] == "7"


def test_the_command_form_is_what_slack_posts() -> None:
    form = dict(
        parse_qsl(
            sr.command_form(
                "kudos @ana thanks & more",
                user="U01SALESLEAD",
                channel="C01SALES",
                response_url="http://127.0.0.1:1/respond/x",
                trigger_id="1.2.3",
            )
        )
    )
    assert form["command"] == "/sla"
    assert form["text"] == "kudos @ana thanks & more"  # encoded and decoded intact
    assert (form["user_id"], form["channel_id"], form["team_id"]) == (
        "U01SALESLEAD",
        "C01SALES",
        "T0FAKE0001",
    )
    assert (form["response_url"], form["trigger_id"]) == ("http://127.0.0.1:1/respond/x", "1.2.3")


def _bodies() -> dict[str, tuple[str, str]]:
    at = time.time()
    return {
        "command": (
            sr.command_form(
                "help", user="U1", channel="C1", response_url="http://r/1", trigger_id="t1"
            ),
            sr.FORM,
        ),
        "block_actions": (
            sr.block_actions_body(
                "lead_contacted",
                "mql-first-touch/3",
                user="U1",
                channel="C1",
                response_url="http://r/2",
                trigger_id="t2",
                action_ts=at,
            ),
            sr.FORM,
        ),
        "view_submission": (
            sr.view_submission_body(
                "owners_edit",
                {"b": {"value": {"type": "plain_text_input", "value": "v"}}},
                user="U1",
                trigger_id="t3",
            ),
            sr.FORM,
        ),
        "event": (
            sr.event_body(
                {"type": "app_home_opened", "user": "U1", "tab": "home"},
                event_id="Ev1",
                event_time=int(at),
            ),
            sr.JSON,
        ),
    }


# A field of each body as Bolt hands it to the listener, and the value the builder put there.
READ_BACK: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "command": (lambda body: body["user_id"], "U1"),
    "block_actions": (lambda body: body["actions"][0]["value"], "mql-first-touch/3"),
    "view_submission": (lambda body: body["view"]["state"]["values"]["b"]["value"]["value"], "v"),
    "event": (lambda body: body["event"]["user"], "U1"),
}


def _bolt(fake: FakeSlack, seen: list[tuple[str, dict[str, Any]]]) -> AsyncApp:
    """A bare Bolt app checking our secret, with a listener per kind that records its body."""
    client = AsyncWebClient(token=TOKEN, base_url=fake.url)  # its `auth.test` goes to the fake
    app = AsyncApp(client=client, signing_secret=SIGNING_SECRET)

    def listener(name: str) -> Callable[..., Awaitable[None]]:
        async def record(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            seen.append((name, body))

        return record

    app.command("/sla")(listener("command"))
    app.action("lead_contacted")(listener("block_actions"))
    app.view("owners_edit")(listener("view_submission"))
    app.event("app_home_opened")(listener("event"))
    return app


def _request(kind: str, *, secret: str) -> AsyncBoltRequest:
    body, content_type = _bodies()[kind]
    signature = sr.sign(body, secret=secret, timestamp=int(time.time()))
    headers: dict[str, str | Sequence[str]] = {"content-type": content_type}
    headers.update({name.lower(): value for name, value in signature.items()})
    return AsyncBoltRequest(body=body, headers=headers)


@pytest.mark.parametrize("kind", list(READ_BACK))
async def test_bolt_verifies_parses_and_routes_each_body(kind: str, fake_slack: FakeSlack) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    response = await _bolt(fake_slack, seen).async_dispatch(_request(kind, secret=SIGNING_SECRET))
    assert response.status == 200, response.body
    for _ in range(200):  # an event's listener runs after the ack
        if seen:
            break
        await asyncio.sleep(0.01)
    [(name, parsed)] = seen
    read, expected = READ_BACK[kind]
    assert name == kind
    assert read(parsed) == expected


async def test_bolt_refuses_a_body_signed_with_another_secret(fake_slack: FakeSlack) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    response = await _bolt(fake_slack, seen).async_dispatch(
        _request("command", secret="another-secret")
    )
    assert response.status == 401
    assert seen == []


def test_the_typed_command_may_start_with_sla() -> None:
    assert command_text("/sla status   team sales") == "status   team sales"
    assert command_text("  /sla  ") == ""
    assert command_text("leads mine") == "leads mine"


# --- the command line against the running bot ----------------------------------------------------


async def say(cli: CLI, *args: str) -> Result:
    # The bot serves on this test's event loop; the command line runs its own loop in a thread.
    return await asyncio.to_thread(cli, "sandbox", *args)


def to(bot: SlackBot) -> list[str]:
    return ["--to", bot.url + EVENTS_PATH]


@pytest.fixture
def signed(cli_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    cli_env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    return cli_env


async def test_say_status_prints_the_bots_reply_rendered(
    slack_bot: SlackBot, cli: CLI, signed: pytest.MonkeyPatch
) -> None:
    await store_agreement(slack_bot.engine)
    result = await say(cli, "say", "/sla status", *to(slack_bot))
    assert result.code == 0, result.err
    # The same command sent by the tests' own client: the bot's reply, rendered the same way.
    [reply] = await slack_bot.replies(await slack_bot.command("status", user=DEFAULT_USER))
    rendered = render_blocks(reply["blocks"], width=78)
    assert "Sales & Marketing SLA 2027 H1" in rendered
    assert rendered in result.out
    assert "← HTTP 200 (acknowledged)" in result.out
    assert f"← reply via response_url (seen by {DEFAULT_USER}):" in result.out
    assert SIGNING_SECRET not in result.out + result.err


@pytest.mark.parametrize("typed", ["/sla help", "help"])
async def test_say_help_goes_to_slabot_port_by_default(
    slack_bot: SlackBot, cli: CLI, signed: pytest.MonkeyPatch, typed: str
) -> None:
    signed.setenv("SLABOT_PORT", slack_bot.url.rsplit(":", 1)[1])
    result = await say(cli, "say", typed, "--wait", "5")
    assert result.code == 0, result.err
    assert "/sla status" in result.out  # the help lists the words
    assert f"to {slack_bot.url}{EVENTS_PATH}" in result.out


async def test_a_mistake_in_the_words_is_answered_in_the_ack(
    slack_bot: SlackBot, cli: CLI, signed: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    result = await say(cli, "say", "/sla statsu", *to(slack_bot), "--wait", "5")
    assert result.code == 0, result.err
    assert "← reply in the acknowledgement" in result.out
    assert time.monotonic() - started < 4  # nothing more comes, so it does not wait for it


async def test_a_wrong_secret_is_refused_by_the_bot(
    slack_bot: SlackBot, cli: CLI, cli_env: pytest.MonkeyPatch
) -> None:
    cli_env.setenv("SLACK_SIGNING_SECRET", "not-the-bots-secret")
    result = await say(cli, "say", "/sla help", *to(slack_bot))
    assert result.code == 1
    assert "SLACK_SIGNING_SECRET here differs from the bot's" in result.err
    assert "not-the-bots-secret" not in result.out + result.err
    assert slack_bot.fake.calls == []


async def test_a_click_on_an_alert_button_reaches_the_bot(
    slack_bot: SlackBot, cli: CLI, signed: pytest.MonkeyPatch
) -> None:
    await store_with_leads(slack_bot)
    ref = ref_of(await post_alert(slack_bot), "A")
    first = await say(cli, "click", "lead_contacted", ref, *to(slack_bot), "--wait", "1")
    assert first.code == 0, first.err
    lead, _ = await lead_row(slack_bot.engine, "A")
    assert lead.first_touch_by == DEFAULT_USER  # the sales lead may act on any lead
    assert lead.first_touch_at == slack_bot.at
    assert "no reply through response_url within 1 s" in first.out
    # A second click changes nothing; the bot says so privately, through our response_url.
    again = await say(cli, "click", "lead_contacted", ref, *to(slack_bot))
    assert again.code == 0, again.err
    assert f"already contacted by <@{DEFAULT_USER}>" in again.out


# --- the command line refusing -------------------------------------------------------------------


def test_no_bot_listening_says_how_to_start_one(
    sqlite_cli: CLI, signed: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}/slack/events"
    result = sqlite_cli("sandbox", "say", "/sla status", "--to", url)
    assert result.code == 1
    assert (
        f"no bot answers at {url}; start it with `slabot run` (see `slabot sandbox`)" in result.err
    )


def test_a_missing_signing_secret_is_named(sqlite_cli: CLI) -> None:
    result = sqlite_cli("sandbox", "say", "/sla status")
    assert result.code == 2
    assert "SLACK_SIGNING_SECRET" in result.err


def test_another_slash_command_is_named(sqlite_cli: CLI, signed: pytest.MonkeyPatch) -> None:
    result = sqlite_cli("sandbox", "say", "/remind me later")
    assert result.code == 2
    assert "/remind: the bot answers /sla only" in result.err

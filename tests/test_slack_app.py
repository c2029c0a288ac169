"""The app behind its HTTP listener: signatures, health, metrics, and one request end to end."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.app import NO_IDENTITY
from tests.utils.slack_bot import SlackBot

SLACK_DEADLINE = 3.0  # seconds Slack waits for an acknowledgement before it shows an error


async def test_a_signed_command_is_acknowledged_and_answered(slack_bot: SlackBot) -> None:
    sent = await slack_bot.command("help")
    assert sent.status == 200
    [reply] = await slack_bot.replies(sent)
    assert reply["response_type"] == "ephemeral"
    assert "/sla status" in reply["text"]


@pytest.mark.parametrize(
    "how",
    ["unsigned", "stale", "future", "tampered", "wrong secret"],
)
async def test_a_request_failing_the_signature_check_gets_401_and_does_nothing(
    slack_bot: SlackBot, how: str
) -> None:
    options: dict[str, object] = {}
    if how == "unsigned":
        options["signed"] = False
    elif how == "stale":
        options["timestamp"] = int(time.time()) - 301
    elif how == "future":
        options["timestamp"] = int(time.time()) + 301
    elif how == "tampered":
        options["headers"] = {"X-Slack-Signature": "v0=" + "0" * 64}
    else:
        from tests.utils.slack_bot import sign

        options["headers"] = sign("text=help", secret="not-the-secret")
    sent = await slack_bot.command("help", **options)
    assert sent.status == 401
    await _settle()
    assert slack_bot.fake.responses == []
    assert slack_bot.fake.calls == []


async def test_a_burst_on_a_cold_app_asks_slack_who_the_bot_is_once(slack_bot: SlackBot) -> None:
    """Bolt's default asks auth.test for each request until the first answer comes back; a burst
    on a fresh replica would make one call per request. One call, every request answered."""
    sent = await asyncio.gather(*(slack_bot.command("help") for _ in range(20)))
    assert [s.status for s in sent] == [200] * 20
    for one in sent:
        await slack_bot.replies(one)
    assert len(slack_bot.fake.calls_to("auth.test")) == 1


async def test_a_slow_answer_to_who_the_bot_is_does_not_hold_up_the_acknowledgement(
    slack_bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    """auth.test stalls past Slack's three seconds: the requests meanwhile are acknowledged
    within them (as Slack would see it) and answered; the one call's answer is kept when it
    comes, and asked for no more."""
    slack_bot.fake.inject("stall", method="auth.test", seconds=5)
    sent = await asyncio.gather(
        *(slack_bot.command("help", deadline=SLACK_DEADLINE) for _ in range(5))
    )
    assert [s.status for s in sent] == [200] * 5
    slow = [r for r in caplog.records if "auth.test has not answered" in r.getMessage()]
    assert len(slow) == 1  # said once for the slow call, not once per request
    for one in sent:
        [reply] = await slack_bot.replies(one)
        assert "/sla status" in reply["text"]
    identity = slack_bot.deps.identity
    assert identity is not None
    await slack_bot.until(lambda: [identity._answer] if identity._answer else [], wait=10)
    later = await slack_bot.command("help")
    assert later.status == 200 and await slack_bot.replies(later)
    assert len(slack_bot.fake.calls_to("auth.test")) == 1


async def test_the_bot_learns_who_it_is_again_after_a_failed_ask(slack_bot: SlackBot) -> None:
    slack_bot.fake.inject("server_error", method="auth.test", status=502)  # not retried
    first = await slack_bot.command("help")
    second = await slack_bot.command("help")
    (refusal,) = slack_bot.fake.responses_to(first.response_url or "")
    assert refusal["text"] == NO_IDENTITY  # not Bolt's "reinstall this app"
    assert second.status == 200
    assert await slack_bot.replies(second)
    assert [c.ok for c in slack_bot.fake.calls_to("auth.test")][-1] is True


async def test_while_slack_keeps_failing_who_the_bot_is_requests_are_still_answered(
    slack_bot: SlackBot,
) -> None:
    """503s past the client's retries outlast a request's patience: the request goes on without
    the bot's ids; the failed ask is made again by a later request."""
    slack_bot.fake.inject("server_error", method="auth.test", times=10)
    first = await slack_bot.command("help", deadline=SLACK_DEADLINE)
    assert first.status == 200
    assert "/sla status" in (await slack_bot.replies(first))[0]["text"]
    identity = slack_bot.deps.identity
    assert identity is not None and identity._asking is not None
    await slack_bot.until(lambda: [identity._asking] if identity._asking.done() else [], wait=15)
    assert identity._answer is None  # every try of the first ask failed
    slack_bot.fake.faults.clear()
    second = await slack_bot.command("help")
    assert second.status == 200 and await slack_bot.replies(second)
    assert identity._answer is not None
    assert [c.ok for c in slack_bot.fake.calls_to("auth.test")][-1] is True


async def test_healthz_answers_when_the_store_is_reachable(slack_bot: SlackBot) -> None:
    assert slack_bot._http is not None
    answer = await slack_bot._http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "store": "ok"}


async def test_metrics_count_requests_and_time_acks(slack_bot: SlackBot) -> None:
    assert slack_bot._http is not None
    await slack_bot.command("help")
    await slack_bot.command("help", signed=False)
    text = (await slack_bot._http.get("/metrics")).text
    assert 'slabot_requests_total{kind="command:help",outcome="ok"} 1.0' in text
    assert 'slabot_requests_total{kind="unsigned",outcome="401"} 1.0' in text
    assert 'slabot_ack_seconds_count{kind="command:help"} 1.0' in text


async def _settle() -> None:
    import asyncio

    await asyncio.sleep(0.2)


# The bot scope each Web API method the bot calls needs (api.slack.com/methods).
SCOPES = {
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "conversations_history": {"channels:history", "groups:history", "im:history"},
    "conversations_replies": {"channels:history", "groups:history", "im:history"},
    "conversations_open": {"im:write"},
    "files_list": {"files:read"},
    "files_upload_v2": {"files:write"},
    "users_lookupByEmail": {"users:read.email"},
    "users_info": {"users:read"},
    "views_open": set(),
    "views_publish": set(),
    "views_update": set(),
}


def test_the_manifest_declares_the_scope_of_every_slack_call_the_code_makes() -> None:
    import re
    from pathlib import Path

    from ruamel.yaml import YAML

    root = Path(__file__).resolve().parent.parent
    called: set[str] = set()
    for folder in ("bot", "handlers", "scheduler"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            called |= set(
                re.findall(
                    r"\bclient\.((?:chat|conversations|files|users|views|reactions|team)_\w+)\(",
                    text,
                )
            )
            called |= set(re.findall(r"\b(files_upload_v2)\b", text))
    unknown = called - set(SCOPES)
    assert not unknown, f"add the scopes of {sorted(unknown)} to SCOPES and the manifest"
    manifest = YAML(typ="safe").load((root / "manifest.yml").read_text(encoding="utf-8"))
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = set().union(*(SCOPES[method] for method in called))
    assert needed <= declared, f"manifest.yml lacks {sorted(needed - declared)}"

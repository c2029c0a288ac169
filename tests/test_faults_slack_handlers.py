"""Slack failing on the calls made outside the outbox (the listeners' answers, the owners'
look-up, Bolt's `auth.test`): a 429 storm with `Retry-After` and 5xx answers are retried inside
the call by the bot's client (3 times each, `bot.slack`) and the thing is shown once; a time-out
is not retried (Slack may have done it: the fake's stall does), and the bot says nothing false.

The store plays no part in these faults, so they run on SQLite only; the outbox's calls, whose
rows do depend on the store, are in `test_faults_slack.py` on both stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlmodel import func, select

import bot.slack
from bot.blocks.modals import OPEN_TARGETS
from bot.sandbox.slack import TEAM_ID, FakeSlack
from models.db import create_engine, session_scope
from models.tables import Kudos, Owner
from scheduler.owners import match_owners
from tests.utils.alerts import ALERTS, OWNER, lead_row, post_alert, press, store_with_leads
from tests.utils.slack_bot import CHANNEL, Sent, SlackBot, settings_for
from tests.utils.store import store_agreement

TIMEOUT = 0.3  # the bot's client time-out in these tests (30 s in the product)
STALL = 0.7
ADMIN, MEMBER, BEN = "U01MKTLEAD", "U0MEMBER01", "U0BEN"
WINS = "C01WINS"
FAULTS: dict[str, dict[str, Any]] = {
    "rate_limited": {"times": 2, "retry_after": 0},  # Retry-After: 0, plus slack_sdk's jitter
    "server_error": {"times": 2, "status": 503},
    "stall": {"times": 1, "seconds": STALL},
}


@pytest.fixture
async def quick_bot(
    sqlite_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SlackBot]:
    """The bot's HTTP listener, its client as `bot.slack` builds it but with a short time-out
    and quick server-error back-off."""
    monkeypatch.setattr(bot.slack, "TIMEOUT", TIMEOUT)
    quick = FixedValueRetryIntervalCalculator(0.01)
    monkeypatch.setattr(bot.slack, "default_interval_calculator", quick)
    engine = create_engine(sqlite_url)
    at = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)  # Wednesday 09:00 in Chicago
    running = SlackBot(fake_slack, engine, settings_for(sqlite_url, fake_slack), at)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        await engine.dispose()


# --- one way to reach each call, and what it shows --------------------------------------------


@dataclass(frozen=True)
class Case:
    method: str
    act: Callable[[SlackBot], Awaitable[Sent | None]]  # the request that makes the call
    shown: Callable[[SlackBot], Awaitable[list[Any]]]  # what it made visible, once there


async def _open_home(bot: SlackBot) -> Sent:
    await store_agreement(bot.engine)
    return await bot.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})


async def _home(bot: SlackBot) -> list[Any]:
    return list(bot.fake.home.values())


async def _open_modal(bot: SlackBot) -> Sent:
    await store_agreement(bot.engine)
    return await bot.click(OPEN_TARGETS, user=ADMIN)


async def _modals(bot: SlackBot) -> list[Any]:
    return list(bot.fake.modals.values())


async def _refuse_in_channel(bot: SlackBot) -> Sent:
    """A member clicks an admin's button in a channel, with no `response_url` to answer on."""
    await store_agreement(bot.engine)
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "user": {"id": MEMBER, "username": "member", "team_id": TEAM_ID},
        "api_app_id": "A0SLABOT01",
        "container": {"type": "message", "message_ts": "1800000000.000001", "channel_id": CHANNEL},
        "channel": {"id": CHANNEL, "name": "sales"},
        "actions": [{"action_id": OPEN_TARGETS, "block_id": "b1", "type": "button", "value": ""}],
    }
    return await bot.interaction(payload)


async def _ephemeral(bot: SlackBot) -> list[Any]:
    return list(bot.fake.ephemeral)


async def _kudos(bot: SlackBot) -> Sent:
    await store_agreement(bot.engine)
    return await bot.command(f"kudos <@{BEN}|ben> for the demo")


async def _wins(bot: SlackBot) -> list[Any]:
    return list(bot.fake.messages.get(WINS, []))


async def _contacted(bot: SlackBot) -> Sent:
    await store_with_leads(bot)
    alert = await post_alert(bot)
    return await press(bot, alert, "A", "lead_contacted")


async def _edited(bot: SlackBot) -> list[Any]:
    return [m for m in bot.fake.messages.get(ALERTS, []) if m.edits]


async def _help(bot: SlackBot) -> Sent:
    return await bot.command("help")


async def _replies(bot: SlackBot) -> list[Any]:
    return list(bot.fake.responses)


CASES = [
    Case("views.publish", _open_home, _home),
    Case("views.open", _open_modal, _modals),
    Case("chat.postEphemeral", _refuse_in_channel, _ephemeral),
    Case("chat.postMessage", _kudos, _wins),
    Case("chat.update", _contacted, _edited),
    Case("auth.test", _help, _replies),  # Bolt's, on the first request it authorizes
]


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("case", CASES, ids=[case.method for case in CASES])
async def test_each_listener_call_is_retried_or_left_without_a_false_word(
    quick_bot: SlackBot, case: Case, fault: str
) -> None:
    fake = quick_bot.fake
    fake.inject(fault, method=case.method, **FAULTS[fault])
    sent = await case.act(quick_bot)
    await quick_bot.until(lambda: [c for c in fake.calls_to(case.method) if c.status == 200])
    statuses = [c.status for c in fake.calls_to(case.method)]
    if fault == "stall":
        assert statuses == [200]  # served once, never asked again: it may have been done
    else:
        answer = 429 if fault == "rate_limited" else 503
        assert statuses == [answer, answer, 200]  # retried inside the call, as documented
    if (case.method, fault) == ("auth.test", "stall"):
        await _unauthorized_then_answered(quick_bot, sent)
        return
    assert sent is not None and sent.status == 200
    await quick_bot.until(lambda: [1] if len(fake.calls_to(case.method)) == len(statuses) else [])
    assert len(await quick_bot.until(lambda: _shown(quick_bot, case))) == 1  # shown once
    await _said_truly(quick_bot, case, fault, sent)


async def _unauthorized_then_answered(bot: SlackBot, sent: Sent | None) -> None:
    """Bolt authorizes a request with `auth.test`: stalled, the request fails (Slack shows its
    own error) and nothing is answered; it is asked again for the next request, which works."""
    assert sent is not None and sent.status == 500
    assert bot.fake.responses == []
    again = await bot.command("help")
    assert again.status == 200
    assert len(await bot.replies(again)) == 1
    assert [c.status for c in bot.fake.calls_to("auth.test")] == [200, 200]


def _shown(bot: SlackBot, case: Case) -> list[Any]:
    fake = bot.fake
    shown: dict[str, list[Any]] = {
        "views.publish": list(fake.home.values()),
        "views.open": list(fake.modals.values()),
        "chat.postEphemeral": list(fake.ephemeral),
        "chat.postMessage": list(fake.messages.get(WINS, [])),
        "chat.update": [m for m in fake.messages.get(ALERTS, []) if m.edits],
        "auth.test": list(fake.responses),
    }
    return shown[case.method]


async def _said_truly(bot: SlackBot, case: Case, fault: str, sent: Sent) -> None:
    """After the call, what the bot said and stored matches what happened."""
    if case.method == "chat.postMessage":  # kudos: kept, and the giver told the truth
        [reply] = await bot.replies(sent)
        posted = "Kudos to <@U0BEN> posted in <#C01WINS>."
        unsure = (
            "Your kudos to <@U0BEN> are saved, but Slack did not answer in time, so I cannot "
            "tell whether they were posted in <#C01WINS>."
        )
        assert (unsure if fault == "stall" else posted) in reply["text"]
        async with session_scope(bot.engine) as session:
            assert (await session.exec(select(func.count()).select_from(Kudos))).one() == 1
    elif case.method == "chat.update":  # the touch is recorded once, the alert shows it
        lead, _ = await lead_row(bot.engine, "A")
        assert (lead.first_touch_at, lead.first_touch_by) == (bot.at, OWNER)
        replaced = [r for r in bot.fake.responses if r.get("replace_original") in (True, "true")]
        # Unsure whether the edit was made, the bot makes it again through the response_url.
        assert len(replaced) == (1 if fault == "stall" else 0)
    elif case.method != "auth.test":  # (whose only reply is the `/sla help` counted above)
        assert bot.fake.responses == []


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_the_owners_lookup_survives_a_429_storm_a_5xx_and_a_time_out(
    sqlite_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    monkeypatch.setattr(bot.slack, "TIMEOUT", TIMEOUT)
    quick = FixedValueRetryIntervalCalculator(0.01)
    monkeypatch.setattr(bot.slack, "default_interval_calculator", quick)
    client = bot.slack.slack_client(settings_for(sqlite_url, fake_slack))
    fake_slack.add_user("ana@example.com", "ana", user_id=OWNER)
    engine = create_engine(sqlite_url)
    at = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)
    try:
        async with session_scope(engine) as session:
            session.add(Owner(source="crm", external_id="7", email="ana@example.com"))
        fake_slack.inject(fault, method="users.lookupByEmail", **FAULTS[fault])
        async with session_scope(engine) as session:
            first = await match_owners(session, client, at=at)
        async with session_scope(engine) as session:
            again = await match_owners(session, client, at=at)  # the next sync's
            owner = (await session.exec(select(Owner))).one()
    finally:
        await engine.dispose()
    if fault == "stall":  # a time-out stops the look-ups; the owner is asked again next time
        assert (first.matched, first.left, again.matched) == (0, 1, 1)
        assert first.error == f"Slack users.lookupByEmail timed out after {TIMEOUT} s"
    else:
        assert (first.matched, first.error, again.looked_up) == (1, None, 0)
    assert (owner.slack_user_id, owner.slack_checked_at) == (OWNER, at)

"""Secrets never show when Slack fails or refuses the bot's token: while the outbox posts,
while the bot serves people, and in `slabot check` and `slabot digest` with --debug; not in
logs, replies, the store's error columns or anything Slack received. The detector the
`test_security_secrets_*` files rely on is checked here first."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox import deliver
from bot.sandbox.slack import TOKEN, FakeSlack
from models.db import create_engine
from tests.conftest import CLI, EXAMPLES
from tests.utils.alerts import ADMIN, post_alert, press, store_with_leads
from tests.utils.modals import click_on_home
from tests.utils.outbox import AT, record, slack_client
from tests.utils.secrets import (
    PASSWORD,
    REVOKED,
    UNREACHABLE_DB,
    assert_no_secret,
    leaks,
    slack_heard,
    stored_text,
)
from tests.utils.slack_bot import SIGNING_SECRET, SlackBot

AT_MARCH = "2027-03-10T16:00:00-06:00"  # inside the example period, after its data


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"Authorization: Bearer {TOKEN}", True),
        ("token xoxp-12-34-abc and xapp-1-A1-2-def", True),
        ("HubSpot said pat-eu1-12ab-34cd", True),
        (UNREACHABLE_DB.replace(PASSWORD, "other"), True),
        (f"signed with {SIGNING_SECRET}", True),
        ("postgresql+asyncpg://slabot:***@127.0.0.1:1/x; check SLACK_BOT_TOKEN (xoxb-…)", False),
        ("xoxb-*** and pat-na1-*** as the log formatter masks them", False),
    ],
)
def test_the_detector_finds_what_it_should(text: str, found: bool) -> None:
    assert bool(leaks(text)) is found


# --- Slack fails while the outbox posts -------------------------------------------------------


@pytest.mark.parametrize("failure", ["invalid_auth", "server error", "rate-limit storm"])
async def test_slack_failing_a_post(
    engine: AsyncEngine, fake_slack: FakeSlack, logs: pytest.LogCaptureFixture, failure: str
) -> None:
    await record(engine, "breach:ana:1")
    token = REVOKED if failure == "invalid_auth" else TOKEN
    if failure == "server error":
        fake_slack.inject("server_error", times=50, status=500)
    elif failure == "rate-limit storm":
        fake_slack.inject("rate_limited", times=50, retry_after=0)
    client = slack_client(fake_slack)
    client.token = token
    report = await deliver(engine, client, at=AT)
    assert report.sent == [] and report.failed + report.retrying == ["breach:ana:1"]
    assert_no_secret(logs=logs.text, store=await stored_text(engine), slack=slack_heard(fake_slack))
    assert "breach:ana:1" in await stored_text(engine)  # the store was read, errors and all


# --- Slack refuses the bot's token while it serves people ---------------------------------------


async def test_a_revoked_token_while_serving_people(
    slack_bot: SlackBot, logs: pytest.LogCaptureFixture
) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    slack_bot.fake.token = "xoxb-0000000000-0000000000-anothertokenrevoked"  # ours is refused
    answers = [
        await slack_bot.command("ack A", user=ADMIN),
        await slack_bot.command("kudos <@U0BEN> thanks", user=ADMIN),
        await press(slack_bot, alert, "B", "lead_contacted", user=ADMIN),
        await click_on_home(slack_bot, "open_edit_targets", user=ADMIN),
        await slack_bot.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"}),
    ]
    await slack_bot.until(lambda: slack_bot.fake.calls_to("auth.test"), count=len(answers))
    assert all(answer.status == 200 for answer in answers)
    assert_no_secret(
        answers=[answer.response.text for answer in answers],
        logs=logs.text,
        slack=slack_heard(slack_bot.fake),
        store=await stored_text(slack_bot.engine),
    )


# --- alerts and a digest that Slack refuses, with --debug --------------------------------------------


def test_check_and_digest_refused_by_slack(
    sqlite_cli: CLI,
    sqlite_url: str,
    cli_env: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    logs: pytest.LogCaptureFixture,
) -> None:
    assert sqlite_cli("agreement", "apply", str(EXAMPLES / "agreement.yaml")).code == 0
    assert sqlite_cli("sync", "--at", AT_MARCH).code == 0
    cli_env.setenv("SLACK_API_URL", fake_slack.url)
    cli_env.setenv("SLACK_BOT_TOKEN", REVOKED)
    cli_env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    check = sqlite_cli("--debug", "check", "--at", AT_MARCH, "--json")
    digest = sqlite_cli("--debug", "digest", "weekly", "--at", "2027-03-08T09:00:00-06:00")
    assert check.code == 1 and "could not be posted" in check.err
    assert digest.code == 1 and "invalid_auth" in digest.err
    assert "Traceback (most recent call last)" in check.err + digest.err
    assert fake_slack.calls and all(call.error == "invalid_auth" for call in fake_slack.calls)
    stored = asyncio.run(stored_text(create_engine(sqlite_url), dispose=True))
    assert "check SLACK_BOT_TOKEN" in stored  # each refusal is kept in `outbox.last_error`
    assert_no_secret(
        check=[check.out, check.err],
        digest=[digest.out, digest.err],
        logs=logs.text,
        slack=slack_heard(fake_slack),
        store=stored,
    )

"""Secrets never show: not in logs (any logger, DEBUG, text or JSON), errors, tracebacks, the
store's error columns, or anything Slack or HubSpot received, under every failure we can cause.

Each test captures everything a person or a log collector could read and fails on the exact
secret values in play and on anything shaped like a token or a URL password.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox import deliver
from bot.sandbox.hubspot import TOKEN as PORTAL_TOKEN
from bot.sandbox.hubspot import FakeHubSpot
from bot.sandbox.slack import APP_TOKEN, TOKEN, FakeSlack
from models.agreement import HubspotSource
from models.db import create_engine
from models.tables import SourceState
from scheduler.sources.hubspot_client import HubSpotConfig, SystemClock
from scheduler.sync import sync_sources
from tests.conftest import CLI, EXAMPLES
from tests.utils.alerts import ADMIN, post_alert, press, store_with_leads
from tests.utils.modals import click_on_home
from tests.utils.outbox import AT, record, slack_client
from tests.utils.processes import child_env, free_port
from tests.utils.slack_bot import SIGNING_SECRET, SlackBot, sign
from tests.utils.store import example, snapshot

REVOKED = "xoxb-2468013579-1357924680-revokedbottokenvalue"  # a bot token the fake refuses
WRONG_HUBSPOT = "pat-na1-0badc0de-1234-4321-abcd-00000000feed"
PASSWORD = "S3cretPassw0rd"
UNREACHABLE_DB = f"postgresql://slabot:{PASSWORD}@127.0.0.1:1/x"
SECRETS = (TOKEN, APP_TOKEN, REVOKED, SIGNING_SECRET, PORTAL_TOKEN, WRONG_HUBSPOT, PASSWORD)
SHAPES = (
    re.compile(r"xox[abprs]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"pat-[a-z0-9]+-[0-9a-f-]+"),
    # A URL with a password; `user:***@` is how a masked one is written, and is fine.
    re.compile(r"://[^:/\s'\"]+:(?!\*\*\*@)[^@/\s'\"]+@"),
)
AT_MARCH = "2027-03-10T16:00:00-06:00"  # inside the example period, after its data


def leaks(text: str) -> list[str]:
    """Each secret value, and each token- or password-shaped string, found in `text`."""
    found = [secret for secret in SECRETS if secret in text]
    return found + [match.group(0) for shape in SHAPES for match in shape.finditer(text)]


def assert_no_secret(**seen: str | Iterable[str]) -> None:
    """Fail naming where a secret showed (`seen` maps a place to what was read there)."""
    for place, texts in seen.items():
        text = texts if isinstance(texts, str) else "\n".join(texts)
        assert not leaks(text), f"{place} shows {leaks(text)}"


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


def slack_heard(fake: FakeSlack) -> list[str]:
    """Everything the fake Slack received but the Authorization header (where a token belongs)."""
    return [json.dumps(call.args, default=str) for call in fake.calls] + [
        json.dumps(response, default=str) for response in fake.responses
    ]


def hubspot_heard(portal: FakeHubSpot) -> list[str]:
    return [f"{seen.path} {seen.query} {json.dumps(seen.body)}" for seen in portal.requests]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of every logger, from DEBUG up, formatted with its traceback."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


async def stored_text(engine: AsyncEngine, *, dispose: bool = False) -> str:
    """Every row of the store as text: error columns (`last_error`) included."""
    try:
        return repr(await snapshot(engine))
    finally:
        if dispose:
            await engine.dispose()


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


# --- HubSpot fails during `slabot sync` ------------------------------------------------------------

CRM = "  - {name: crm, kind: hubspot, stages: {leads: lead, mqls: marketingqualifiedlead}}\n"


@pytest.fixture
def portal() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as fake:
        fake.add_owner("7", "ana@example.com", "Ana", "Lopez")
        fake.add_contact(hubspot_owner_id="7", hs_lifecyclestage_lead_date="2027-01-04T15:00:00Z")
        yield fake


@pytest.fixture
def crm_cli(
    sqlite_cli: CLI, cli_env: pytest.MonkeyPatch, tmp_path: Path, portal: FakeHubSpot
) -> CLI:
    """The example agreement with a HubSpot source `crm`, applied; HUBSPOT_* set to the portal."""
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    text = (EXAMPLES / "agreement.yaml").read_text().replace("sources:\n", "sources:\n" + CRM)
    (tmp_path / "agreement.yaml").write_text(text)
    assert sqlite_cli("agreement", "apply", str(tmp_path / "agreement.yaml")).code == 0
    cli_env.setenv("HUBSPOT_API_URL", portal.url)
    cli_env.setenv("HUBSPOT_TOKEN", portal.token)
    return sqlite_cli


@pytest.mark.parametrize(
    ("failure", "code"),
    [("401", 1), ("403", 1), ("500 twice", 0), ("malformed JSON twice", 0)],
)
def test_hubspot_failing_a_sync(
    crm_cli: CLI,
    portal: FakeHubSpot,
    cli_env: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
    failure: str,
    code: int,
) -> None:
    if failure == "401":
        cli_env.setenv("HUBSPOT_TOKEN", WRONG_HUBSPOT)
    elif failure == "403":
        portal.inject("status", status=403)
    elif failure == "500 twice":
        portal.inject("status", times=2, status=500)
    else:
        portal.inject("malformed", times=2)
    result = crm_cli("--debug", "sync", "--source", "crm", "--json")
    assert result.code == code, result.err
    [crm] = json.loads(result.out)["sources"]
    assert (crm["status"] == "failed") == (code == 1)
    assert_no_secret(out=result.out, err=result.err, logs=logs.text, hubspot=hubspot_heard(portal))


@pytest.mark.parametrize("failure", ["500", "malformed JSON"])
async def test_hubspot_failing_until_the_sync_gives_up(
    engine: AsyncEngine, portal: FakeHubSpot, logs: pytest.LogCaptureFixture, failure: str
) -> None:
    if failure == "500":
        portal.inject("status", times=10_000, status=500)
    else:
        portal.inject("malformed", times=10_000)
    crm = HubspotSource(name="crm", kind="hubspot", stages={"leads": "lead"})
    agreement = example().model_copy(update={"sources": [crm]})
    quick = HubSpotConfig(
        token=portal.token, base_url=portal.url, clock=SystemClock(50.0), retry_for=5.0
    )
    [result] = await sync_sources(engine, agreement, at=AT, hubspot=quick)
    assert result.status == "failed" and result.error is not None
    assert "giving up" in result.error
    assert "token" not in repr(quick)  # the config is printed without its token
    stored = await stored_text(engine)
    assert SourceState.__tablename__ in stored and result.error in stored
    assert_no_secret(error=result.error, store=stored, logs=logs.text)


# --- a database URL with a password that cannot be reached ----------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("agreement", "history"),
        ("--debug", "agreement", "history"),
        ("--debug", "status", "--json"),
        ("--debug", "run"),
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_unreachable_database(
    cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    logs: pytest.LogCaptureFixture,
    args: tuple[str, ...],
    log_format: str,
) -> None:
    from tests.conftest import _runner

    for name, value in {
        "SLABOT_DATABASE_URL": UNREACHABLE_DB,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "HUBSPOT_TOKEN": PORTAL_TOKEN,
        "SLABOT_LOG_LEVEL": "DEBUG",
        "SLABOT_LOG_FORMAT": log_format,
    }.items():
        cli_env.setenv(name, value)
    result = _runner(capsys)(*args)
    assert result.code == 1
    assert "slabot:***@127.0.0.1:1/x" in result.err  # where it looked, the password masked
    if "--debug" in args:
        assert "Traceback (most recent call last)" in result.err
    assert_no_secret(out=result.out, err=result.err, logs=logs.text)


# --- settings that are refused ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-1234567890-0987654321-usertokensecret"),
        ("SLACK_APP_TOKEN", TOKEN),
        ("SLABOT_DATABASE_URL", f"mysql://slabot:{PASSWORD}@db.internal/sla"),
        ("SLABOT_DATABASE_URL", f"postgresql://slabot:{PASSWORD}@db.internal:port/sla"),
        ("SLABOT_PORT", "http"),
    ],
)
@pytest.mark.parametrize("command", [("--debug", "agreement", "history"), ("--debug", "run")])
def test_a_refused_setting(
    sqlite_cli: CLI,
    cli_env: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
    name: str,
    value: str,
    command: tuple[str, ...],
) -> None:
    cli_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    cli_env.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    cli_env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    cli_env.setenv("HUBSPOT_TOKEN", PORTAL_TOKEN)
    cli_env.setenv(name, value)
    result = sqlite_cli(*command)
    assert result.code == 2
    assert result.err.startswith(f"invalid setting: {name}: ")
    assert value not in result.err
    assert_no_secret(out=result.out, err=result.err, logs=logs.text)


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


# --- `slabot run` with a token Slack refuses, logging JSON at DEBUG ------------------------------------


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_run_with_a_refused_token(
    sqlite_url: str,
    fake_slack: FakeSlack,
    portal: FakeHubSpot,
    tmp_path: Path,
    log_format: str,
) -> None:
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    agreement = (EXAMPLES / "agreement.yaml").read_text().replace("sources:\n", "sources:\n" + CRM)
    (tmp_path / "agreement.yaml").write_text(agreement)
    port = free_port()
    env = child_env(
        SLABOT_DATABASE_URL=sqlite_url,
        SLABOT_AGREEMENT=str(tmp_path / "agreement.yaml"),
        SLACK_BOT_TOKEN=REVOKED,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        HUBSPOT_TOKEN=WRONG_HUBSPOT,  # the sync job's HubSpot source is refused too
        HUBSPOT_API_URL=portal.url,
        SLABOT_PORT=str(port),
        SLABOT_LOG_LEVEL="DEBUG",
        SLABOT_LOG_FORMAT=log_format,
    )
    log_file = (tmp_path / "run.log").open("w")  # DEBUG fills a pipe before anyone reads it
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--debug", "run"],
        env=env,
        cwd=tmp_path,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        body = urlencode(
            {"command": "/sla", "text": "ack L-1001", "user_id": ADMIN, "team_id": "T0FAKE0001",
             "response_url": fake_slack.response_url(), "trigger_id": "1.2.3"}
        )  # fmt: skip
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        answer = httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=10)
        deadline = time.monotonic() + 20  # the leader's first sync meets the refused HubSpot token
        while not any(s.status == 401 for s in portal.requests) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log_file.close()
    output = (tmp_path / "run.log").read_text()
    assert process.returncode == 0, output[-2000:]
    assert answer.status_code == 200
    assert "invalid_auth" in output  # Bolt could not authorise with the token
    assert "HubSpot refused" in output and "check HUBSPOT_TOKEN" in output
    if log_format == "json":
        assert all(json.loads(line) for line in output.splitlines() if line.startswith("{"))
    assert_no_secret(
        answer=answer.text,
        output=output,
        slack=slack_heard(fake_slack),
        hubspot=hubspot_heard(portal),
    )

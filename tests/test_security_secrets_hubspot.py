"""Secrets never show when HubSpot fails or refuses its token: in `slabot sync` (refused,
failing for a while, or until the sync gives up), and in `slabot run` whose Slack and HubSpot
tokens are both refused, logging text or JSON at DEBUG; not in output, logs, the store's error
columns or anything Slack or HubSpot received."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.hubspot import FakeHubSpot
from bot.sandbox.slack import FakeSlack
from models.agreement import HubspotSource
from models.tables import SourceState
from scheduler.sources.hubspot_client import HubSpotConfig, SystemClock
from scheduler.sync import sync_sources
from tests.conftest import CLI, EXAMPLES
from tests.utils.alerts import ADMIN
from tests.utils.outbox import AT
from tests.utils.processes import child_env, free_port
from tests.utils.secrets import (
    REVOKED,
    WRONG_HUBSPOT,
    assert_no_secret,
    hubspot_heard,
    slack_heard,
    stored_text,
)
from tests.utils.slack_bot import SIGNING_SECRET, sign
from tests.utils.store import example

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

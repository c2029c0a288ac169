"""`slabot run` as operators start it: a real process serving Slack over HTTP until SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.slack import TOKEN, FakeSlack
from bot.sandbox.slack_requests import FORM, command_form, trigger_id
from tests.conftest import EXAMPLES
from tests.utils.processes import child_env, free_port, start_run
from tests.utils.slack_bot import SIGNING_SECRET, sign


@pytest.fixture
def running(
    database_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path, str]]:
    port = free_port()
    env = child_env(
        SLABOT_DATABASE_URL=database_url,
        SLABOT_AGREEMENT=str(EXAMPLES / "agreement.yaml"),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        SLABOT_PORT=str(port),
        SLABOT_LOG_FORMAT="json",
    )
    log = tmp_path / "run.log"
    process = start_run(env, tmp_path, log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    try:
        yield process, log, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_run_serves_slack_until_sigterm(
    running: tuple[subprocess.Popen[bytes], Path, str], fake_slack: FakeSlack
) -> None:
    process, log, url = running
    assert process.poll() is None, log.read_text(encoding="utf-8")
    assert httpx.get(f"{url}/healthz").json() == {"ok": True, "store": "ok"}

    response_url = fake_slack.response_url()
    body = command_form(
        "help", user="U0MEMBER01", channel="C1", response_url=response_url, trigger_id=trigger_id(1)
    )
    headers = {"Content-Type": FORM, **sign(body)}
    assert httpx.post(f"{url}/slack/events", content=body, headers=headers).status_code == 200
    unsigned = {"Content-Type": FORM}
    assert httpx.post(f"{url}/slack/events", content=body, headers=unsigned).status_code == 401
    deadline = time.monotonic() + 10
    while not fake_slack.responses_to(response_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_slack.responses_to(response_url), "the reply never came"
    metrics = httpx.get(f"{url}/metrics").text
    assert 'slabot_requests_total{kind="command:help",outcome="ok"} 1.0' in metrics

    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(15) == 0
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 15 s after SIGTERM; its log:\n{log.read_text('utf-8')}")
    output = log.read_text(encoding="utf-8")
    assert "agreement version 1 stored" in output
    assert "starting the scheduler" in output and "scheduler started" in output  # the leader
    assert "scheduler stopped" in output  # and SIGTERM stopped it
    assert TOKEN not in output and SIGNING_SECRET not in output


def test_run_refuses_to_start_without_the_tokens_it_needs(
    database_url: str, tmp_path: Path
) -> None:
    env = child_env(SLABOT_DATABASE_URL=database_url)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN" in done.stderr and "SLACK_SIGNING_SECRET" in done.stderr

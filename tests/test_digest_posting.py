"""`slabot digest` without `--dry-run` posts through the slot claim and the outbox: once, with
its charts, however often (or however many at once) it runs for the same instant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.sandbox.slack import TOKEN, FakeSlack
from bot.sandbox.slack_files import png_dimensions
from tests.conftest import CLI
from tests.test_digest_cli import FIRST, MONDAY, ready
from tests.utils.processes import ROOT
from tests.utils.scheduler import PROGRESS, keys, posts, shared


@pytest.fixture
def posting_cli(cli: CLI, cli_env: pytest.MonkeyPatch, fake_slack: FakeSlack) -> CLI:
    cli_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    cli_env.setenv("SLACK_API_URL", fake_slack.url)
    ready(cli)
    return cli


def test_posting_twice_posts_once(posting_cli: CLI, fake_slack: FakeSlack) -> None:
    first = posting_cli("digest", "weekly", "--at", MONDAY, "--json")
    assert first.code == 0, first.err
    data = json.loads(first.out)
    assert (data["key"], data["channel"]) == ("digest:weekly:2027-W09", PROGRESS)
    assert data["posted"]["recorded_now"] is True and data["posted"]["status"] == "sent"
    assert [c["status"] for c in data["posted"]["charts"]] == ["done", "done"]
    [message] = posts(fake_slack)
    assert message.ts == data["posted"]["ts"] and message.text == data["text"]
    for file in shared(fake_slack):
        assert file.thread_ts == message.ts and png_dimensions(file.content or b"") == (960, 540)

    again = posting_cli("digest", "weekly", "--at", MONDAY)
    assert again.code == 0, again.err
    assert "already recorded, not posted again: #C01PROGRESS" in again.out
    assert "charts shared in its thread: 2 of 2" in again.out
    assert len(posts(fake_slack)) == 1 and len(shared(fake_slack)) == 2


def test_two_at_once_post_once(posting_cli: CLI, fake_slack: FakeSlack, tmp_path: Path) -> None:
    """Two processes, as two cron jobs on two machines would be."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "bot.cli", "digest", "monthly", "--at", FIRST]
    runs = [
        subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outcomes = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outcomes
    assert keys(posts(fake_slack)) == ["digest:monthly:2027-02"]
    assert sorted(f.filename for f in shared(fake_slack)) == [
        "funnel-2027-02.png",
        "rates-2027-02.png",
        "revenue-2027-02.png",
    ]
    assert (tmp_path / "reports" / "report-2027-02.md").exists()  # by the one that built it


def test_a_refused_post_exits_1_naming_the_cause(posting_cli: CLI, fake_slack: FakeSlack) -> None:
    fake_slack.closed_channels.add(PROGRESS)
    result = posting_cli("digest", "weekly", "--at", MONDAY)
    assert result.code == 1
    assert "digest:weekly:2027-W09 is recorded but not in Slack" in result.err
    assert "not_in_channel" in result.err and TOKEN not in result.err + result.out

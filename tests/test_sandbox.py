"""The developer's sandbox as the README tells it: `slabot sandbox`, then `slabot run` in its
folder, then `slabot sandbox say "/sla status"`; three real processes on loopback."""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.processes import child_env, free_port


class Lines:
    """A child's output, read by a thread, so a test can wait for a line without blocking."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(
            target=lambda: [self._queue.put(line) for line in stream], daemon=True
        ).start()

    def until(self, text: str, wait: float) -> str:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if any(text in line for line in self.seen):
                return "".join(self.seen)
            with contextlib.suppress(queue.Empty):
                self.seen.append(self._queue.get(timeout=0.1))
        raise AssertionError(f"no {text!r} within {wait} s in:\n" + "".join(self.seen))


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    finally:
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Path, Lines, int]]:
    folder = tmp_path / "sandbox"
    bot_port = free_port()
    command = [
        *(sys.executable, "-m", "bot.cli", "sandbox", "--folder", str(folder)),
        *("--slack-port", str(free_port()), "--hubspot-port", str(free_port())),
        *("--bot-port", str(bot_port)),
    ]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = Lines(process)
    try:
        lines.until("Ctrl-C stops the sandbox", 90)
        yield folder, lines, bot_port
    finally:
        assert _stop(process) == 0, "".join(lines.seen)


def _slabot(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`slabot ARGS…` run in the sandbox's folder (its .env), as the README tells it."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=folder,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_and_say_against_the_sandbox(sandbox: tuple[Path, Lines, int]) -> None:
    folder, printed, port = sandbox
    settings = (folder / ".env").read_text()
    assert "SLACK_API_URL=http://127.0.0.1:" in settings and "HUBSPOT_API_URL=" in settings
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=folder,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    logs = Lines(bot)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, logs.until("never", 0.1)
            time.sleep(0.2)
        said = _slabot(folder, "sandbox", "say", "/sla status")
        assert said.returncode == 0, said.stdout + said.stderr
        assert "Follow-up" in said.stdout or "follow-up" in said.stdout
        # A button of the App Home tab: the tab is opened (the bot publishes it to the fake
        # Slack), then clicked; the modal it opens is printed here and in the sandbox's terminal.
        clicked = _slabot(folder, "sandbox", "click", "--home", "open_edit_targets")
        assert clicked.returncode == 0, clicked.stdout + clicked.stderr
        assert "← Home tab published (" in clicked.stdout
        assert "← modal opened (Edit targets):" in clicked.stdout
        printed.until("modal opened: Edit targets", 30)
        # The leader syncs the fake HubSpot and checks the leads: the alerts reach the fake
        # Slack, which prints them in the sandbox's terminal.
        shown = printed.until("[ Contacted ]", 120)
        assert "#alerts" in shown
    finally:
        assert _stop(bot) == 0, "".join(logs.seen)

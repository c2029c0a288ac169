"""`slabot demo` end to end, as a newcomer runs it: a real process, real output, real files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.sandbox.slack_files import png_dimensions
from tests.utils.processes import ROOT, child_env

TOKEN_SHAPES = re.compile(r"xox[abprs]-|xapp-|pat-na1-")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run of the demo in a clean folder, with none of the bot's settings in the env."""
    folder = tmp_path_factory.mktemp("newcomer")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo"],
        cwd=folder,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done, folder / "demo-output"


def test_the_demo_exits_0_and_tells_the_story_in_order(
    demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, _ = demo
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    steps = [out.index(f"[{n}/6]") for n in range(1, 7)]
    assert steps == sorted(steps)
    assert "Nothing leaves this machine" in " ".join(out.split())
    assert re.search(r"source crm \(hubspot\): [\d,]+ records read", out)
    assert re.search(r"source traffic \(metrics_csv\): [\d,]+ records read", out)
    assert re.search(r"Done in \d+ s: \d+ things reached the fake Slack", out)
    assert not TOKEN_SHAPES.search(out + done.stderr)  # no token, even a fake one
    assert "Traceback" not in done.stderr


def test_the_check_shows_alerts_with_their_buttons(
    demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = demo[0].stdout
    check = out[out.index("[2/6]") : out.index("[3/6]")]
    assert "[ Contacted ]" in check
    assert "#alerts" in check
    assert "<@U" not in out  # mentions are rendered as names


def test_digests_a_win_and_status_reach_slack(
    demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = demo[0].stdout
    weekly = out[out.index("[3/6]") : out.index("[4/6]")]
    monthly = out[out.index("[4/6]") : out.index("[5/6]")]
    win = out[out.index("[5/6]") : out.index("[6/6]")]
    status = out[out.index("[6/6]") :]
    assert "#progress" in weekly
    assert "#progress" in monthly and ".png" in monthly  # the charts shared in its thread
    assert "#wins" in win and "54,000" in win
    assert "HTTP 200" in status
    assert "reply to /sla" in status


def test_the_output_folder_holds_the_reports_charts_and_transcript(
    demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = demo
    names = sorted(path.name for path in out.iterdir())
    charts = [out / name for name in names if name.endswith(".png")]
    reports = [out / name for name in names if name.endswith(".md")]
    assert len(reports) == 2 and len(charts) >= 3, names
    for chart in charts:
        width, height = png_dimensions(chart.read_bytes())
        assert width >= 600 and height >= 300
    monthly = next(path for path in reports if "monthly" in path.name or "report" in path.name)
    assert "![" in monthly.read_text(encoding="utf-8")  # the charts are in the Markdown
    transcript = (out / "slack.txt").read_text(encoding="utf-8")
    assert "[ Contacted ]" in transcript and "#wins" in transcript


def test_the_readme_quotes_the_demo_as_it_is(
    demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """Every line of the README's demo excerpt is a line the demo prints ("…" marks a cut)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- demo excerpt start -->", "<!-- demo excerpt end -->"
    excerpt = readme[readme.index(start) + len(start) : readme.index(end)]
    printed = {line.rstrip() for line in demo[0].stdout.splitlines()}
    quoted = [
        line.rstrip()
        for line in excerpt.splitlines()
        if line.strip() and line.strip() != "…" and not line.startswith("```")
    ]
    assert len(quoted) > 40
    missing = [line for line in quoted if line not in printed]
    assert not missing, missing

"""`slabot digest weekly|monthly` on the example data: JSON shape, files, text and exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

from slack_sdk.models.blocks import Block

from tests.conftest import CLI, EXAMPLES
from tests.test_charts import size

SYNC_AT = "2027-03-10T16:00:00-06:00"
MONDAY = "2027-03-08T09:00:00-06:00"
FIRST = "2027-03-01T09:00:00-06:00"


def ready(cli: CLI) -> None:
    assert cli("agreement", "apply", str(EXAMPLES / "agreement.yaml")).code == 0
    assert cli("sync", "--at", SYNC_AT).code == 0


def test_weekly_json_on_the_examples(cli: CLI, tmp_path: Path) -> None:
    ready(cli)
    result = cli("digest", "weekly", "--at", MONDAY, "--dry-run", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data) >= {"kind", "channel", "text", "blocks", "files"}
    assert (data["kind"], data["channel"], data["files"]) == ("weekly", "C01PROGRESS", [])
    assert data["key"] == "digest:weekly:2027-W09"
    assert data["text"].startswith("Weekly SLA digest · 2027-W09 (Mon 1 Mar – Sun 7 Mar 2027)")
    for block in data["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    assert not (tmp_path / "reports").exists()  # weekly writes files only with --out


def test_monthly_writes_charts_and_report(cli: CLI, tmp_path: Path) -> None:
    ready(cli)
    result = cli("digest", "monthly", "--at", FIRST, "--dry-run", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["kind"] == "monthly"
    names = ["revenue-2027-02.png", "funnel-2027-02.png", "rates-2027-02.png", "report-2027-02.md"]
    assert data["files"] == [str(Path("reports") / name) for name in names]
    for name in names[:3]:
        assert size((tmp_path / "reports" / name).read_bytes()) == (960, 540)
    report = (tmp_path / "reports" / "report-2027-02.md").read_text()
    assert report.startswith("# Monthly joint report · February 2027")
    assert "](rates-2027-02.png)" in report
    assert "**Suggested revision**" in report and "90,500 USD won this month" in report


def test_text_and_out_folder(cli: CLI, tmp_path: Path) -> None:
    ready(cli)
    result = cli("digest", "weekly", "--at", MONDAY, "--dry-run", "--out", str(tmp_path / "w"))
    assert result.code == 0, result.err
    assert "Weekly SLA digest · 2027-W09" in result.out
    assert "The agreement, both sides" in result.out and "```" not in result.out
    assert "would post to #C01PROGRESS (key digest:weekly:2027-W09)" in result.out
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [
        "digest-2027-W09.md",
        "funnel-2027-W09.png",
        "revenue-2027-W09.png",
    ]


def test_errors(cli: CLI) -> None:
    missing = cli("digest", "weekly", "--dry-run")
    assert missing.code == 1 and "No agreement yet" in missing.err
    ready(cli)
    bad_at = cli("digest", "weekly", "--at", "monday", "--dry-run")
    assert bad_at.code == 2 and "--at: 'monday' is not an ISO 8601 instant" in bad_at.err
    bad_kind = cli("digest", "daily", "--dry-run")
    assert bad_kind.code == 2 and "use weekly or monthly" in bad_kind.err
    posting = cli("digest", "weekly", "--at", MONDAY)
    assert posting.code == 2 and "SLACK_BOT_TOKEN is not set" in posting.err
    early = cli("digest", "weekly", "--at", "2026-12-21T09:00:00-06:00", "--dry-run", "--json")
    assert early.code == 0 and "outside it" in json.loads(early.out)["text"]

"""`slabot agreement apply|show|history`: refusals exit 2 and store nothing; versions are kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CLI
from tests.utils.agreements import edit, edited_example, example_text

H2 = (
    ("name: Sales & Marketing SLA 2027 H1", "name: Sales & Marketing SLA 2027 H2"),
    ("{start: 2027-01-01, end: 2027-06-30}", "{start: 2027-07-01, end: 2027-12-31}"),
)


def write(folder: Path, text: str, name: str = "agreement.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def history(cli: CLI) -> list[dict[str, Any]]:
    result = cli("agreement", "history", "--json")
    assert result.code == 0, result.err
    versions: list[dict[str, Any]] = json.loads(result.out)
    return versions


def show(cli: CLI, at: str) -> dict[str, Any]:
    result = cli("agreement", "show", "--json", "--at", at)
    assert result.code == 0, result.err
    shown: dict[str, Any] = json.loads(result.out)
    return shown


def apply(cli: CLI, path: Path, *args: str) -> str:
    result = cli("agreement", "apply", str(path), *args)
    assert result.code == 0, result.err
    return result.out


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param(
            edited_example(("currency: USD", "currency: [USD")),
            ":6: YAML syntax error: expected ',' or ']'",
            id="yaml-syntax-error",
        ),
        pytest.param("", ":1: the file is empty", id="empty-file"),
        pytest.param("- a\n- b\n", ":1: the file must be a mapping", id="not-a-mapping"),
        pytest.param(None, ": no such file", id="missing-file"),
        pytest.param(
            edited_example(("currency: USD", "currency: USD\ncurrncy: USD")),
            ":6: currncy: unknown key 'currncy'; did you mean 'currency'?",
            id="unknown-key",
        ),
        pytest.param(
            edited_example(("rate: 0.25", "rate: 1.25")),
            ":17: funnel[2].rate: a rate is a share between 0 (excluded) and 1",
            id="bad-rate",
        ),
        pytest.param(
            edited_example(("end: 2027-06-30", "end: 2026-12-31")),
            ":3: period.end: 2026-12-31 is before the start (2027-01-01)",
            id="end-before-start",
        ),
        pytest.param(
            edited_example(("timezone: America/Chicago", "timezone: Mars/Olympus")),
            ":4: timezone: 'Mars/Olympus' is not a known IANA time zone",
            id="unknown-time-zone",
        ),
        pytest.param(
            edited_example(("currency: USD", "currency: USD\ncurrency: EUR")),
            ":6: currency: duplicate key 'currency'",
            id="duplicate-yaml-key",
        ),
        pytest.param(
            edited_example(("warn_before: 1h", "warn_before: 4h")),
            ":36: followup[0].warn_before: 4h is not shorter than within (4h)",
            id="warn-before-within",
        ),
        pytest.param(
            edited_example(("stage: mqls ", "stage: demo ")),
            ":34: followup[0].stage: unknown stage 'demo'",
            id="rule-on-unknown-stage",
        ),
    ],
)
def test_a_refused_file_exits_2_and_stores_nothing(
    sqlite_cli: CLI, tmp_path: Path, text: str | None, where: str
) -> None:
    path = tmp_path / "sla.yaml" if text is None else write(tmp_path, text, "sla.yaml")
    result = sqlite_cli("agreement", "apply", str(path))
    assert result.code == 2
    assert f"{path}{where}" in result.err
    assert result.err.startswith(f"{path}: the agreement was not accepted (1 problem)\n")
    assert "Traceback" not in result.out + result.err
    assert result.out == ""
    assert history(sqlite_cli) == []


def test_an_invalid_edit_leaves_the_stored_version_alone(cli: CLI, tmp_path: Path) -> None:
    path = write(tmp_path, example_text())
    apply(cli, path)
    write(tmp_path, edited_example(("rate: 0.25", "rate: 0")))
    refused = cli("agreement", "apply", str(path))
    assert refused.code == 2
    assert f"{path}:17: funnel[2].rate:" in refused.err
    versions = history(cli)
    assert [v["version"] for v in versions] == [1]
    assert show(cli, "2027-03-01T12:00:00Z")["agreement"]["funnel"][2]["rate"] == "0.25"


def test_comments_and_layout_alone_store_no_new_version(cli: CLI, tmp_path: Path) -> None:
    path = write(tmp_path, example_text())
    assert "Stored version 1" in apply(cli, path)
    relaid = edit(
        example_text(),
        ("# An example", "# Reworded comment\n\n# An example"),
        ("team: marketing, rate: 0.25}", "team: marketing, rate: 0.250}   # a quarter"),
        ("{start: 2027-01-01, end: 2027-06-30}", "\n  start: 2027-01-01\n  end: 2027-06-30"),
        ("  check_every: 5m\n", "  check_every:   5m\n\n"),
    )
    write(tmp_path, relaid)
    assert "Unchanged" in apply(cli, path)
    assert [v["version"] for v in history(cli)] == [1]


def test_a_changed_rate_stores_version_2_with_a_readable_change(cli: CLI, tmp_path: Path) -> None:
    path = write(tmp_path, example_text())
    apply(cli, path, "--by", "U01MKTLEAD")
    write(tmp_path, edited_example(("rate: 0.25", "rate: 0.3")))
    out = apply(cli, path, "--by", "U01SALESLEAD")
    assert "Stored version 2" in out
    assert "funnel[mqls].rate: 0.25 -> 0.3" in out
    versions = history(cli)
    assert [(v["version"], v["applied_by"], v["changes"]) for v in versions] == [
        (1, "U01MKTLEAD", ["first version"]),
        (2, "U01SALESLEAD", ["funnel[mqls].rate: 0.25 -> 0.3"]),
    ]


@pytest.mark.parametrize(
    ("at", "state", "days_left"),
    [
        pytest.param("2027-06-30T12:00:00-05:00", "in_force", 1, id="last-day"),
        pytest.param("2027-07-01T04:59:59Z", "in_force", 1, id="last-second-in-chicago"),
        pytest.param("2027-01-01T06:00:00Z", "in_force", 181, id="first-day"),
        pytest.param("2027-03-31T12:00:00-05:00", "in_force", 92, id="midway"),
        pytest.param("2027-01-01T05:59:59Z", "not_started", 181, id="before-the-start"),
        pytest.param("2027-07-01T05:00:00Z", "ended", 0, id="after-the-end"),
    ],
)
def test_show_gives_the_version_and_days_left(
    cli: CLI, tmp_path: Path, at: str, state: str, days_left: int
) -> None:
    apply(cli, write(tmp_path, example_text()), "--at", "2026-12-01T00:00:00Z")
    shown = show(cli, at)
    assert shown["version"] == 1
    assert shown["name"] == "Sales & Marketing SLA 2027 H1"
    assert (shown["state"], shown["days_left"], shown["days_total"]) == (state, days_left, 181)


@pytest.mark.parametrize(
    ("at", "version"),
    [
        pytest.param("2027-05-15T00:00:00Z", 1, id="v2-applied-but-its-period-not-started"),
        pytest.param("2027-07-02T00:00:00Z", 2, id="v2-period-started"),
        pytest.param("2027-04-01T00:00:00Z", 1, id="before-v2-was-applied"),
        pytest.param("2026-06-01T00:00:00Z", 1, id="before-anything-was-applied"),
    ],
)
def test_the_version_in_force(cli: CLI, tmp_path: Path, at: str, version: int) -> None:
    apply(cli, write(tmp_path, example_text(), "h1.yaml"), "--at", "2026-12-01T00:00:00Z")
    apply(cli, write(tmp_path, edited_example(*H2), "h2.yaml"), "--at", "2027-05-01T00:00:00Z")
    assert [v["version"] for v in history(cli)] == [1, 2]
    shown = show(cli, at)
    assert shown["version"] == version
    assert shown["period"]["start"] == ("2027-01-01" if version == 1 else "2027-07-01")

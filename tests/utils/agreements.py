"""Agreement texts for tests: the example file, edits of it, and the problems a text raises."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from ruamel.yaml import YAML

from models.agreement_loader import AgreementError, Problem, parse_agreement
from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "agreement.yaml"

MINIMAL = """\
name: Minimal SLA
period: {start: 2027-01-01, end: 2027-03-31}
timezone: Europe/Berlin
currency: EUR
revenue_goal: 100000
average_deal_size: 5000
teams:
  sales: {lead: U01SALES}
funnel:
  - {stage: leads, team: sales}
  - {stage: customers, team: sales, rate: 0.1}
business_hours:
  days: [mon, tue, wed, thu, fri]
  start: "09:00"
  end: "17:00"
channels: {progress: C01PROGRESS, alerts: C01ALERTS, wins: C01WINS}
"""


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """`text` with each (old, new) applied; each old must occur exactly once, so edits are exact."""
    for old, new in replacements:
        count = text.count(old)
        assert count == 1, f"{old!r} occurs {count} times in the text, not once"
        text = text.replace(old, new)
    return text


def edited_example(*replacements: tuple[str, str]) -> str:
    return edit(example_text(), *replacements)


def restructured(text: str, change: Callable[[Any], None], *, block: bool = False) -> str:
    """Load `text` with ruamel, let `change` edit the structure, and dump it again.

    With `block`, every mapping and list is written in block style (one key per line).
    """
    yaml = YAML(typ="safe" if block else "rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    data = yaml.load(text)
    change(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def problems_of(text: str, *, file: str = "agreement.yaml") -> list[Problem]:
    """The problems `parse_agreement` reports for `text` (it must refuse it)."""
    with pytest.raises(AgreementError) as caught:
        parse_agreement(text, file=file)
    assert caught.value.file == file
    return caught.value.problems


def line_of(text: str, fragment: str) -> int:
    """The 1-based number of the only line of `text` containing `fragment`."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(lines) == 1, f"{fragment!r} is on lines {lines}, not on exactly one"
    return lines[0]

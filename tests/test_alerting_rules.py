"""`remind_every` in a follow-up rule: its default, its wall-clock meaning, and its mistakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.alerting import remind_span
from models.agreement_loader import parse_agreement
from tests.utils.agreements import edited_example, problems_of

RULE = "    warn_before: 1h"


def test_the_default_is_four_hours_of_wall_clock() -> None:
    (rule,) = parse_agreement(edited_example()).followup
    assert rule.remind_every == "4h" and remind_span(rule) == timedelta(hours=4)


@pytest.mark.parametrize(
    ("written", "span"),
    [("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), ("1d", timedelta(hours=24))],
)
def test_a_written_span(written: str, span: timedelta) -> None:
    text = edited_example((RULE, f"{RULE}\n    remind_every: {written}"))
    (rule,) = parse_agreement(text).followup
    assert remind_span(rule) == span


@pytest.mark.parametrize(
    ("line", "path", "fragment"),
    [
        ("remind_every: 4 hours", "followup[0].remind_every", "is not a duration"),
        ("remind_every: 0h", "followup[0].remind_every", "is zero"),
        ("remind_evry: 4h", "followup[0].remind_evry", "did you mean 'remind_every'?"),
    ],
)
def test_mistakes_are_named_with_their_path(line: str, path: str, fragment: str) -> None:
    (problem,) = problems_of(edited_example((RULE, f"{RULE}\n    {line}")))
    assert problem.path == path and fragment in problem.message, problem

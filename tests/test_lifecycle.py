"""The agreement's calendar: "ends in N days" once each, the mid-period review once."""

from __future__ import annotations

import pytest

from bot.lifecycle import ending_reminder, midpoint, review_prompt
from tests.utils.store import example, local

# The example period is 2027-01-01 .. 2027-06-30 in America/Chicago.


@pytest.mark.parametrize(
    ("at", "key", "left"),
    [
        ("2027-05-30 23:59", None, None),  # 31 days
        ("2027-05-31 00:00", "lifecycle:2027-01-01:ends-in-30d", 30),
        ("2027-06-01 00:00", "lifecycle:2027-01-01:ends-in-30d", 29),
        ("2027-06-23 08:00", "lifecycle:2027-01-01:ends-in-7d", 7),
        ("2027-06-26 08:00", "lifecycle:2027-01-01:ends-in-7d", 4),  # missed 30: only 7 now
        ("2027-06-29 17:00", "lifecycle:2027-01-01:ends-in-1d", 1),
        ("2027-06-30 17:00", "lifecycle:2027-01-01:ends-in-1d", 0),
        ("2027-07-01 00:00", None, None),  # over
        ("2026-12-31 12:00", None, None),  # not begun
    ],
)
def test_the_ending_reminder_due(at: str, key: str | None, left: int | None) -> None:
    reminder = ending_reminder(example(), local(at))
    assert (reminder.key if reminder else None) == key
    if reminder is not None:
        assert reminder.days_left == left
        assert "Sales & Marketing SLA 2027 H1" in reminder.text


def test_the_review_prompt_from_the_midpoint_until_the_last_month() -> None:
    agreement = example()
    assert str(midpoint(agreement)) == "2027-04-01"
    assert review_prompt(agreement, local("2027-03-31 23:59")) is None
    prompt = review_prompt(agreement, local("2027-04-01 00:00"), "mqls_rate: 18% observed")
    assert prompt is not None and prompt.key == "lifecycle:2027-01-01:review"
    assert prompt.text.endswith("mqls_rate: 18% observed")
    assert review_prompt(agreement, local("2027-06-01 09:00")) is None

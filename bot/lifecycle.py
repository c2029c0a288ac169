"""The agreement's own calendar: reminders that it ends, and the mid-period review prompt.

Pure functions of the agreement and an instant. Each reminder has a key that names it for the
whole period, so the outbox says it once however often the scheduler asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.kpis import local_today
from models.agreement import Agreement

ENDING_DAYS = (30, 7, 1)  # reminders this many days before the period's last day


@dataclass(frozen=True)
class Reminder:
    key: str
    kind: str  # "ending" or "review"
    text: str
    days_left: int


def days_left(agreement: Agreement, at: datetime) -> int:
    """Calendar days from the local date of `at` to the period's last day (0 on that day)."""
    return (agreement.period.end - local_today(agreement, at)).days


def midpoint(agreement: Agreement) -> date:
    return agreement.period.start + timedelta(days=agreement.days // 2)


def ending_reminder(agreement: Agreement, at: datetime) -> Reminder | None:
    """The nearest "ends in N days" reminder now due (one only, if several were missed)."""
    left = days_left(agreement, at)
    if left < 0 or local_today(agreement, at) < agreement.period.start:
        return None
    due = [days for days in ENDING_DAYS if left <= days]
    if not due:
        return None
    threshold = min(due)
    start = agreement.period.start.isoformat()
    when = "tomorrow" if left == 1 else "today" if left == 0 else f"in {left} days"
    text = (
        f":hourglass_flowing_sand: *{agreement.name}* ends {when} "
        f"({agreement.period.end:%a %d %b %Y}). Agree the next period's targets with the other "
        "side, then store them with `slabot agreement apply FILE` (or *Revise the agreement* on "
        "the bot's Home tab), so the bot keeps counting from the first day."
    )
    return Reminder(f"lifecycle:{start}:ends-in-{threshold}d", "ending", text, left)


def review_prompt(agreement: Agreement, at: datetime, suggestion: str = "") -> Reminder | None:
    """Once the period is half over (and more than 30 days remain): time to review it."""
    today = local_today(agreement, at)
    left = days_left(agreement, at)
    if today < midpoint(agreement) or left <= ENDING_DAYS[0]:
        return None
    start = agreement.period.start.isoformat()
    text = (
        f":bar_chart: *{agreement.name}* is half way through. The article's lesson: reset the "
        "SLA from data. Compare the observed conversion rates with the agreed ones and revise "
        "the targets if they differ."
    )
    if suggestion:
        text += "\n" + suggestion
    return Reminder(f"lifecycle:{start}:review", "review", text, left)

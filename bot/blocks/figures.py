"""Engine numbers written for people in Slack: statuses with a colour, money, shares, budgets."""

from __future__ import annotations

from decimal import Decimal

from bot.followup import Compliance
from bot.humanize import percent
from bot.kpis import KpiResult

ICONS = {
    "on_track": ":large_green_circle:",
    "kept": ":large_green_circle:",
    "behind": ":large_yellow_circle:",
    "at_risk": ":red_circle:",
    "broken": ":red_circle:",
    "pending": ":white_circle:",
    "due_soon": ":large_yellow_circle:",
    "breached": ":red_circle:",
    "escalated": ":rotating_light:",
    "snoozed": ":zzz:",
}


def badge(status: str) -> str:
    """`:red_circle: at risk`: a status with its colour, readable without the colour."""
    icon = ICONS.get(status, ":white_circle:")
    return f"{icon} {status.replace('_', ' ')}"


def money(amount: float | int | Decimal | None, currency: str) -> str:
    """`117,500 USD` (whole units: the goal and the deals are in whole units)."""
    return f"{amount or 0:,.0f} {currency}"


def kpi_value(kpi: KpiResult, value: float | int | None) -> str:
    """A KPI figure as `slabot status` prints it: counts with separators, rates and shares in %."""
    if value is None:
        return "-"
    if kpi.kind == "rate" or (kpi.kind == "extra" and isinstance(value, float) and value < 1):
        return percent(value, 1)
    return f"{value:,.0f}" if isinstance(value, int) or value >= 100 else f"{value:,.2f}"


def ledger_value(value: float | int | None) -> str:
    """A ledger figure: a share as %, a count or an amount with separators."""
    if value is None:
        return "-"
    if isinstance(value, float) and value <= 1:
        return percent(value, 1)
    return f"{value:,.0f}"


def budget(c: Compliance) -> str:
    """`1 of 3 allowed misses left` or `error budget overspent by 5 (1 allowed)`."""
    if c.budget_left >= 0:
        return f"{c.budget_left} of {c.budget} allowed misses left"
    return f"error budget overspent by {-c.budget_left} ({c.budget} allowed)"


def team_title(team: str) -> str:
    return team.replace("_", " ").title()

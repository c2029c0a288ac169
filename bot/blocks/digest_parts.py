"""Sections the weekly digest and the monthly report share: ledger, follow-up, revenue, wins, data."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.blocks.common import SECTION_TEXT, Block, context, lines_within, section
from bot.blocks.figures import badge, budget, money, team_title
from bot.digest import Report, StageChange, WinLine
from bot.humanize import percent, span
from bot.kpis import KpiResult
from bot.people import looks_like_slack_user
from bot.revision import RateObservation

WIN_ICONS = {
    "deal": ":trophy:",
    "milestone": ":tada:",
    "streak": ":fire:",
    "kudos": ":raised_hands:",
}


def escape(text: str) -> str:
    """Free text made safe for mrkdwn (Slack reads `<`, `>` and `&` as markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def person(user: str | None) -> str:
    """A Slack user as a mention, anyone else (a CRM owner's email) as written."""
    if not user:
        return "someone"
    return f"<@{user}>" if looks_like_slack_user(user) else escape(user)


def day_range(first: date, last: date) -> str:
    """`Mon 8 Mar – Sun 14 Mar 2027`."""
    return f"{first:%a} {first.day} {first:%b} – {last:%a} {last.day} {last:%b %Y}"


def when(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


def count(value: float | int | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def change(item: StageChange | None) -> str:
    """`+3 (+12%)`, `-2`, `0` or `-` when there is nothing to compare with."""
    if item is None or item.delta is None:
        return "-"
    ratio = f" ({item.ratio:+.0%})" if item.ratio is not None else ""
    return f"{item.delta:+,}{ratio}" if item.delta else "0"


def kpi_figure(kpi: KpiResult, value: float | int | None) -> str:
    if value is None:
        return "-"
    if kpi.kind == "rate" or (kpi.kind == "extra" and isinstance(value, float) and value < 1):
        return percent(value, 1)
    return count(value) if isinstance(value, int) or value >= 100 else f"{value:,.2f}"


def table(rows: list[list[str]], limit: int = SECTION_TEXT - 200) -> str:
    """Rows as a monospaced table (a code block), columns padded to their widest cell, cut at
    whole rows to fit `limit` characters."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "```\n" + lines_within(lines, limit) + "\n```"


def ledger_section(report: Report) -> Block:
    lines = [
        f"{badge(line.status)} *{escape(team_title(line.team))}* → {escape(line.to)}: "
        f"{escape(line.promise)}: {_ledger_figure(line.actual)} of {_ledger_figure(line.target)}"
        for line in report.status.ledger
    ]
    return section(lines_within(["*The agreement, both sides* (period to date)", *lines]))


def _ledger_figure(value: float | int | None) -> str:
    if value is None:
        return "-"
    return percent(value, 1) if isinstance(value, float) and value <= 1 else count(value)


def revenue_section(report: Report, window_name: str) -> Block:
    a, window, to_date = report.agreement, report.revenue, report.status.revenue
    lines = [
        "*Revenue*",
        f"{money(window.actual, a.currency)} won {window_name} against its share of the goal, "
        f"{money(window.target_to_date, a.currency)} ({percent(window.pace)}, {badge(window.status)}).",
        f"Period to date: {money(to_date.actual, a.currency)} of "
        f"{money(to_date.target_to_date, a.currency)} pro-rated ({percent(to_date.pace)}, "
        f"{badge(to_date.status)}); goal {money(a.revenue_goal, a.currency)} by {a.period.end}"
        + (
            f", forecast {money(to_date.forecast, a.currency)}."
            if to_date.forecast is not None
            else "."
        ),
    ]
    return section("\n".join(lines))


def followup_section(report: Report, window_name: str) -> Block | None:
    if not report.followup:
        return None
    lines = ["*Lead follow-up*"]
    for rule in report.followup:
        w, d = rule.window, rule.to_date
        median = (
            f"; median first touch {span(rule.median_first_touch)} business time"
            if rule.median_first_touch is not None
            else ""
        )
        lines.append(
            f"*{escape(rule.rule)}* (first touch within {rule.within} of business time, target "
            f"{percent(w.target)}): {window_name} {percent(w.ratio, 1)} on time ({w.met}/{w.due}), "
            f"{budget(w)}{median}. Period to date {percent(d.ratio, 1)} ({d.met}/{d.due}), "
            f"{budget(d)}."
        )
    return section(lines_within(lines))


def wins_section(report: Report, title: str) -> Block:
    currency = report.agreement.currency
    lines = [title]
    for win in report.wins:
        lines.append(_win(win, currency))
    if not report.wins:
        lines.append("No win recorded yet: the first one will show here.")
    return section(lines_within(lines))


def _win(win: WinLine, currency: str) -> str:
    icon = WIN_ICONS.get(win.kind, ":star:")
    if win.kind == "deal":
        return f"{icon} *{escape(win.title)}* {money(win.amount, currency)} · {person(win.user)}"
    if win.kind == "kudos":
        return f"{icon} {person(win.user)} → {person(win.to_user)}: {escape(win.title)}"
    return f"{icon} {escape(win.title)}"


def rates_rows(window: list[RateObservation], to_date: list[RateObservation], label: str) -> str:
    """Observed rates in the window and to date next to the agreed ones, with sample sizes."""
    rows = [["rate", label, "n", "to date", "n", "agreed", "vs agreed"]]
    for now, whole in zip(window, to_date, strict=True):
        rows.append(
            [
                now.id,
                percent(now.observed, 1),
                count(now.denominator),
                percent(whole.observed, 1),
                count(whole.denominator),
                percent(whole.agreed, 1),
                "-" if whole.relative_change is None else f"{whole.relative_change:+.0%}",
            ]
        )
    return table(rows)


def sources_context(report: Report) -> Block:
    zone = report.agreement.zone
    ages = [
        f"{s.name} {when(s.last_success_at, zone)}" if s.last_success_at else f"{s.name} never"
        for s in report.sources
    ]
    stale = [s.name for s in report.sources if s.stale]
    text = "Data as of: " + (", ".join(ages) if ages else "no source configured")
    if stale:
        text += f". :warning: Stale: {', '.join(stale)} (run `slabot sync`)"
    return context(text)

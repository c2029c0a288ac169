"""The App Home tab: KPIs with pace by team, follow-up, the viewer's leads, wins, data age.

Whatever the number of teams, KPIs, leads or sources, the view stays within Slack's 100 blocks
and 3,000 characters a section: teams beyond the room left are counted, not shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.common import (
    VIEW_BLOCKS,
    Block,
    button,
    capped,
    context,
    divider,
    header,
    lines_within,
    section,
)
from bot.blocks.modals import OPEN_OWNERS, OPEN_REVISE, OPEN_TARGETS
from bot.followup import Compliance
from bot.home import Home
from bot.humanize import percent, span
from bot.kpis import KpiResult
from bot.lead_views import LeadView

STATUS_MARK = {
    "on_track": ":large_green_circle:",
    "behind": ":large_yellow_circle:",
    "at_risk": ":red_circle:",
    "not_started": ":white_circle:",
    "no_data": ":grey_question:",
}
STATE_MARK = {
    "escalated": ":rotating_light:",
    "breached": ":red_circle:",
    "due_soon": ":large_orange_circle:",
    "snoozed": ":zzz:",
    "pending": ":hourglass_flowing_sand:",
}
NO_AGREEMENT_TEXT = (
    ":memo: *No agreement yet.* The dashboard appears once an admin stores one: "
    "`slabot agreement apply FILE` (see `examples/agreement.yaml`), or set `SLABOT_AGREEMENT` "
    "so the bot applies it at start."
)


def _home(blocks: list[Block]) -> dict[str, Any]:
    return {"type": "home", "blocks": blocks}


def no_agreement_home() -> dict[str, Any]:
    """The Home tab before any agreement is stored: what to do."""
    return _home([header("SLA Bot"), section(NO_AGREEMENT_TEXT)])


def _number(kpi: KpiResult, value: float | int | None) -> str:
    if value is None:
        return "-"
    if kpi.kind == "rate" or (kpi.kind == "extra" and isinstance(value, float) and value < 1):
        return percent(value, 1)
    return f"{value:,.0f}" if isinstance(value, int) or value >= 100 else f"{value:,.2f}"


def kpi_line(kpi: KpiResult) -> str:
    """`• mqls: 45 of 60 to date (target 200) · pace 75% :large_yellow_circle: behind`."""
    mark = STATUS_MARK.get(kpi.status, "")
    status = kpi.status.replace("_", " ")
    if kpi.kind == "stage":
        figures = f"{_number(kpi, kpi.actual)} of {_number(kpi, kpi.target_to_date)} to date"
        figures += f" (target {_number(kpi, kpi.target)})"
    else:
        op = "" if kpi.op == ">=" else f"{kpi.op} "  # "at least" goes without saying
        figures = f"{_number(kpi, kpi.actual)} (target {op}{_number(kpi, kpi.target)})"
    pace = f" · pace {percent(kpi.pace)}" if kpi.pace is not None else ""
    return f"• *{kpi.id}*: {figures}{pace} {mark} {status}"


def budget_text(c: Compliance) -> str:
    if c.budget_left >= 0:
        return f"{c.budget_left} of {c.budget} misses left in the error budget"
    return f"error budget overspent by {-c.budget_left} ({c.budget} allowed)"


def _when(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%a %d %b %H:%M}"


def my_lead_line(view: LeadView, zone: ZoneInfo, at: datetime) -> str:
    mark = STATE_MARK.get(view.state, "")
    state = view.state.replace("_", " ")
    if view.deadline > at:
        due = f"due {_when(view.deadline, zone)}"
    else:
        due = f"deadline was {_when(view.deadline, zone)}"
    return (
        f"{mark} *{view.external_id}* · {view.rule} · {state} · {due} · waited {span(view.waited)}"
    )


def _teams(home: Home) -> list[Block]:
    agreement = home.report.agreement
    out = []
    for team, kpis in home.report.teams.items():
        lead = agreement.teams[team].lead if team in agreement.teams else None
        title = f"*{team.replace('_', ' ').title()}*" + (f" (lead <@{lead}>)" if lead else "")
        lines = [kpi_line(kpi) for kpi in kpis] or ["No KPIs for this team."]
        out.append(section(lines_within([title, *lines])))
    return out


def _followup(home: Home) -> Block | None:
    lines = []
    for rule in home.report.followup:
        c = rule.compliance
        open_leads = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in rule.open.items() if n)
        lines.append(
            f"• *{rule.rule}*: {percent(c.ratio, 1)} on time ({c.met}/{c.due}, target "
            f"{percent(c.target)}) · {budget_text(c)} · open: {open_leads or 'none'}"
        )
    return section(lines_within([":stopwatch: *Lead follow-up*", *lines])) if lines else None


def _revenue(home: Home) -> Block:
    r, a = home.report.revenue, home.report.agreement
    won = r.actual or 0
    mark = STATUS_MARK.get(r.status, "")
    pace = f", pace {percent(r.pace)}" if r.pace is not None else ""
    return section(
        f":moneybag: *Revenue*: {won:,.0f} of {a.revenue_goal:,} {a.currency} won"
        f"{pace} {mark} {r.status.replace('_', ' ')}"
    )


def _my_leads(home: Home) -> Block:
    zone, at = home.report.agreement.zone, home.report.at
    if not home.my_open:
        return section(":inbox_tray: *Your open leads*: none. Nice.")
    lines = [my_lead_line(v, zone, at) for v in home.my_leads]
    if home.my_open > len(lines):
        lines.append(f"…and {home.my_open - len(lines)} more: `/sla leads mine` lists them all.")
    title = f":inbox_tray: *Your open leads* ({home.my_open}), nearest deadline first"
    return section(lines_within([title, *lines]))


def _wins(home: Home) -> Block:
    lines = [
        f"• {win.title} ({win.at.astimezone(home.report.agreement.zone):%d %b})"
        for win in home.wins
    ]
    return section(lines_within([":trophy: *Recent wins*", *(lines or ["None yet."])]))


def _data_age(home: Home) -> Block:
    zone = home.report.agreement.zone
    parts = []
    for source in home.report.sources:
        when = _when(source.last_success_at, zone) if source.last_success_at else "never synced"
        parts.append(f"{source.name} {when}" + (" :warning: stale" if source.stale else ""))
    return context(lines_within(["Data as of: " + (", ".join(parts) or "no sources")], 2000))


def _edit_buttons(home: Home) -> list[Block]:
    if not home.may_edit:
        return []
    unmatched = len(home.report.unmatched_owners)
    owners = f"Map owners ({unmatched} unmatched)" if unmatched else "Map owners"
    return [
        {
            "type": "actions",
            "block_id": "home_edit",
            "elements": [
                button("Edit targets", OPEN_TARGETS, "targets"),
                button("Revise agreement", OPEN_REVISE, "revise"),
                button(owners, OPEN_OWNERS, "owners"),
            ],
        }
    ]


def home_view(home: Home) -> dict[str, Any]:
    """The viewer's dashboard as a Home tab view (at most 100 blocks)."""
    report, agreement = home.report, home.report.agreement
    day = f"day {report.window.days} of {agreement.days}" if report.window else "not started yet"
    top = [
        header(agreement.name),
        context(f"{day} · as of {_when(report.at, agreement.zone)} {agreement.zone.key}"),
        *_edit_buttons(home),
        _revenue(home),
    ]
    follow = _followup(home)
    rest = [
        *([follow] if follow else []),
        divider(),
        _my_leads(home),
        _wins(home),
        _data_age(home),
    ]
    teams = capped(
        _teams(home), VIEW_BLOCKS - len(top) - len(rest), "…and {n} more teams: `/sla status TEAM`."
    )
    return _home([*top, *teams, *rest])

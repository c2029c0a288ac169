"""The weekly digest and the monthly joint report as Slack messages (pure: a `Report` in, a
`Reply` out, within Block Kit's limits: at most 50 blocks, sections cut at whole lines)."""

from __future__ import annotations

from bot.blocks.common import (
    MESSAGE_BLOCKS,
    Block,
    Reply,
    capped,
    context,
    divider,
    header,
    lines_within,
    section,
)
from bot.blocks.digest_parts import (
    change,
    count,
    day_range,
    escape,
    followup_section,
    kpi_figure,
    ledger_section,
    rates_rows,
    revenue_section,
    sources_context,
    table,
    when,
    wins_section,
)
from bot.blocks.figures import money, team_title
from bot.digest import Report
from bot.humanize import percent
from bot.revision import MIN_RELATIVE_CHANGE, MIN_SAMPLE

TITLES = {"weekly": "Weekly SLA digest", "monthly": "Monthly joint report"}
WINDOW_NAMES = {"weekly": ("week", "this week"), "monthly": ("month", "this month")}


def digest_reply(report: Report) -> Reply:
    """The message for a weekly digest or a monthly report."""
    a = report.agreement
    title = f"{TITLES[report.kind]} · {_window_title(report)}"
    top = [header(title), context(_subtitle(report))]
    if report.inside is None:
        text = (
            f"The agreement's period is {a.period.start} to {a.period.end}: this "
            f"{WINDOW_NAMES[report.kind][0]} is outside it, so there is nothing to report."
        )
        return Reply(f"{title}: {text}", [*top, section(text), sources_context(report)])
    return Reply(_fallback(report, title), _blocks(report, top))


def _blocks(report: Report, top: list[Block]) -> list[Block]:
    column, name = WINDOW_NAMES[report.kind]
    head = [*top]
    if not report.has_data:
        head.append(
            section(
                f":hourglass: No data yet for {name}: nothing entered the funnel, no deal was won "
                "and no lead's follow-up was due. Check the sources below (`slabot sync`)."
            )
        )
    head += [ledger_section(report), divider()]
    tail: list[Block] = [divider()]
    if report.kind == "monthly":
        tail.append(
            section(
                "*Conversion rates: observed vs agreed*\n"
                + rates_rows(report.rates, report.rates_to_date, column)
            )
        )
    tail += [
        block
        for block in (
            followup_section(report, name),
            revenue_section(report, name),
            wins_section(report, "*Top wins*" if report.kind == "weekly" else "*Notable wins*"),
        )
        if block is not None
    ]
    if report.kind == "monthly":
        tail.append(revision_section(report))
    tail.append(sources_context(report))
    teams = [_team_section(report, team, column) for team in report.kpis]
    room = MESSAGE_BLOCKS - len(head) - len(tail)
    return [*head, *capped(teams, room, "…and {n} more teams: `slabot status` has them all"), *tail]


def _window_title(report: Report) -> str:
    window = report.window
    if report.kind == "monthly":
        return f"{window.first:%B %Y}"
    return f"{window.label} ({day_range(window.first, window.last)})"


def _subtitle(report: Report) -> str:
    a, status = report.agreement, report.status
    progress = (
        f"day {status.window.days} of {a.days}" if status.window else f"starts {a.period.start}"
    )
    return f"*{escape(a.name)}* · {progress} · as of {when(report.as_of, a.zone)}"


def _fallback(report: Report, title: str) -> str:
    a, name = report.agreement, WINDOW_NAMES[report.kind][1]
    to_date = report.status.revenue
    return (
        f"{title}: {money(report.revenue.actual, a.currency)} won {name}; "
        f"{money(to_date.actual, a.currency)} of {money(a.revenue_goal, a.currency)} won to date "
        f"({to_date.status.replace('_', ' ')})."
    )


def _team_section(report: Report, team: str, column: str) -> Block:
    """A team's KPIs over the window (against its share of target) and over the period to date."""
    changes = {c.stage: c for c in report.changes}
    to_date = {kpi.id: kpi for kpi in report.status.teams.get(team, [])}
    rows = [
        [
            "KPI",
            column,
            "target",
            "pace",
            f"vs last {column}",
            "to date",
            "target",
            "pace",
            "status",
        ]
    ]
    for kpi in report.kpis[team]:
        whole = to_date.get(kpi.id)
        rows.append(
            [
                kpi.id,
                kpi_figure(kpi, kpi.actual),
                kpi_figure(kpi, kpi.target_to_date),
                percent(kpi.pace),
                change(changes.get(kpi.id)) if kpi.kind == "stage" else "",
                kpi_figure(kpi, whole.actual) if whole else "-",
                kpi_figure(kpi, whole.target_to_date) if whole else "-",
                percent(whole.pace) if whole else "-",
                whole.status if whole else "-",
            ]
        )
    if len(rows) == 1:
        return section(f"*{escape(team_title(team))}*: no KPI of its own in the agreement.")
    return section(f"*{escape(team_title(team))}*\n{table(rows)}")


def revision_section(report: Report) -> Block:
    """What the funnel would need if the observed rates held (see `bot.revision`)."""
    rule = (
        f"(rule: a rate observed over at least {MIN_SAMPLE} entries into the stage above that "
        f"differs from the agreed one by {percent(float(MIN_RELATIVE_CHANGE))} or more)"
    )
    revision = report.revision
    if revision is None:
        return section(
            f"*Suggested revision*\nNone: every observed rate is close to the agreed one or rests "
            f"on too few leads so far {rule}."
        )
    lines = [f"*Suggested revision* {rule}"]
    for rate in revision.rates:
        lines.append(
            f"• `{rate.id}`: observed {percent(rate.observed, 1)} ({count(rate.converted)} of "
            f"{count(rate.denominator)} {escape(rate.above)}) against {percent(rate.agreed, 1)} "
            f"agreed: suggest `rate: {rate.suggested}`"
        )
    goal = money(report.agreement.revenue_goal, report.agreement.currency)
    lines.append(f"To win {goal} at those rates, the period would need:")
    for stage in revision.stages:
        lines.append(
            f"• {escape(stage.stage)} ({escape(stage.team)}): {count(stage.revised)} instead of "
            f"{count(stage.agreed)} ({stage.change:+,})"
        )
    return section(lines_within(lines))

"""`/sla agreement`: the agreement in force, its version, days left and who may change it."""

from __future__ import annotations

from bot.blocks.common import Reply, context, header, lines_within, section
from bot.period import PeriodProgress
from bot.permissions import admins, mention_all, team_leads
from models.agreement import Agreement
from models.tables import AgreementVersion


def days_text(version: AgreementVersion, days: PeriodProgress) -> str:
    if days.state == "not_started":
        return f"starts {version.period_start} ({days.days_total} days)"
    if days.state == "ended":
        return f"ended {version.period_end}: time to revise it"
    return f"{days.days_left} of {days.days_total} days left"


def agreement_reply(version: AgreementVersion, agreement: Agreement, days: PeriodProgress) -> Reply:
    """Name, version, period and days left, the goal, the teams, the rules, who may edit."""
    a = agreement
    period = (
        f"Version {version.version} · {version.period_start} to {version.period_end} "
        f"({version.timezone}) · {days_text(version, days)}"
    )
    teams = [
        f"*{key}*: lead <@{team.lead}>"
        + (f", <#{team.channel}>" if team.channel else "")
        + f" · stages: {', '.join(s.stage for s in a.funnel if s.team == key) or '-'}"
        for key, team in a.teams.items()
    ]
    rules = [
        f"*{rule.name}*: first touch of {rule.stage} within {rule.within} of business time, "
        f"{rule.target:.0%} of the time"
        for rule in a.followup
    ]
    editors = mention_all(admins(a) + team_leads(a))
    goal = (
        f"Revenue goal {a.revenue_goal:,} {a.currency}, average deal "
        f"{a.average_deal_size:,} {a.currency}"
    )
    blocks = [
        header(a.name),
        section(f"{period}\n{goal}"),
        section(lines_within(["*Teams*", *teams])),
    ]
    if rules:
        blocks.append(section(lines_within(["*Follow-up*", *rules])))
    blocks.append(
        context(
            f"Applied {version.applied_at:%Y-%m-%d %H:%M} UTC by {version.applied_by}. "
            f"Admins and team leads ({editors}) may change it."
        )
    )
    return Reply(f"{a.name}, version {version.version}: {days_text(version, days)}.", blocks)

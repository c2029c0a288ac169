"""Who may change what, decided in one place from the agreement in force.

- Admins (`admins`) may do everything.
- A team lead (`teams.<name>.lead`) may edit targets and the agreement, map owners, log the
  values of their team's metrics (and of metrics no team owns), and act on any lead.
- A lead's owner, and the people a rule escalates to, may act on that lead.
- Everyone may set their own away period, give kudos and read everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.agreement import Agreement


@dataclass(frozen=True)
class Decision:
    """Whether the user may; if not, a sentence saying who may, fit for an ephemeral reply."""

    allowed: bool
    refusal: str = ""


ALLOWED = Decision(True)


def mention_all(users: list[str]) -> str:
    people = [f"<@{user}>" for user in dict.fromkeys(users)]
    if len(people) <= 1:
        return "".join(people)
    return ", ".join(people[:-1]) + " or " + people[-1]


def admins(agreement: Agreement) -> list[str]:
    return list(agreement.admins)


def team_leads(agreement: Agreement) -> list[str]:
    return [team.lead for team in agreement.teams.values()]


def is_admin(agreement: Agreement, user: str) -> bool:
    return user in agreement.admins


def is_team_lead(agreement: Agreement, user: str) -> bool:
    return user in team_leads(agreement)


def may_edit_agreement(agreement: Agreement, user: str) -> Decision:
    """Targets, rates, a revised agreement, the owner mapping: admins and team leads."""
    if is_admin(agreement, user) or is_team_lead(agreement, user):
        return ALLOWED
    who = mention_all(admins(agreement) + team_leads(agreement))
    return Decision(False, f"Only the admins and team leads ({who}) may change the agreement.")


def metric_team(agreement: Agreement, metric: str) -> str | None:
    """The team that owns a metric: the funnel stage of that name, or a KPI that counts it."""
    for stage in agreement.funnel:
        if stage.stage == metric:
            return stage.team
    for kpi in agreement.kpis:
        if metric in (kpi.metric, kpi.per):
            return kpi.team
    return None


def may_log(agreement: Agreement, user: str, metric: str) -> Decision:
    """A metric's value: admins and the owning team's lead (any team lead if no team owns it)."""
    if is_admin(agreement, user):
        return ALLOWED
    team = metric_team(agreement, metric)
    leads = [agreement.teams[team].lead] if team in agreement.teams else team_leads(agreement)
    if user in leads:
        return ALLOWED
    owner = f"the {team} lead" if team else "a team lead"
    who = mention_all(leads + admins(agreement))
    return Decision(False, f"Only {owner} or an admin ({who}) may log {metric}.")


def may_act_on_lead(
    agreement: Agreement, user: str, *, owner: str | None, escalate_to: list[str]
) -> Decision:
    """Contacted, snooze, not a fit, reassign: the owner, escalation contacts, leads, admins."""
    if user == owner or user in escalate_to:
        return ALLOWED
    if is_admin(agreement, user) or is_team_lead(agreement, user):
        return ALLOWED
    who = mention_all([*([owner] if owner else []), *team_leads(agreement)])
    return Decision(False, f"Only the lead's owner or a team lead ({who}) may change this lead.")

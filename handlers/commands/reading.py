"""The `/sla` words that only read: status, report, leads, plan, agreement, wins."""

from __future__ import annotations

from datetime import datetime, time

from bot import commands as c
from bot.blocks.agreement import agreement_reply
from bot.blocks.common import Reply
from bot.blocks.leads import leads_reply
from bot.blocks.plan import plan_reply
from bot.blocks.status import report_reply, status_reply
from bot.blocks.wins import wins_reply
from bot.funnel import reverse_funnel
from bot.kpis import local_today
from bot.lead_list import open_leads
from bot.period import period_progress
from bot.status import build_status
from bot.status_cache import status_for
from bot.wins import recent_wins
from handlers.commands.request import Declined, Request, agreement_for
from handlers.common import NO_AGREEMENT
from models.agreements import agreement_of, local_date, version_in_force
from models.db import session_scope


async def status(command: c.Status, request: Request) -> Reply:
    """KPIs, revenue, follow-up and the ledger, from the queries `build_status` makes."""
    # No deadline refresh here: the scheduled check keeps them, and /sla status must be quick:
    # the replica's kept report is served while fresh (`bot.status_cache`).
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
    if command.team is not None and command.team not in agreement.teams:
        raise c.CommandError(c.unknown_team(command.team, agreement.teams), word="status")
    deps = request.deps
    report = await status_for(deps.status, deps.engine, agreement, at=request.at, team=command.team)
    return status_reply(report)


async def report(command: c.Report, request: Request) -> Reply:
    """The two-sided ledger for the period to date, with each team's KPIs."""
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
        found = await build_status(session, agreement, at=request.at)
    return report_reply(found)


async def leads(command: c.Leads, request: Request) -> Reply:
    """Open leads (all, the viewer's, breached or due soon), nearest deadline first."""
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
        found = await open_leads(
            session, agreement, at=request.at, which=command.which, user=request.user
        )
    return leads_reply(found, agreement.zone)


async def plan(command: c.ShowPlan, request: Request) -> Reply:
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
    return plan_reply(reverse_funnel(agreement), agreement, local_today(agreement, request.at))


async def agreement(command: c.ShowAgreement, request: Request) -> Reply:
    async with session_scope(request.deps.engine) as session:
        version = await version_in_force(session, request.at)
    if version is None:
        raise Declined(NO_AGREEMENT)
    today = local_date(request.at, version.timezone)
    days = period_progress(version.period_start, version.period_end, today)
    return agreement_reply(version, agreement_of(version), days)


async def wins(command: c.Wins, request: Request) -> Reply:
    """Deals won and kudos given since the period started."""
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
        since = datetime.combine(agreement.period.start, time(0), agreement.zone)
        found = await recent_wins(session, since=since, at=request.at)
    return wins_reply(found, agreement.currency, agreement.zone)

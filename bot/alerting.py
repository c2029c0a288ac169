"""The breach ladder: one check, and the messages it means, recorded in the outbox with it.

`alert_cycle` runs the check and, in the same transaction, records what to say (so a crash
leaves both or neither): a due-soon direct message per person, one message per person in the
alerts channel for their breached, escalated and reminded leads, an edit of every message that
listed a lead that was since touched, disqualified or snoozed, and one notice per stale episode
of a source of leads, whose leads are not announced meanwhile. `deliver_alerts` posts them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alert_actions import rebuilt_alert
from bot.alert_messages import (
    ALERT_KINDS,
    BREACH,
    DUE_SOON,
    STALE,
    Item,
    Planned,
    alert_plan,
    stale_plan,
)
from bot.alert_store import (
    LEVELS,
    Due,
    claim,
    due_announcements,
    settle,
    stale_lead_sources,
    take_turn,
)
from bot.blocks.alerts import read_alert
from bot.check import CheckResult, away_users, route, run_check, slack_ids, slack_user
from bot.clock import BusinessClock
from bot.followup import responsible_team
from bot.lead_views import LeadView, leads_by_reference
from bot.outbox import Delivery, deliver
from bot.status import SourceAge
from models import outbox
from models.agreement import Agreement, FollowupRule
from models.durations import parse_duration

__all__ = ["AlertCycle", "Planned", "alert_cycle", "deliver_alerts", "remind_span"]

PREFIXES = tuple(f"{kind}:" for kind in (*ALERT_KINDS, STALE))


@dataclass
class AlertCycle:
    """What one check found and recorded for Slack (nothing, in a dry run)."""

    at: datetime
    check: CheckResult
    dry_run: bool = False
    posts: list[Planned] = field(default_factory=list)  # new messages
    edits: list[Planned] = field(default_factory=list)  # messages shown again, changed
    paused: list[SourceAge] = field(default_factory=list)  # stale sources of leads

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.posts] + [e.key for e in self.edits]


def remind_span(rule: FollowupRule) -> timedelta:
    """`remind_every` in wall-clock time (a `d` is 24 hours here)."""
    return timedelta(minutes=parse_duration(rule.remind_every).total_minutes(24 * 60))


async def alert_cycle(
    engine: AsyncEngine,
    agreement: Agreement,
    *,
    at: datetime,
    dry_run: bool = False,
    list_all: bool = False,
) -> AlertCycle:
    """Check at `at` and record the ladder's messages with the state changes, in one
    transaction (rolled back in a dry run, which still says what would be posted)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await take_turn(session)
        result = await run_check(session, agreement, at=at, list_all=list_all)
        cycle = AlertCycle(at=at, check=result, dry_run=dry_run)
        await _stale_notices(session, agreement, cycle)
        await _resolutions(session, agreement, cycle)
        await _announcements(session, agreement, cycle)
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
    return cycle


async def _record(session: AsyncSession, planned: Planned, at: datetime) -> bool:
    """Enqueue `planned` unless its key is taken (the same check already recorded it)."""
    if await outbox.exists(session, planned.key):
        return False
    await outbox.enqueue(session, planned.key, planned.channel, planned.payload, at=at)
    return True


async def _stale_notices(session: AsyncSession, agreement: Agreement, cycle: AlertCycle) -> None:
    cycle.paused = await stale_lead_sources(session, agreement, at=cycle.at)
    for age in cycle.paused:
        assert age.last_success_at is not None
        notice = stale_plan(agreement, age.name, age.last_success_at, age.last_error)
        if await _record(session, notice, cycle.at):
            cycle.posts.append(notice)


async def _resolutions(session: AsyncSession, agreement: Agreement, cycle: AlertCycle) -> None:
    """Show the outcome in every message that listed a lead that left the alert states."""
    left: dict[str, list[int]] = {}
    since: datetime | None = None
    for status, old in cycle.check.changes:
        if old in LEVELS and status.state not in LEVELS:
            left.setdefault(status.rule, []).append(status.facts.lead_id)
            warned = status.times.warn_at
            since = warned if since is None else min(since, warned)
    settled: set[tuple[str, int]] = set()
    for rule, ids in left.items():
        settled |= {(rule, lead) for lead in await settle(session, rule=rule, lead_ids=ids)}
    if not settled or since is None:
        return
    # Listed only in messages recorded since its warn point (a due-soon DM is the first).
    prefixes = tuple(f"{kind}:" for kind in ALERT_KINDS)
    for entry in await outbox.recorded(session, prefixes=prefixes, since=since):
        listed = read_alert(entry.message.get("blocks") or [])
        if listed is None or not settled.intersection(listed.leads):
            continue
        reply = await rebuilt_alert(session, agreement, listed, at=cycle.at)
        payload = {**reply.as_kwargs(), "metadata": entry.message.get("metadata")}
        await outbox.revise(session, entry.key, payload)
        names = tuple(_external_ids(cycle, settled, listed.leads))
        cycle.edits.append(Planned(entry.key, "edit", entry.channel, payload, leads=names))


def _external_ids(
    cycle: AlertCycle, settled: set[tuple[str, int]], listed: list[tuple[str, int]]
) -> list[str]:
    names = {(s.rule, s.facts.lead_id): s.facts.external_id for s, _ in cycle.check.changes}
    return [names[ref] for ref in listed if ref in settled and ref in names]


async def _announcements(session: AsyncSession, agreement: Agreement, cycle: AlertCycle) -> None:
    """Claim the leads due an announcement and record one message per person and kind."""
    at = cycle.at
    paused = {age.name for age in cycle.paused}
    # Reminders only in business hours: a breach is not chased at night or on a holiday.
    reminding = BusinessClock.of(agreement).is_open(at)
    picked: list[tuple[FollowupRule, Due]] = []
    for rule in agreement.followup:
        remind_before = at - remind_span(rule) if reminding else None
        due = await due_announcements(
            session, rule=rule.name, at=at, remind_before=remind_before, paused_sources=paused
        )
        ids = [d.lead_id for d in due]
        taken = await claim(
            session, rule=rule.name, lead_ids=ids, at=at, remind_before=remind_before
        )
        picked.extend((rule, d) for d in due if d.lead_id in taken)
    if not picked:
        return
    refs = [(rule.name, d.lead_id) for rule, d in picked]
    views = await leads_by_reference(session, agreement, references=refs, at=at)
    people = await slack_ids(session)
    away = await away_users(session, at)
    groups: dict[tuple[str, str], list[Item]] = {}
    for rule, lead in picked:
        view = views.get((rule.name, lead.lead_id))
        if view is None or view.state not in LEVELS:
            continue
        recipient, why = route(agreement, rule, slack_user(view.owner, people), away)
        kind = DUE_SOON if view.state == "due_soon" else BREACH
        item = _item(agreement, rule, lead, view.state, why, view)
        groups.setdefault((kind, recipient), []).append(item)
    for (kind, recipient), items in sorted(groups.items()):
        planned = alert_plan(agreement, kind, recipient, items, at=at)
        if await _record(session, planned, at):
            cycle.posts.append(planned)


def _item(
    agreement: Agreement, rule: FollowupRule, due: Due, state: str, why: str, view: LeadView
) -> Item:
    """Why the lead is in the message: a reminder of the level already announced, a new
    escalation (calling in `escalate_to`, else the responsible team's lead), or a new level."""
    if due.alerted_level == state:
        return Item(view, "reminder", why)
    if state == "escalated":
        calls = tuple(rule.escalate_to) or (
            agreement.teams[responsible_team(agreement, rule)].lead,
        )
        return Item(view, "escalated", why, calls)
    return Item(view, "new", why)


async def deliver_alerts(
    engine: AsyncEngine,
    client: AsyncWebClient,
    keys: list[str],
    *,
    now: Callable[[], datetime],
    patience: timedelta = timedelta(seconds=60),
) -> Delivery:
    """Post (and edit) `keys` and what earlier checks left undelivered; when Slack asks to wait
    (429 `Retry-After`, a retry's back-off), wait within `patience`, then leave the rest to the
    next check. `now` gives the current instant (the caller's clock)."""
    leftover = [e.key for e in await outbox.active(engine) if e.key.startswith(PREFIXES)]
    wanted = list(dict.fromkeys([*keys, *leftover]))
    start = tried = now()
    report = await deliver(engine, client, at=tried, keys=wanted)
    while report.retrying:
        retry_at = [e.retry_at for e in await outbox.active(engine, keys=report.retrying)]
        waits = [when - tried for when in retry_at if when is not None]
        # The wait Slack asked for counts from its answer, that is from now, not from `tried`.
        wait = max(min(waits, default=timedelta(0)), timedelta(0))
        if now() + wait - start > patience:
            break
        await asyncio.sleep(wait.total_seconds())
        tried = now()
        again = await deliver(engine, client, at=tried, keys=report.retrying)
        report.sent += again.sent
        report.found += again.found
        report.edited += again.edited
        report.failed += again.failed
        report.retrying = again.retrying
    return report

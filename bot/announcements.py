"""Recording the scheduler's announcements in the outbox: wins, the small-wins roundup, the
admins' lifecycle reminders and CRM owners with no Slack user. Each is keyed so that it is said once, whoever records it, however
often: a win is recorded in the `win` table in the same transaction as its message."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks.announcements import (
    reminder_message,
    roundup_message,
    suggestion_text,
    unmatched_message,
    win_message,
)
from bot.celebrations import find_wins, record_wins
from bot.kpis import period_to_date
from bot.lifecycle import ending_reminder, review_prompt
from bot.people import slack_user_of
from bot.report_window import ReportWindow, closing, opening
from bot.revision import observe_rates, suggest_revision
from bot.wins import recent_wins
from models.agreement import Agreement
from models.kpi_queries import stage_counts
from models.outbox import enqueue
from scheduler.owners import unmatched_owners


def win_key(win_key: str) -> str:
    return f"win:{win_key}"


async def announce_wins(session: AsyncSession, agreement: Agreement, *, at: datetime) -> list[str]:
    """Record the new wins at `at`, and a message to the wins channel for each one announced;
    returns the messages' keys. Old and lesser wins are recorded quietly (`FoundWin.announce`)."""
    wins = await find_wins(session, agreement, at=at)
    keys = []
    for win in wins:
        if not win.announce:
            continue
        owner = await slack_user_of(session, win.user) or win.user
        message = win_message(win, owner, agreement)
        key = win_key(win.key)
        await enqueue(session, key, agreement.channels.wins, message.as_kwargs(), at=at)
        keys.append(key)
    await record_wins(session, wins)
    return keys


async def record_roundup(
    session: AsyncSession, agreement: Agreement, window: ReportWindow, *, at: datetime
) -> str | None:
    """The small wins of a reported week, to the wins channel; its key, or None if no wins."""
    zone = agreement.zone
    wins = await recent_wins(
        session, since=opening(zone, window.first), at=closing(zone, window.last)
    )
    message = roundup_message(window.label, wins, agreement.currency, zone)
    if message is None:
        return None
    key = f"wins:roundup:{window.label}"
    await enqueue(session, key, agreement.channels.wins, message.as_kwargs(), at=at)
    return key


async def record_reminders(
    session: AsyncSession, agreement: Agreement, *, at: datetime
) -> list[str]:
    """The lifecycle reminders due at `at`, one direct message to each admin; their keys."""
    reminders = [ending_reminder(agreement, at)]
    if review_prompt(agreement, at) is not None:  # the data behind it only when it is due
        reminders.append(review_prompt(agreement, at, await _suggestion(session, agreement, at)))
    keys = []
    for reminder in reminders:
        if reminder is None:
            continue
        message = reminder_message(reminder).as_kwargs()
        for admin in admins(agreement):
            key = f"{reminder.key}:{admin}"
            await enqueue(session, key, admin, message, at=at)
            keys.append(key)
    return keys


async def report_unmatched_owners(
    session: AsyncSession, agreement: Agreement, *, at: datetime
) -> list[str]:
    """Tell the admins, once per owner, about CRM owners with no Slack user; message keys."""
    owners = [o for o in await unmatched_owners(session) if o.unmatched_reported_at is None]
    if not owners:
        return []
    message = unmatched_message([(o.email or "", o.name) for o in owners]).as_kwargs()
    stamp = at.strftime("%Y-%m-%dT%H:%MZ")
    keys = []
    for admin in admins(agreement):
        key = f"unmatched-owners:{admin}:{stamp}"
        await enqueue(session, key, admin, message, at=at)
        keys.append(key)
    for owner in owners:
        owner.unmatched_reported_at = at
        session.add(owner)
    return keys


def admins(agreement: Agreement) -> list[str]:
    """Who hears the lifecycle reminders: the admins, else the teams' leads."""
    if agreement.admins:
        return list(agreement.admins)
    return sorted({team.lead for team in agreement.teams.values() if team.lead})


async def _suggestion(session: AsyncSession, agreement: Agreement, at: datetime) -> str:
    window = period_to_date(agreement, at - timedelta(days=1))  # the full days so far
    if window is None:
        return ""
    counts = await stage_counts(session=session, agreement=agreement, window=window)
    return suggestion_text(suggest_revision(agreement, observe_rates(agreement, counts)))

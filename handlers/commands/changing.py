"""The `/sla` words that change something: log, ack, snooze, away, kudos.

Each checks who may (bot.permissions) before it writes, inside one session scope: a refusal or
a mistake raises, the scope rolls back, and nothing is written.
"""

from __future__ import annotations

import logging
from datetime import datetime, time

from slack_sdk.errors import SlackApiError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import actions
from bot import commands as c
from bot.blocks.common import Reply
from bot.blocks.help import notice
from bot.blocks.wins import kudos_post
from bot.clock import BusinessClock
from bot.kpis import local_today
from bot.manual import known_metrics, log_value
from bot.people import slack_user_of
from bot.permissions import Decision, may_act_on_lead, may_log
from bot.slack import is_call_failure, slack_error
from handlers.commands.request import Declined, Request, agreement_for
from models.agreement import Agreement
from models.db import session_scope
from models.tables import FollowupState, Kudos

log = logging.getLogger("slabot.commands")


def _allowed(decision: Decision) -> None:
    if not decision.allowed:
        raise Declined(notice(decision.refusal, icon=":no_entry:"))


def _done(done: actions.Done) -> Reply:
    return notice(done.message, icon=":white_check_mark:" if done.changed else "")


async def log_metric(command: c.Log, request: Request) -> Reply:
    """A day's value of a metric (today in the agreement's zone unless a date is given)."""
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
        known = known_metrics(agreement)
        if command.metric not in known:
            raise Declined.saying(
                f"There is no metric `{command.metric}`{c.did_you_mean(command.metric, known)} "
                f"The metrics you can log are {', '.join(f'`{m}`' for m in known)}."
            )
        _allowed(may_log(agreement, request.user, command.metric))
        today = local_today(agreement, request.at)
        day = command.day or today
        if day > today:
            raise Declined.saying(
                f"{day} is still to come (today is {today} in {agreement.timezone}); "
                "log a day that has begun."
            )
        logged = await log_value(
            session,
            agreement,
            metric=command.metric,
            value=command.value,
            day=day,
            by=request.user,
            at=request.at,
        )
    return notice(logged.message, icon=":white_check_mark:")


async def _may_act(session: AsyncSession, agreement: Agreement, user: str, reference: str) -> None:
    """Refuse unless `user` is the lead's owner, one its rules escalate to, a team lead or admin."""
    lead = await actions.find_lead(session, reference)
    rows = (
        await session.exec(
            select(FollowupState.rule, FollowupState.reassigned_to).where(
                col(FollowupState.lead_id) == lead.id
            )
        )
    ).all()
    reassigned = next((to for _, to in rows if to), None)
    owner = reassigned or await slack_user_of(session, lead.owner_email)
    rules = {rule for rule, _ in rows}
    escalate_to = [u for r in agreement.followup if r.name in rules for u in r.escalate_to]
    _allowed(may_act_on_lead(agreement, user, owner=owner, escalate_to=escalate_to))


async def ack(command: c.Ack, request: Request) -> Reply:
    """Record the lead's first touch, by the viewer, now."""
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
        try:
            await _may_act(session, agreement, request.user, command.lead)
            done = await actions.acknowledge(
                session, lead=command.lead, by=request.user, at=request.at
            )
        except actions.ActionError as exc:
            raise Declined.saying(_sentence(exc)) from None
    return _done(done)


async def snooze(command: c.Snooze, request: Request) -> Reply:
    """Mute the lead's alerts for a span of business time (its deadline stays)."""
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
        clock = BusinessClock.of(agreement)
        try:
            await _may_act(session, agreement, request.user, command.lead)
            done = await actions.snooze(
                session,
                lead=command.lead,
                span=clock.span(command.duration),
                clock=clock,
                by=request.user,
                at=request.at,
            )
        except actions.ActionError as exc:
            raise Declined.saying(_sentence(exc)) from None
    return _done(done)


async def away(command: c.Away, request: Request) -> Reply:
    """The viewer's own away period: to the end of a local day, or until they say otherwise."""
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
        until = datetime.combine(command.until, time.max, agreement.zone) if command.until else None
        try:
            done = await actions.set_away(
                session, user=request.user, until=until, by=request.user, at=request.at
            )
        except actions.ActionError as exc:
            raise Declined.saying(_sentence(exc)) from None
    return _done(done)


async def kudos(command: c.Kudos, request: Request) -> Reply:
    """Store the thanks, post them to the wins channel, and tell the giver."""
    if command.user == request.user:
        raise Declined.saying("Kudos are for someone else; thank a colleague with `/sla kudos @…`.")
    async with session_scope(request.deps.engine) as session:
        agreement = await agreement_for(session, request)
        session.add(
            Kudos(from_user=request.user, to_user=command.user, text=command.text, at=request.at)
        )
    channel = agreement.channels.wins
    post = kudos_post(request.user, command.user, command.text)
    try:
        await request.client.chat_postMessage(channel=channel, **post.as_kwargs())
    except Exception as exc:
        if not is_call_failure(exc):
            raise
        # The kudos are kept (they count in `/sla wins`) whatever happened to the post.
        log.warning("kudos not posted to %s: %s", channel, slack_error(exc, "chat.postMessage"))
        request.deps.metrics.errors.labels("kudos_post").inc()
        return notice(_kudos_not_posted(command.user, channel, exc), icon=":warning:")
    request.deps.metrics.posts.labels("kudos").inc()
    return notice(f"Kudos to <@{command.user}> posted in <#{channel}>.", icon=":clap:")


def _kudos_not_posted(user: str, channel: str, exc: Exception) -> str:
    """What the giver is told when the post failed: refused, or its outcome unknown."""
    if isinstance(exc, SlackApiError):
        return (
            f"Your kudos to <@{user}> are saved, but I could not post them in <#{channel}> "
            f"({exc.response.get('error')}); invite me there with `/invite`."
        )
    # A time-out or a dropped connection: Slack may have posted them all the same.
    return (
        f"Your kudos to <@{user}> are saved, but Slack did not answer in time, so I cannot "
        f"tell whether they were posted in <#{channel}>."
    )


def _sentence(exc: actions.ActionError) -> str:
    """An engine message (`no lead 'X'; use …`) as a sentence for a reply."""
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")

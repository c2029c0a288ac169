"""Deadlines kept per hand-off and rule, computed only for stage entries that changed.

Deadlines are business time, computed in Python once per hand-off and rule and stored on
`followup_state`. Finding the hand-offs that need one must not read every stage entry at each
check: sync stamps each entry it stores or moves with `lead_stage.changed_at`, and a rule's
`FollowupCursor` remembers up to when entries were looked at, so a check reads only the entries
changed since (through an index). A new rule, or one whose stage or deadline inputs changed,
has no matching cursor and looks at every entry once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, tuple_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.followup import RuleTimes
from models.lead_closure import closure
from models.tables import FollowupCursor, FollowupState, Lead, LeadStage
from models.types import UTCDateTime

PAGE = 5000
Timer = Callable[[datetime], RuleTimes]

# How far before the check's instant the watermark stays. A sync that began before a check and
# commits after it stamps its entries with its own start (at most this long before): they are
# still looked at by the next check. Re-reading the last hour's entries costs next to nothing.
WATERMARK_LAG = timedelta(hours=1)


async def refresh_deadlines(
    session: AsyncSession, *, rule: str, stage: str, key: str, timer: Timer, at: datetime
) -> int:
    """Compute and keep deadlines for hand-offs that have none, or stale ones; returns how many.

    Only entries changed since the rule's watermark are looked at; ties with the watermark are
    looked at again (a later sync may stamp the same instant), which is harmless: a row whose
    deadline is already right is skipped.
    """
    cursor = await session.get(FollowupCursor, rule)
    since = (
        cursor.changed_since
        if cursor is not None and (cursor.stage, cursor.rule_key) == (stage, key)
        else None
    )
    # Read before the scan: an entry stored meanwhile is stamped at or after it.
    newest = (
        await session.exec(
            select(func.max(col(LeadStage.changed_at))).where(col(LeadStage.stage) == stage)
        )
    ).one()
    done = await _compute(session, rule=rule, stage=stage, key=key, timer=timer, at=at, since=since)
    if newest is not None:
        watermark = min(newest, at - WATERMARK_LAG)
        values = {"stage": stage, "rule_key": key, "changed_since": watermark}
        connection = await session.connection()
        # An upsert: a check running beside this one may have stored the rule's cursor first.
        await connection.execute(_upsert_cursor(connection.dialect.name, rule, values))
    return done


def _state_table() -> Table:
    table: Table = FollowupState.__table__  # type: ignore[attr-defined]
    return table


_RECOMPUTE = (
    update(_state_table())
    .where(_state_table().c.id == bindparam("b_id"))
    .values(
        rule_key=bindparam("b_rule_key"),
        **{
            name: bindparam(f"b_{name}", type_=UTCDateTime())
            for name in (
                "handed_off_at",
                "warn_at",
                "deadline",
                "escalate_at",
                "first_touch_at",
                "closed_at",
            )
        },
    )
)


async def _compute(
    session: AsyncSession,
    *,
    rule: str,
    stage: str,
    key: str,
    timer: Timer,
    at: datetime,
    since: datetime | None,
) -> int:
    """Page through the stage's entries (changed at or after `since`, if given) and
    keep deadlines, and the lead's closure, for those whose row is missing or stale."""
    changed_at, lead_id = col(LeadStage.changed_at), col(LeadStage.lead_id)
    # Keyset pages along the (stage, changed_at, lead_id) index, a full look included: ordered
    # by the index, each page starts where the last ended (no planner may sort every entry per
    # page, which a full look by lead id led SQLite to do).
    after: Any = changed_at >= since if since is not None else None
    done = 0
    connection = await session.connection()  # a Core select of columns, no ORM objects
    while True:
        statement = (
            sa_select(
                lead_id,
                col(LeadStage.entered_at),
                col(FollowupState.id),
                col(Lead.first_touch_at),
                col(Lead.disqualified_at),
                changed_at,
            )
            .join(Lead, col(Lead.id) == lead_id)
            .outerjoin(
                FollowupState,
                and_(col(FollowupState.lead_id) == lead_id, col(FollowupState.rule) == rule),
            )
            .where(
                col(LeadStage.stage) == stage,
                or_(
                    col(FollowupState.id).is_(None),
                    col(FollowupState.rule_key) != key,
                    col(FollowupState.handed_off_at) != col(LeadStage.entered_at),
                ),
            )
            .order_by(changed_at, lead_id)
            .limit(PAGE)
        )
        if after is not None:
            statement = statement.where(after)
        rows = (await connection.execute(statement)).all()
        if not rows:
            return done
        new: list[dict[str, Any]] = []
        stale: list[dict[str, Any]] = []
        for entry, entered_at, state_id, touched_at, disqualified_at, _ in rows:
            times = timer(entered_at)
            values = {
                "rule_key": key,
                "handed_off_at": entered_at,
                "warn_at": times.warn_at,
                "deadline": times.deadline,
                "escalate_at": times.escalate_at,
                **closure(touched_at, disqualified_at),
            }
            if state_id is None:
                new.append(
                    {"rule": rule, "lead_id": entry, "state": "pending", "updated_at": at} | values
                )
            else:
                stale.append({"b_id": state_id} | {f"b_{k}": v for k, v in values.items()})
        if new:
            # Another check may be refreshing the same entries (a cron run beside the bot):
            # its rows are as good as ours, so a row already there is left as it is.
            await connection.execute(_insert_new(connection.dialect.name), new)
        if stale:
            await connection.execute(_RECOMPUTE, stale)
        done += len(rows)
        last_changed, last_id = rows[-1][-1], rows[-1][0]
        after = tuple_(changed_at, lead_id) > tuple_(
            bindparam("b_changed_at", last_changed, type_=UTCDateTime()), last_id
        )


def _insert_new(dialect: str) -> Any:
    """INSERT of new follow-up rows that skips one another transaction stored meanwhile."""
    table = FollowupState.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_nothing(index_elements=["rule", "lead_id"])


def _upsert_cursor(dialect: str, rule: str, values: dict[str, Any]) -> Any:
    table = FollowupCursor.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.values(rule=rule, **values).on_conflict_do_update(
        index_elements=["rule"], set_=values
    )

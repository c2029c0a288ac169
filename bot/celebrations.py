"""What is worth celebrating at an instant: won deals, milestones, follow-up streaks.

`find_wins` reads the store and says what is new since the wins already recorded (the `win`
table, one row per key); `record_wins` remembers them, so each is celebrated once whatever runs
it and however often. Wins older than `FRESH` when first seen (a fresh install, a long outage)
are recorded quietly instead of being announced late: a deal won before then, a milestone
already reached then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.followup_store import compliance_counts
from bot.funnel import reverse_funnel
from bot.kpis import Window, local_today, period_to_date
from models.agreement import Agreement
from models.kpi_queries import revenue_won, stage_counts, utc_bounds
from models.tables import Deal, Win

FRESH = timedelta(days=7)  # a deal won longer ago than this when first seen is not announced
MILESTONES = (25, 50, 75, 100)  # percent of a period target
STREAK_WEEKS = 3  # weeks in a row at or above a rule's follow-up target that make a streak


@dataclass(frozen=True)
class FoundWin:
    """A win: its key (unique for ever), what it is, and whether to announce it."""

    key: str
    kind: str  # "deal", "milestone" or "streak"
    title: str
    at: datetime
    amount: Decimal | None = None
    user: str | None = None  # the deal owner's email or Slack id, when known
    share_of_goal: float | None = None  # revenue won in the period over the goal, after it
    announce: bool = True


async def find_wins(session: AsyncSession, agreement: Agreement, *, at: datetime) -> list[FoundWin]:
    """New won deals, milestones and streaks at `at`, not yet recorded, oldest first."""
    window = period_to_date(agreement, at)
    if window is None:
        return []
    known = await _known_keys(session, agreement)
    wins = await _won_deals(session, agreement, window, at, known)
    wins += await _milestones(session, agreement, window, at, known)
    wins += await _streaks(session, agreement, at, known)
    return sorted(wins, key=lambda win: (win.at, win.key))


async def record_wins(session: AsyncSession, wins: list[FoundWin]) -> int:
    """Remember wins by key (a key already there is left alone); returns how many were new."""
    if not wins:
        return 0
    rows = [
        {
            "key": w.key,
            "kind": w.kind,
            "title": w.title,
            "amount": w.amount,
            "user": w.user,
            "at": w.at,
        }
        for w in wins
    ]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert(Win) if dialect == "postgresql" else sqlite.insert(Win)
    result = await session.exec(insert.values(rows).on_conflict_do_nothing(index_elements=["key"]))
    return int(result.rowcount or 0)


async def _known_keys(session: AsyncSession, agreement: Agreement) -> set[str]:
    start = agreement.period.start.isoformat()
    rows = await session.exec(
        select(Win.key).where(
            (col(Win.kind) == "deal")
            | col(Win.key).like(f"milestone:{start}:%")
            | col(Win.key).like(f"streak:{start}:%")
        )
    )
    return set(rows.all())


async def _won_deals(
    session: AsyncSession, agreement: Agreement, window: Window, at: datetime, known: set[str]
) -> list[FoundWin]:
    first, _ = utc_bounds(window, agreement.zone)
    won = col(Deal.closed_won_at)
    deals = (
        await session.exec(select(Deal).where(won >= first, won <= at).order_by(won, col(Deal.id)))
    ).all()
    so_far = sum(
        (d.amount for d in deals if f"deal:{d.source}:{d.external_id}" in known), Decimal(0)
    )
    wins: list[FoundWin] = []
    for deal in deals:
        key = f"deal:{deal.source}:{deal.external_id}"
        if key in known or deal.closed_won_at is None:
            continue
        so_far += deal.amount
        wins.append(
            FoundWin(
                key=key,
                kind="deal",
                title=f"Deal {deal.external_id} won",
                at=deal.closed_won_at,
                amount=deal.amount,
                user=deal.owner_email,
                share_of_goal=float(so_far / agreement.revenue_goal),
                announce=at - deal.closed_won_at <= FRESH,
            )
        )
    return wins


async def _milestones(
    session: AsyncSession, agreement: Agreement, window: Window, at: datetime, known: set[str]
) -> list[FoundWin]:
    """The highest newly reached milestone of the revenue goal and of each stage target.

    Lower milestones reached at the same time are recorded quietly: one message says "75%". So
    are milestones already reached `FRESH` ago (first seen by a new install, or after an outage).
    """
    start = agreement.period.start.isoformat()
    now = await _progress(session, agreement, window)
    earlier = period_to_date(agreement, at - FRESH)
    then = await _progress(session, agreement, earlier) if earlier is not None else {}
    goals: list[tuple[str, str, Decimal]] = [
        ("revenue", "the revenue goal", agreement.revenue_goal)
    ]
    for stage in reverse_funnel(agreement).stages:
        what = f"the {stage.stage} target ({stage.team})"
        goals.append((stage.stage, what, Decimal(stage.target)))
    won = now["revenue"]
    wins: list[FoundWin] = []
    for name, what, target in goals:
        if target <= 0:
            continue
        actual, before = now[name], then.get(name, Decimal(0))
        reached = [p for p in MILESTONES if actual * 100 >= target * p]
        old = {p for p in MILESTONES if before * 100 >= target * p}
        fresh = [p for p in reached if f"milestone:{start}:{name}:{p}" not in known]
        for percent in fresh:
            wins.append(
                FoundWin(
                    key=f"milestone:{start}:{name}:{percent}",
                    kind="milestone",
                    title=f"{percent}% of {what} reached",
                    at=at,
                    amount=won if name == "revenue" else None,
                    announce=percent == max(fresh) and percent not in old,
                )
            )
    return wins


async def _progress(
    session: AsyncSession, agreement: Agreement, window: Window
) -> dict[str, Decimal]:
    """Revenue won and each stage's count in `window`, by goal name."""
    won = await revenue_won(session=session, agreement=agreement, window=window)
    counts = await stage_counts(session=session, agreement=agreement, window=window)
    return {"revenue": won, **{stage: Decimal(n) for stage, n in counts.items()}}


async def _streaks(
    session: AsyncSession, agreement: Agreement, at: datetime, known: set[str]
) -> list[FoundWin]:
    """Rules kept for `STREAK_WEEKS` or more full weeks in a row, up to the last full week."""
    start = agreement.period.start.isoformat()
    today = local_today(agreement, at)
    last_monday = today - timedelta(days=today.weekday() + 7)
    weeks: list[Window] = []
    monday = last_monday
    while monday >= agreement.period.start and len(weeks) < 52:
        weeks.append(Window(monday, monday + timedelta(days=6)))
        monday -= timedelta(days=7)
    if not weeks:
        return []
    year, week_number, _ = last_monday.isocalendar()
    label = f"{year}-W{week_number:02d}"
    wins: list[FoundWin] = []
    for rule in agreement.followup:
        key = f"streak:{start}:{rule.name}:{label}"
        if key in known:
            continue
        run = 0
        for week in weeks:
            first, after = utc_bounds(week, agreement.zone)
            until = after - timedelta(microseconds=1)
            due, met = await compliance_counts(
                session, rule=rule.name, start=first, at=at, until=until
            )
            if due == 0 or Decimal(met) < Decimal(due) * rule.target:
                break
            run += 1
        if run >= STREAK_WEEKS:
            title = f"{rule.name}: {run} weeks in a row at or above {rule.target:.0%}"
            wins.append(FoundWin(key=key, kind="streak", title=title, at=at))
    return wins

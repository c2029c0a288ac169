"""Values people type in (`slabot log`, `/sla log`): one number a day per metric, history kept."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.actions import ActionError
from models.agreement import Agreement
from models.ingest import MetricRecord, upsert_metrics

SOURCE = "manual"


@dataclass(frozen=True)
class Logged:
    metric: str
    day: date
    value: float
    replaced: bool
    message: str


def known_metrics(agreement: Agreement) -> list[str]:
    """What can be logged: the funnel's stages and the metrics the extra KPIs use."""
    names = list(agreement.stage_names)
    for kpi in agreement.kpis:
        names.extend(m for m in (kpi.metric, kpi.per) if m and m not in names)
    return names


def parse_value(text: str) -> float:
    """A plain number (`1200`, `0.5`, `-3`); not `1,200`, `$5` or `12%`."""
    try:
        value = float(text)
    except ValueError:
        raise ActionError(
            f"{text!r} is not a number; write digits only, e.g. 1200 or 0.5 "
            "(no thousands separators, currency signs or %)"
        ) from None
    if not math.isfinite(value):
        raise ActionError(f"{text!r} is not a finite number")
    return value


async def log_value(
    session: AsyncSession,
    agreement: Agreement,
    *,
    metric: str,
    value: float,
    day: date,
    team: str = "",
    by: str,
    at: datetime,
) -> Logged:
    """Record `metric` = `value` on `day`; a later value for the same day replaces the earlier."""
    known = known_metrics(agreement)
    if metric not in known:
        raise ActionError(
            f"unknown metric {metric!r}; the metrics you can log are {', '.join(known)}"
        )
    if team and team not in agreement.teams:
        raise ActionError(f"unknown team {team!r}; the teams are {', '.join(agreement.teams)}")
    counts = await upsert_metrics(
        session=session,
        source=SOURCE,
        rows=[MetricRecord(metric=metric, day=day, value=value, team=team)],
        at=at,
        by=by,
    )
    shown = f"{value:g}"
    if counts.new:
        message = f"Logged {metric} = {shown} for {day}."
    elif counts.changed:
        message = f"Logged {metric} = {shown} for {day}, replacing the earlier value (kept in the history)."
    else:
        message = f"{metric} for {day} was already {shown}; nothing changed."
    return Logged(metric, day, value, bool(counts.changed), message)

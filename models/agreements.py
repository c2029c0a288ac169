"""Agreement versions in the store: apply (only when changed), history, and the one in force."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.agreement import Agreement
from models.agreement_diff import diff_documents
from models.agreement_loader import content_hash
from models.tables import AgreementVersion, Team


@dataclass(frozen=True)
class Applied:
    """What `apply_agreement` did: the version now latest, and whether it was new."""

    version: AgreementVersion
    created: bool
    changes: list[str]


async def apply_agreement(
    session: AsyncSession,
    *,
    agreement: Agreement,
    source_text: str,
    file: str,
    by: str,
    at: datetime,
) -> Applied:
    """Store `agreement` as a new version unless it equals the latest one."""
    latest = await latest_version(session)
    digest = content_hash(agreement)
    if latest is not None and latest.content_hash == digest:
        return Applied(latest, created=False, changes=[])
    document = agreement.model_dump(mode="json")
    changes = diff_documents(latest.document if latest else None, document)
    row = AgreementVersion(
        version=(latest.version + 1) if latest else 1,
        name=agreement.name,
        content_hash=digest,
        document=document,
        source_text=source_text,
        file=file,
        period_start=agreement.period.start,
        period_end=agreement.period.end,
        timezone=agreement.timezone,
        applied_at=at,
        applied_by=by,
        diff="\n".join(changes),
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    for key, team in agreement.teams.items():
        session.add(
            Team(agreement_version_id=row.id, key=key, lead=team.lead, channel=team.channel)
        )
    await session.flush()
    return Applied(row, created=True, changes=changes)


async def latest_version(session: AsyncSession) -> AgreementVersion | None:
    result = await session.exec(
        select(AgreementVersion).order_by(col(AgreementVersion.version).desc()).limit(1)
    )
    return result.first()


async def history(session: AsyncSession) -> list[AgreementVersion]:
    result = await session.exec(select(AgreementVersion).order_by(col(AgreementVersion.version)))
    return list(result.all())


async def version_count(session: AsyncSession) -> int:
    result = await session.exec(select(func.count()).select_from(AgreementVersion))
    return int(result.one())


async def version_in_force(session: AsyncSession, at: datetime) -> AgreementVersion | None:
    """The version that governs instant `at`.

    Among versions applied at or before `at` (all versions, if none was applied yet, so history
    can be evaluated before the bot was set up), the latest applied one whose period covers
    `at`'s date in its own time zone; failing that, the latest applied by `at`, or else the first.
    """
    # The choice needs a few columns of every version; only the chosen one is read whole.
    connection = await session.connection()
    rows = await connection.execute(
        sa_select(
            col(AgreementVersion.id),
            col(AgreementVersion.applied_at),
            col(AgreementVersion.period_start),
            col(AgreementVersion.period_end),
            col(AgreementVersion.timezone),
        ).order_by(col(AgreementVersion.version))
    )
    versions = list(rows.all())  # oldest version first
    applied = [v for v in versions if v.applied_at <= at]
    pool = applied or versions
    covering = [v for v in pool if v.period_start <= local_date(at, v.timezone) <= v.period_end]
    chosen = covering or applied or versions[:1]
    return await session.get(AgreementVersion, chosen[-1].id) if chosen else None


def local_date(at: datetime, timezone: str) -> date:
    """The calendar date of instant `at` in `timezone`."""
    return at.astimezone(ZoneInfo(timezone)).date()


_PARSED: OrderedDict[tuple[int | None, str], Agreement] = OrderedDict()
_PARSED_KEEP = 16


def agreement_of(version: AgreementVersion) -> Agreement:
    """The validated agreement a stored version holds (versions never change: parsed once)."""
    key = (version.id, version.content_hash)
    agreement = _PARSED.get(key)
    if agreement is None:
        agreement = _PARSED[key] = Agreement.model_validate(version.document)
        while len(_PARSED) > _PARSED_KEEP:
            _PARSED.popitem(last=False)
    else:
        _PARSED.move_to_end(key)
    return agreement

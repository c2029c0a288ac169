"""What listeners share: the agreement in force, and replies for when there is none."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks.common import Reply, section
from models.agreement import Agreement
from models.agreements import agreement_of, version_in_force

NO_AGREEMENT = Reply(
    "No agreement yet: an admin stores one with `slabot agreement apply FILE`.",
    [
        section(
            ":memo: *No agreement yet.* An admin stores one with "
            "`slabot agreement apply FILE` (see `examples/agreement.yaml`), then try again."
        )
    ],
)


async def agreement_at(session: AsyncSession, at: datetime) -> Agreement | None:
    """The agreement governing `at`, or None when none was stored yet."""
    version = await version_in_force(session, at)
    return agreement_of(version) if version is not None else None

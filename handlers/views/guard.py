"""What every modal submission checks first: an agreement, the right to edit it, no newer version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks.common import clip
from bot.blocks.modals import ERROR_TEXT, opened_version
from bot.permissions import may_edit_agreement
from handlers.common import NO_AGREEMENT
from models.agreement import Agreement
from models.agreements import agreement_of, version_in_force
from models.tables import AgreementVersion


@dataclass(frozen=True)
class Allowed:
    version: AgreementVersion
    agreement: Agreement


def values_of(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`view.state.values`: block id -> action id -> the element's state."""
    values = (view.get("state") or {}).get("values") or {}
    return values if isinstance(values, dict) else {}


def first_block(view: dict[str, Any]) -> str:
    """Where to show an error that belongs to no one field: the first input."""
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return next(iter(values_of(view)), "value")


def errors(block: str, message: str) -> dict[str, Any]:
    """The `ack` arguments that keep the modal open with `message` under `block`."""
    return {"response_action": "errors", "errors": {block: clip(message, ERROR_TEXT)}}


async def allowed(
    session: AsyncSession, view: dict[str, Any], *, user: str, at: datetime, stale_check: bool
) -> Allowed | dict[str, Any]:
    """The version being edited, or the `ack` arguments refusing the submission."""
    block = first_block(view)
    version = await version_in_force(session, at)
    if version is None:
        return errors(block, NO_AGREEMENT.text)
    agreement = agreement_of(version)
    decision = may_edit_agreement(agreement, user)
    if not decision.allowed:
        return errors(block, decision.refusal)
    opened = opened_version(str(view.get("private_metadata") or ""))
    if stale_check and opened is not None and opened != version.version:
        return errors(
            block,
            f"The agreement changed since you opened this (version {opened}, now "
            f"{version.version}); close this and open it again to edit the current one.",
        )
    return Allowed(version, agreement)

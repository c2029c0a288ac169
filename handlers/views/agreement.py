"""Submissions of the targets modal and of a revised agreement: a new version, or the problems."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.agreement_edits import edit_targets, problem_lines
from bot.app import deps_of
from bot.blocks.common import lines_within
from bot.blocks.modals import (
    AGREEMENT_BLOCK,
    EDIT_TARGETS,
    ERROR_TEXT,
    REVISE_AGREEMENT,
    VALUE,
    saved_modal,
)
from handlers.views.guard import Allowed, allowed, errors, values_of
from models.agreement import Agreement
from models.agreement_loader import AgreementError, parse_agreement
from models.agreements import apply_agreement
from models.db import session_scope


def typed(view: dict[str, Any]) -> dict[str, str]:
    """Each text input's value by block id (an emptied field is "")."""
    return {
        block: str((elements.get(VALUE) or {}).get("value") or "")
        for block, elements in values_of(view).items()
        if isinstance(elements, dict)
    }


async def _save(
    session: AsyncSession,
    ok: Allowed,
    agreement: Agreement,
    text: str,
    *,
    user: str,
    at: datetime,
) -> dict[str, Any]:
    applied = await apply_agreement(
        session, agreement=agreement, source_text=text, file=ok.version.file, by=user, at=at
    )
    number = applied.version.version
    if not applied.created:
        lines = [f"Nothing changed: this is what version {number} already says."]
    else:
        lines = [f"*Version {number}* stored by <@{user}>. What changed:", *applied.changes]
    return {"response_action": "update", "view": saved_modal("Agreement saved", lines)}


async def submit_targets(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    user, at = body["user"]["id"], deps.now()
    async with session_scope(deps.engine) as session:
        ok = await allowed(session, view, user=user, at=at, stale_check=True)
        if isinstance(ok, Allowed):
            edited = edit_targets(ok.version.source_text, ok.agreement, typed(view))
            if edited.agreement is None:
                answer: dict[str, Any] = {"response_action": "errors", "errors": edited.errors}
            else:
                answer = await _save(session, ok, edited.agreement, edited.text, user=user, at=at)
        else:
            answer = ok
    await ack(**answer)


def _base_dir(file: str, configured: Path | None) -> Path | None:
    """Where relative source paths of a pasted agreement point: the agreement file's folder."""
    path = Path(file)
    if path.is_absolute():
        return path.parent
    return configured.resolve().parent if configured is not None else None


async def submit_revision(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    user, at = body["user"]["id"], deps.now()
    text = typed(view).get(AGREEMENT_BLOCK, "")
    async with session_scope(deps.engine) as session:
        ok = await allowed(session, view, user=user, at=at, stale_check=True)
        if isinstance(ok, Allowed):
            base = _base_dir(ok.version.file, deps.settings.agreement)
            try:
                revised = parse_agreement(text, file="the pasted agreement", base_dir=base)
            except AgreementError as exc:
                found = f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}"
                message = lines_within([f"Not saved ({found}):", *problem_lines(exc)], ERROR_TEXT)
                answer = errors(AGREEMENT_BLOCK, message)
            else:
                answer = await _save(session, ok, revised, text, user=user, at=at)
        else:
            answer = ok
    await ack(**answer)


def register(app: AsyncApp) -> None:
    app.view(EDIT_TARGETS)(submit_targets)
    app.view(REVISE_AGREEMENT)(submit_revision)

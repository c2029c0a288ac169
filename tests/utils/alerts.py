"""An alert posted in the fake Slack over three breached or due leads, and clicks on it."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.blocks.alerts import Alert, alert_message
from bot.check import run_check
from bot.lead_views import leads_by_reference
from bot.sandbox.slack import TOKEN
from bot.sandbox.slack_messages import Message
from models.db import session_scope
from models.tables import FollowupState, Lead, Owner
from tests.utils.slack_bot import Sent, SlackBot
from tests.utils.store import example, mql, store_agreement, store_leads

ALERTS = "C01ALERTS"
OWNER = "U0ANA"  # ana@example.com, the leads' owner
OTHER = "U0BEN"
ADMIN = "U01MKTLEAD"
TEAM_LEAD = "U01CSLEAD"  # a team lead who is not an admin
MEMBER = "U0MEMBER01"
RULE = "mql-first-touch"


async def store_with_leads(bot: SlackBot) -> None:
    """The example agreement; leads A, B, C handed off on Tuesday; Ana matched to her email.

    At the bot's instant (Wednesday 09:00 in Chicago) A and B are breached, C is due soon.
    """
    await store_agreement(bot.engine)
    await store_leads(
        bot.engine,
        [mql("A", "2027-03-02 13:00"), mql("B", "2027-03-02 14:00"), mql("C", "2027-03-02 15:00")],
    )
    async with session_scope(bot.engine) as session:
        session.add(
            Owner(source="sheet", external_id="ana", email="ana@example.com", slack_user_id=OWNER)
        )
    async with session_scope(bot.engine) as session:
        await run_check(session, example(), at=bot.at)


async def post_alert(bot: SlackBot, leads: tuple[str, ...] = ("A", "B", "C")) -> Message:
    """The alert for Ana's leads, posted to the alerts channel as the scheduler will."""
    agreement = example()
    async with session_scope(bot.engine) as session:
        ids = (
            await session.exec(
                select(Lead.id, Lead.external_id).where(col(Lead.external_id).in_(leads))
            )
        ).all()
        refs = [(RULE, lead_id) for lead_id, _ in sorted(ids, key=lambda row: row[1])]
        views = await leads_by_reference(session, agreement, references=refs, at=bot.at)
    reply = alert_message(
        Alert(owner=OWNER, leads=[views[ref] for ref in refs], zone=agreement.zone)
    )
    client = AsyncWebClient(token=TOKEN, base_url=bot.fake.url)
    await client.chat_postMessage(channel=ALERTS, **reply.as_kwargs())
    return bot.fake.messages[ALERTS][-1]


def ref_of(message: Message, lead: str) -> str:
    """The `<rule>/<lead id>` the alert's controls carry for lead `lead`."""
    for block in message.blocks:
        block_id = str(block.get("block_id") or "")
        if block_id.startswith("lead/") and block["text"]["text"].startswith(f"*{lead}*"):
            return "/".join(block_id.split("/")[1:3])
    raise AssertionError(f"{lead} is not in the alert")


async def press(
    bot: SlackBot,
    message: Message,
    lead: str,
    action: str,
    choice: str | None = None,
    *,
    user: str = OWNER,
    **options: Any,
) -> Sent:
    """A click on one of the lead's controls: the button, a select's option, the user picker."""
    ref = ref_of(message, lead)
    selected: dict[str, Any] = {"block_id": f"act/{ref}"}
    if action == "lead_reassign":
        selected.update(type="users_select", selected_user=choice)
    elif choice is not None:
        selected.update(
            type="static_select",
            selected_option={
                "text": {"type": "plain_text", "text": choice},
                "value": f"{ref}|{choice}",
            },
        )
    shown = {"ts": message.ts, "text": message.text, "blocks": message.blocks}
    return await bot.click(
        action, ref, user=user, message=shown, channel=ALERTS, selected=selected, **options
    )


async def lead_row(engine: AsyncEngine, lead: str) -> tuple[Lead, FollowupState]:
    async with session_scope(engine) as session:
        row = (await session.exec(select(Lead).where(col(Lead.external_id) == lead))).one()
        state = (
            await session.exec(select(FollowupState).where(col(FollowupState.lead_id) == row.id))
        ).one()
        return row, state

"""Who may do what: every changing button and modal submission, for each kind of person.

Admins and team leads may do everything; a lead's owner may act on their leads but not edit the
agreement; anyone else is refused with a sentence naming who may, and nothing is written.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import session_scope
from models.tables import Owner
from tests.utils.agreements import example_text
from tests.utils.alerts import ADMIN, MEMBER, OWNER, TEAM_LEAD, post_alert, press, store_with_leads
from tests.utils.modals import click_on_home, text_values, user_values
from tests.utils.slack_bot import Sent, SlackBot

V1 = json.dumps({"v": 1})
ROLES = {"admin": ADMIN, "team lead": TEAM_LEAD, "lead owner": OWNER, "member": MEMBER}
LEAD_ACTIONS = {
    "contacted": ("lead_contacted", None),
    "snooze": ("lead_snooze", "4h"),
    "not a fit": ("lead_not_a_fit", "duplicate"),
    "reassign": ("lead_reassign", "U0BEN"),
}
SUBMISSIONS = {
    "edit targets": ("edit_targets", text_values({"revenue_goal": "1300000"}), V1),
    "revise agreement": (
        "revise_agreement",
        text_values({"agreement": example_text().replace("1200000", "1250000")}),
        V1,
    ),
    "map owners": ("map_owners", user_values({"owner/bo@example.com": "U0BO"}), ""),
}
TABLES = ("lead", "followup_state", "agreement_version", "owner")


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a change could touch."""
    out = {}
    async with engine.connect() as connection:
        for table in TABLES:
            rows = await connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            out[table] = [tuple(row) for row in rows.all()]
    return out


async def prepared(bot: SlackBot) -> dict[str, list[tuple[Any, ...]]]:
    await store_with_leads(bot)
    async with session_scope(bot.engine) as session:
        session.add(Owner(source="crm", external_id="9", email="bo@example.com", name="Bo"))
    return await snapshot(bot.engine)


async def settled(bot: SlackBot, sent: Sent, *, refused: bool) -> str:
    """The refusal the person got (empty when allowed), once the bot finished."""
    if refused:
        [reply] = await bot.replies(sent)
        assert reply["response_type"] == "ephemeral"
        return str(reply["text"])
    await bot.until(lambda: bot.fake.calls_to("chat.update"))
    return ""


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("change", LEAD_ACTIONS)
async def test_lead_actions(slack_bot: SlackBot, change: str, role: str) -> None:
    before = await prepared(slack_bot)
    alert = await post_alert(slack_bot)
    action, choice = LEAD_ACTIONS[change]
    sent = await press(slack_bot, alert, "A", action, choice, user=ROLES[role])
    refused = role == "member"
    refusal = await settled(slack_bot, sent, refused=refused)
    after = await snapshot(slack_bot.engine)
    if refused:
        assert refusal.startswith("Only the lead's owner or a team lead (<@U0ANA>, ")
        assert after == before
        await asyncio.sleep(0.2)
        assert slack_bot.fake.calls_to("chat.update") == []
    else:
        assert after != before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("change", SUBMISSIONS)
async def test_modal_submissions(slack_bot: SlackBot, change: str, role: str) -> None:
    before = await prepared(slack_bot)
    callback_id, values, metadata = SUBMISSIONS[change]
    sent = await slack_bot.submit(callback_id, values, user=ROLES[role], private_metadata=metadata)
    answer = sent.json()
    after = await snapshot(slack_bot.engine)
    if role in ("admin", "team lead"):
        assert answer["response_action"] == "update"
        assert after != before
    else:
        assert answer["response_action"] == "errors"
        [message] = answer["errors"].values()
        assert message.startswith("Only the admins and team leads (<@U01MKTLEAD>")
        assert after == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "button", ["open_edit_targets", "open_revise_agreement", "open_map_owners"]
)
async def test_buttons_that_open_modals(slack_bot: SlackBot, button: str, role: str) -> None:
    await prepared(slack_bot)
    await click_on_home(slack_bot, button, user=ROLES[role])
    [view] = await slack_bot.until(lambda: list(slack_bot.fake.modals.values()))
    if role in ("admin", "team lead"):
        assert view["callback_id"] == button.removeprefix("open_")
    else:
        assert view["callback_id"] == "notice"
        assert "Only the admins and team leads" in view["blocks"][0]["text"]["text"]

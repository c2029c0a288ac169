"""Modals for admins and team leads, end to end: open, submit, a new version or the problems."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from models.db import session_scope
from models.tables import AgreementVersion, Owner
from tests.utils.agreements import example_text
from tests.utils.alerts import ADMIN, MEMBER, TEAM_LEAD, store_with_leads
from tests.utils.block_models import texts, valid_view
from tests.utils.modals import click_on_home, text_values, user_values
from tests.utils.slack_bot import SlackBot

V1 = json.dumps({"v": 1})


async def versions(engine: AsyncEngine) -> list[AgreementVersion]:
    async with session_scope(engine) as session:
        rows = await session.exec(select(AgreementVersion).order_by(col(AgreementVersion.version)))
        return list(rows.all())


async def opened_modal(bot: SlackBot) -> dict[str, Any]:
    [view] = await bot.until(lambda: list(bot.fake.modals.values()))
    valid_view(view)
    return view


async def test_edit_targets_opens_prefilled(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    sent = await click_on_home(slack_bot, "open_edit_targets", user=TEAM_LEAD)
    assert sent.status == 200
    view = await opened_modal(slack_bot)
    assert view["callback_id"] == "edit_targets"
    inputs = {
        b["block_id"]: b["element"]["initial_value"] for b in view["blocks"] if b["type"] == "input"
    }
    assert inputs == {
        "revenue_goal": "1200000",
        "average_deal_size": "30000",
        "funnel.leads.rate": "0.02",
        "funnel.mqls.rate": "0.25",
        "funnel.sqls.rate": "0.5",
        "funnel.proposals.rate": "0.5",
        "funnel.customers.rate": "0.3",
        "followup.mql-first-touch.within": "4h",
        "followup.mql-first-touch.target": "0.95",
    }
    assert json.loads(view["private_metadata"]) == {"v": 1}


async def test_saved_targets_are_a_new_version_by_the_user(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    values = text_values(
        {
            "revenue_goal": "1500000",
            "funnel.mqls.rate": "0.3",
            "followup.mql-first-touch.within": "5h",
        }
    )
    sent = await slack_bot.submit("edit_targets", values, user=ADMIN, private_metadata=V1)
    answer = sent.json()
    assert answer["response_action"] == "update"
    valid_view(answer["view"])
    shown = texts(answer["view"]["blocks"])
    assert "*Version 2* stored by <@U01MKTLEAD>" in shown
    assert "revenue_goal: 1200000 -> 1500000" in shown
    [_, latest] = await versions(slack_bot.engine)
    assert latest.applied_by == ADMIN
    assert latest.applied_at == slack_bot.at
    assert latest.document["revenue_goal"] == "1500000"
    assert latest.document["funnel"][2]["rate"] == "0.3"
    assert latest.document["followup"][0]["within"] == "5h"
    assert "revenue_goal: 1500000" in latest.source_text


async def test_bad_targets_are_shown_by_field_and_nothing_is_written(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    values = text_values(
        {
            "revenue_goal": "1.2M",
            "funnel.mqls.rate": "25",
            "followup.mql-first-touch.target": "0.95",
        }
    )
    sent = await slack_bot.submit("edit_targets", values, user=ADMIN, private_metadata=V1)
    answer = sent.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"revenue_goal", "funnel.mqls.rate"}
    assert "expected a number such as 0.25" in answer["errors"]["revenue_goal"]
    assert "if you mean 25%, write 0.25" in answer["errors"]["funnel.mqls.rate"]
    assert len(await versions(slack_bot.engine)) == 1


async def test_a_within_longer_than_the_escalation_is_refused_on_its_field(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    values = text_values({"followup.mql-first-touch.within": "9h"})
    sent = await slack_bot.submit("edit_targets", values, user=ADMIN, private_metadata=V1)
    errors = sent.json()["errors"]
    assert "8h is shorter than within (9h)" in errors["followup.mql-first-touch.within"]
    assert len(await versions(slack_bot.engine)) == 1


async def test_a_modal_opened_on_an_older_version_is_refused(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    await slack_bot.submit(
        "edit_targets", text_values({"revenue_goal": "1300000"}), user=ADMIN, private_metadata=V1
    )
    stale = await slack_bot.submit(
        "edit_targets",
        text_values({"average_deal_size": "20000"}),
        user=TEAM_LEAD,
        private_metadata=V1,
    )
    assert (
        "changed since you opened this (version 1, now 2)"
        in stale.json()["errors"]["average_deal_size"]
    )
    assert len(await versions(slack_bot.engine)) == 2


async def test_revise_opens_with_the_current_text_and_saves_a_pasted_agreement(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    await click_on_home(slack_bot, "open_revise_agreement", user=ADMIN)
    view = await opened_modal(slack_bot)
    assert view["callback_id"] == "revise_agreement"
    revised = example_text().replace("revenue_goal: 1200000", "revenue_goal: 1400000")
    sent = await slack_bot.submit(
        "revise_agreement", text_values({"agreement": revised}), user=ADMIN, private_metadata=V1
    )
    assert sent.json()["response_action"] == "update"
    [_, latest] = await versions(slack_bot.engine)
    assert latest.source_text == revised
    assert latest.document["revenue_goal"] == "1400000"
    assert latest.applied_by == ADMIN


async def test_a_pasted_agreement_with_problems_is_shown_with_lines(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    broken = (
        example_text()
        .replace("average_deal_size:", "average_dealsize:")
        .replace("rate: 0.25", "rate: 1.5")
    )
    sent = await slack_bot.submit(
        "revise_agreement", text_values({"agreement": broken}), user=ADMIN, private_metadata=V1
    )
    answer = sent.json()
    assert answer["response_action"] == "errors"
    message = answer["errors"]["agreement"]
    assert message.startswith("Not saved (2 problems):")
    assert (
        "line 7: average_dealsize: unknown key 'average_dealsize'; did you mean 'average_deal_size'?"
        in message
    )
    assert "funnel[2].rate: a rate is a share between 0 (excluded) and 1" in message
    assert len(await versions(slack_bot.engine)) == 1


async def test_unchanged_text_stores_nothing(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    sent = await slack_bot.submit(
        "edit_targets", text_values({"revenue_goal": "1200000"}), user=ADMIN, private_metadata=V1
    )
    assert "Nothing changed" in texts(sent.json()["view"]["blocks"])
    assert len(await versions(slack_bot.engine)) == 1


async def test_owners_without_a_slack_user_are_mapped(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    async with session_scope(slack_bot.engine) as session:
        session.add(Owner(source="crm", external_id="7", email="Bo@Example.com", name="Bo"))
        session.add(Owner(source="sheet", external_id="bo", email="bo@example.com"))
    await click_on_home(slack_bot, "open_map_owners", user=TEAM_LEAD)
    view = await opened_modal(slack_bot)
    pickers = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["label"]["text"] for b in pickers] == ["Bo <Bo@Example.com>"]
    sent = await slack_bot.submit(
        "map_owners", user_values({pickers[0]["block_id"]: "U0BO"}), user=TEAM_LEAD
    )
    assert sent.json()["response_action"] == "update"
    async with session_scope(slack_bot.engine) as session:
        mapped = (
            await session.exec(
                select(Owner.slack_user_id).where(
                    col(Owner.name).is_(None) | (col(Owner.name) == "Bo")
                )
            )
        ).all()
    assert sorted(mapped) == ["U0ANA", "U0BO", "U0BO"]


async def test_from_the_home_someone_else_gets_a_refusal_naming_who_may(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    await click_on_home(slack_bot, "open_edit_targets", user=MEMBER)
    view = await opened_modal(slack_bot)
    assert view["callback_id"] == "notice"
    assert (
        "Only the admins and team leads (<@U01MKTLEAD>, <@U01SALESLEAD> or <@U01CSLEAD>)"
        in texts(view["blocks"])
    )


async def test_from_a_message_someone_else_gets_an_ephemeral_refusal(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    sent = await slack_bot.click("open_revise_agreement", "x", user=MEMBER)
    [reply] = await slack_bot.replies(sent)
    assert reply["response_type"] == "ephemeral"
    assert "Only the admins and team leads" in reply["text"]
    assert slack_bot.fake.modals == {}


async def test_without_an_agreement_the_buttons_say_what_to_do(slack_bot: SlackBot) -> None:
    sent = await slack_bot.click("open_edit_targets", "x", user=ADMIN)
    [reply] = await slack_bot.replies(sent)
    assert "No agreement yet" in reply["text"]

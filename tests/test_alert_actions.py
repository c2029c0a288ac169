"""An alert's buttons end to end: signed clicks, the store, and the alert edited in the fake Slack."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.utils.alerts import (
    ALERTS,
    MEMBER,
    OTHER,
    OWNER,
    lead_row,
    post_alert,
    press,
    store_with_leads,
)
from tests.utils.block_models import texts, valid_blocks
from tests.utils.slack_bot import SlackBot
from tests.utils.store import local


async def edited(bot: SlackBot, count: int = 1) -> str:
    """The alert's text once it was edited `count` times."""
    [message] = await bot.until(
        lambda: [m for m in bot.fake.messages[ALERTS] if len(m.edits) >= count]
    )
    valid_blocks(message.blocks)
    return texts(message.blocks)


async def test_contacted_records_the_first_touch_and_edits_the_alert(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    sent = await press(slack_bot, alert, "A", "lead_contacted")
    assert sent.status == 200
    shown = await edited(slack_bot)
    # Handed off Tuesday 13:00: 4h on Tuesday and 1h on Wednesday morning, past its 17:00 deadline.
    assert "*A* · mql-first-touch: contacted by <@U0ANA> after 5h business time (late)" in shown
    lead, _ = await lead_row(slack_bot.engine, "A")
    assert lead.first_touch_at == slack_bot.at
    assert lead.first_touch_by == OWNER
    assert slack_bot.fake.responses == []  # the edit is the answer: nothing ephemeral


async def test_snooze_mutes_for_business_time_and_the_alert_says_until_when(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    await press(slack_bot, alert, "B", "lead_snooze", "4h")
    shown = await edited(slack_bot)
    assert "*B* · mql-first-touch: snoozed until Wed 03 Mar 13:00 by <@U0ANA>" in shown
    _, state = await lead_row(slack_bot.engine, "B")
    assert state.snoozed_until == local("2027-03-03 13:00")
    assert state.snoozed_by == OWNER


async def test_snooze_to_the_next_business_day_resumes_at_its_opening(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    await press(slack_bot, alert, "C", "lead_snooze", "next")
    shown = await edited(slack_bot)
    assert "*C* · mql-first-touch: snoozed until Thu 04 Mar 08:00 by <@U0ANA>" in shown
    _, state = await lead_row(slack_bot.engine, "C")
    assert state.snoozed_until is not None
    assert local("2027-03-04 08:00") <= state.snoozed_until < local("2027-03-04 08:01")


async def test_not_a_fit_disqualifies_with_the_reason(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    await press(slack_bot, alert, "C", "lead_not_a_fit", "duplicate")
    shown = await edited(slack_bot)
    assert "*C* · mql-first-touch: not a fit (duplicate) by <@U0ANA>" in shown
    lead, _ = await lead_row(slack_bot.engine, "C")
    assert (lead.disqualify_reason, lead.disqualified_by) == ("duplicate", OWNER)
    assert lead.disqualified_at == slack_bot.at


async def test_reassign_gives_the_lead_away_and_mentions_the_new_owner(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    await press(slack_bot, alert, "A", "lead_reassign", OTHER)
    shown = await edited(slack_bot)
    assert "reassigned to <@U0BEN> by <@U0ANA>" in shown
    _, state = await lead_row(slack_bot.engine, "A")
    assert state.reassigned_to == OTHER
    [thread] = await slack_bot.until(lambda: slack_bot.fake.messages[ALERTS][1:])
    assert "<@U0BEN>" in thread.text
    # A later click on another lead keeps who reassigned A (the store keeps only to whom).
    current = slack_bot.fake.messages[ALERTS][0]
    await press(slack_bot, current, "B", "lead_contacted")
    shown = await edited(slack_bot, 2)
    assert "reassigned to <@U0BEN> by <@U0ANA>" in shown
    assert "*B* · mql-first-touch: contacted by <@U0ANA>" in shown


async def test_a_retried_click_applies_once(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    first = await press(slack_bot, alert, "A", "lead_reassign", OTHER, trigger_id="9.9.retry")
    again = await press(slack_bot, alert, "A", "lead_reassign", OTHER, trigger_id="9.9.retry")
    assert (first.status, again.status) == (200, 200)
    await edited(slack_bot)
    await asyncio.sleep(0.3)
    assert len(slack_bot.fake.calls_to("chat.update")) == 1
    assert len(slack_bot.fake.messages[ALERTS]) == 2  # the alert and one thread reply


async def test_someone_else_is_refused_privately_and_nothing_is_written(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    sent = await press(slack_bot, alert, "A", "lead_contacted", user=MEMBER)
    [reply] = await slack_bot.replies(sent)
    assert reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False
    assert "Only the lead's owner or a team lead" in reply["text"]
    assert "<@U0ANA>" in reply["text"]
    lead, _ = await lead_row(slack_bot.engine, "A")
    assert lead.first_touch_at is None
    assert slack_bot.fake.calls_to("chat.update") == []


async def test_a_lead_contacted_already_says_so_and_shows_the_current_state(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    alert = await post_alert(slack_bot)
    await press(slack_bot, alert, "A", "lead_contacted")
    await edited(slack_bot)
    slack_bot.at += timedelta(hours=1)
    sent = await press(slack_bot, alert, "A", "lead_contacted", user="U01SALESLEAD")
    [reply] = await slack_bot.replies(sent)
    assert "already contacted by <@U0ANA>" in reply["text"]
    lead, _ = await lead_row(slack_bot.engine, "A")
    assert lead.first_touch_by == OWNER

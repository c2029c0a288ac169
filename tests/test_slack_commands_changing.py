"""`/sla log|ack|snooze|away|kudos` end to end: what they write, refuse, and apply only once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from models.db import session_scope
from models.tables import AwayPeriod, Kudos, MetricValue
from tests.utils.commands import (
    ADMIN,
    MEMBER,
    OWNER,
    count,
    lead_row,
    seed,
    state_row,
)
from tests.utils.slack_bot import SlackBot
from tests.utils.store import local


async def reply_to(slack_bot: SlackBot, text: str, user: str = MEMBER, **options: object) -> str:
    sent = await slack_bot.command(text, user=user, **options)
    assert sent.status == 200
    [reply] = await slack_bot.replies(sent)
    assert reply["response_type"] == "ephemeral"
    return str(reply["text"])


async def test_log_records_todays_value_and_a_given_day(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    assert await reply_to(slack_bot, "log visits 1200", ADMIN) == (
        "Logged visits = 1200 for 2027-03-03."
    )
    assert await reply_to(slack_bot, "log VISITS 900 2027-03-01", ADMIN) == (
        "Logged visits = 900 for 2027-03-01."
    )
    async with session_scope(engine) as session:
        rows = (await session.exec(select(MetricValue).order_by(col(MetricValue.day)))).all()
    assert [(r.metric, str(r.day), r.value, r.entered_by, r.source) for r in rows] == [
        ("visits", "2027-03-01", 900.0, ADMIN, "manual"),
        ("visits", "2027-03-03", 1200.0, ADMIN, "manual"),
    ]


async def test_log_of_an_unknown_metric_lists_the_known_ones(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    assert await reply_to(slack_bot, "log visit 12", ADMIN) == (
        "There is no metric `visit`; did you mean `visits`? The metrics you can log are "
        "`visits`, `leads`, `mqls`, `sqls`, `proposals`, `customers`, `churned_customers`, "
        "`active_customers`."
    )
    assert await count(engine, MetricValue) == 0


async def test_log_of_a_day_to_come_is_refused(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    assert await reply_to(slack_bot, "log visits 12 2027-03-04", ADMIN) == (
        "2027-03-04 is still to come (today is 2027-03-03 in America/Chicago); "
        "log a day that has begun."
    )
    assert await count(engine, MetricValue) == 0


async def test_ack_records_the_first_touch(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    assert await reply_to(slack_bot, "ack A", OWNER) == f"A: first touch recorded by <@{OWNER}>."
    lead = await lead_row(engine, "A")
    assert (lead.first_touch_at, lead.first_touch_by) == (slack_bot.at, OWNER)
    assert await reply_to(slack_bot, "ack A", OWNER) == (
        f"A was already contacted by <@{OWNER}> at 2027-03-03 15:00 UTC."
    )


async def test_ack_of_an_unknown_lead(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    assert await reply_to(slack_bot, "ack L-404", ADMIN) == (
        "No lead 'L-404'; use the id shown in the alert, e.g. L-1001."
    )


async def test_snooze_mutes_for_business_time(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    # Wednesday 09:00 + 1 business day (9h) = Thursday 09:00.
    assert await reply_to(slack_bot, "snooze B 1d", OWNER) == (
        "B: alerts snoozed until Thu 04 Mar 09:00 CST."
    )
    state = await state_row(engine, "B")
    assert state.snoozed_until == local("2027-03-04 09:00")
    assert state.snoozed_by == OWNER


async def test_away_until_the_end_of_a_local_day_or_open_ended(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    assert await reply_to(slack_bot, "away until 2027-03-05") == (
        f"<@{MEMBER}> is away until 2027-03-05; their alerts go to their team lead."
    )
    assert await reply_to(slack_bot, "away", OWNER) == (
        f"<@{OWNER}> is away until you say you are back; their alerts go to their team lead."
    )
    async with session_scope(engine) as session:
        rows = (await session.exec(select(AwayPeriod).order_by(col(AwayPeriod.id)))).all()
    assert [(r.user, r.start_at, r.end_at) for r in rows] == [
        (MEMBER, slack_bot.at, datetime(2027, 3, 6, 5, 59, 59, 999999, tzinfo=UTC)),
        (OWNER, slack_bot.at, None),
    ]


async def test_away_until_a_past_day_is_refused(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    assert await reply_to(slack_bot, "away until 2027-03-02") == (
        "The end of an away period must be in the future."
    )
    assert await count(engine, AwayPeriod) == 0


async def test_kudos_are_kept_and_posted_in_the_wins_channel(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    text = await reply_to(slack_bot, f"kudos <@{OWNER}|ana> for the public demo & more")
    assert text == f"Kudos to <@{OWNER}> posted in <#C01WINS>."
    [post] = slack_bot.fake.messages["C01WINS"]
    assert post.text == f"Kudos from <@{MEMBER}> to <@{OWNER}>: for the public demo & more"
    async with session_scope(engine) as session:
        [row] = (await session.exec(select(Kudos))).all()
    assert (row.from_user, row.to_user, row.text, row.at) == (
        MEMBER,
        OWNER,
        "for the public demo & more",
        slack_bot.at,
    )


async def test_kudos_when_the_bot_is_not_in_the_wins_channel(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    slack_bot.fake.closed_channels.add("C01WINS")
    assert await reply_to(slack_bot, f"kudos <@{OWNER}> thanks") == (
        f"Your kudos to <@{OWNER}> are saved, but I could not post them in <#C01WINS> "
        "(not_in_channel); invite me there with `/invite`."
    )
    assert await count(engine, Kudos) == 1


async def test_kudos_to_oneself_are_refused(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    assert await reply_to(slack_bot, f"kudos <@{MEMBER}> me") == (
        "Kudos are for someone else; thank a colleague with `/sla kudos @…`."
    )
    assert await count(engine, Kudos) == 0


@pytest.mark.parametrize(
    ("text", "table"),
    [
        (f"kudos <@{OWNER}|ana> thanks", Kudos),
        (f"public kudos <@{OWNER}|ana> thanks", Kudos),
        ("away until 2027-03-05", AwayPeriod),
        ("log visits 10", MetricValue),
    ],
)
async def test_a_retried_changing_command_applies_once(
    slack_bot: SlackBot, engine: AsyncEngine, text: str, table: type
) -> None:
    await seed(engine)
    first = await slack_bot.command(text, user=ADMIN, trigger_id="42.4242.retry")
    await slack_bot.replies(first)
    again = await slack_bot.command(
        text, user=ADMIN, trigger_id="42.4242.retry", headers={"X-Slack-Retry-Num": "1"}
    )
    assert again.status == 200
    assert await count(engine, table) == 1
    assert slack_bot.fake.responses_to(again.response_url or "") == []
    assert len(slack_bot.fake.messages.get("C01WINS", [])) == (1 if table is Kudos else 0)


async def test_ack_of_a_retried_request_applies_once(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    first = await slack_bot.command("ack A", user=OWNER, trigger_id="7.77.same")
    await slack_bot.replies(first)
    slack_bot.at = datetime(2027, 3, 3, 16, 0, tzinfo=UTC)  # the retry arrives later
    await slack_bot.command(
        "ack A", user=ADMIN, trigger_id="7.77.same", headers={"X-Slack-Retry-Num": "1"}
    )
    lead = await lead_row(engine, "A")
    assert (lead.first_touch_at, lead.first_touch_by) == (
        datetime(2027, 3, 3, 15, 0, tzinfo=UTC),
        OWNER,
    )

"""`/sla` end to end: signed slash commands through the real Bolt app, replies via response_url."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.utils.commands import (
    ADMIN,
    MEMBER,
    OTHER_OWNER,
    OWNER,
    seed,
    store_deal,
)
from tests.utils.slack_bot import SlackBot
from tests.utils.store import local, mql


def everything(reply: dict[str, Any]) -> str:
    """The fallback and every text of the blocks, for asserting on what a person reads."""
    texts = [reply.get("text", "")]
    for block in reply.get("blocks") or []:
        for part in [
            block.get("text"),
            *(block.get("elements") or []),
            *(block.get("fields") or []),
        ]:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return "\n".join(texts)


async def ask(slack_bot: SlackBot, text: str, user: str = MEMBER) -> dict[str, Any]:
    sent = await slack_bot.command(text, user=user)
    assert sent.status == 200
    [reply] = await slack_bot.replies(sent)
    return reply


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
async def test_help_lists_every_word_ephemerally(slack_bot: SlackBot, text: str) -> None:
    reply = await ask(slack_bot, text)
    assert reply["response_type"] == "ephemeral"
    shown = everything(reply)
    for usage in [
        "/sla status [team]",
        "/sla leads [mine|breached|due]",
        "/sla plan",
        "/sla agreement",
        "/sla wins",
        "/sla kudos @user text",
        "/sla log METRIC VALUE [DATE]",
        "/sla ack LEAD",
        "/sla snooze LEAD DURATION",
        "/sla away [until DATE]",
        "/sla report",
    ]:
        assert usage in shown


async def test_help_for_one_word(slack_bot: SlackBot) -> None:
    reply = await ask(slack_bot, "help snooze")
    assert "`/sla snooze LEAD DURATION`" in reply["text"]
    assert "`/sla snooze L-1001 4h`" in reply["text"]


async def test_an_unknown_word_is_answered_in_the_ack_with_the_closest_command(
    slack_bot: SlackBot,
) -> None:
    sent = await slack_bot.command("stauts")
    assert sent.status == 200
    body = sent.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("I don't know `/sla stauts`; did you mean `/sla status`?")
    assert "/sla leads" in everything(body)  # the whole list follows
    assert slack_bot.fake.responses == []  # nothing else is sent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "log visits 1,200",
            "VALUE: '1,200' is not a number; write digits only, e.g. 1200 or 0.5 "
            "(no thousands separators, currency signs or %)",
        ),
        ("log visits", "Write `/sla log METRIC VALUE [DATE]`; got `log visits`"),
        (
            "log visits 12 2027-02-30",
            "DATE: `2027-02-30` is not a date (day is out of range for month); write YYYY-MM-DD",
        ),
        (
            "log visits 12 03/01/2027",
            "DATE: `03/01/2027` is not a date; write YYYY-MM-DD, e.g. 2027-03-01",
        ),
        (
            "snooze L-1001 4x",
            "DURATION: '4x' is not a duration; write a number with m, h or d, e.g. 30m, 4h, 2d or 1h30m",
        ),
        ("snooze L-1001 0m", "DURATION: '0m' is zero; a duration must be longer than that"),
        (
            "kudos @ana thanks",
            "I can't tell who `@ana` is: pick the person from the @ autocomplete so Slack sends "
            "their user id",
        ),
        (
            "kudos <@U0ANA00001|ana>",
            "Say what the kudos are for, e.g. `/sla kudos @ana for the demo`",
        ),
        (
            "away until 2027-3-1",
            "DATE: `2027-3-1` is not a date; write YYYY-MM-DD, e.g. 2027-03-01",
        ),
        ("away until", "Say until when: `/sla away until YYYY-MM-DD`"),
        (
            "leads mien",
            "`mien` is not a list of leads; did you mean `leads mine`? Choose mine, breached, "
            "due, or nothing for every open lead.",
        ),
        ("ack", "Write `/sla ack LEAD`; got `ack` alone"),
        ("status sales marketing", "Write `/sla status [team]`; got `status sales marketing`"),
    ],
)
async def test_bad_input_gets_the_exact_problem_in_the_ack(
    slack_bot: SlackBot, engine: AsyncEngine, text: str, message: str
) -> None:
    sent = await slack_bot.command(text)
    body = sent.json()
    assert body["response_type"] == "ephemeral"
    assert body["text"] == message


async def test_without_an_agreement_it_says_what_to_do(slack_bot: SlackBot) -> None:
    for word in ("status", "leads", "plan", "agreement", "wins", "report", "log visits 1"):
        reply = await ask(slack_bot, word)
        assert reply["response_type"] == "ephemeral"
        assert reply["text"] == (
            "No agreement yet: an admin stores one with `slabot agreement apply FILE`."
        )


async def test_status_shows_kpis_revenue_follow_up_and_the_ledger(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    await store_deal(engine, "DL-1", 30000, "2027-02-15 10:00", "ben@example.com")
    reply = await ask(slack_bot, "status")
    assert reply["response_type"] == "ephemeral"
    shown = everything(reply)
    assert "Sales & Marketing SLA 2027 H1" in shown
    assert "Day 62 of 181, as of Wed 03 Mar 2027 09:00 CST" in shown
    for team in ("*Marketing*", "*Sales*", "*Customer Success*"):
        assert team in shown
    # 62 of 181 days gone: ceil(534 * 62 / 181) = 183 MQLs due by now; 5 arrived.
    assert "`mqls` 5 of 183 to date (target 534) · pace 3% · :red_circle: at risk" in shown
    assert "*Revenue* 30,000 USD of 1,200,000 USD won · :red_circle: at risk" in shown
    assert (
        "*mql-first-touch* (first touch within 4h of business time): 33.3% on time "
        "(1/3, target 95%) · error budget overspent by 2 (0 allowed)" in shown
    )
    assert "open: 1 pending, 1 due soon, 1 breached, 1 escalated" in shown
    assert "*The agreement, both sides*" in shown
    assert "*marketing* → sales: hand over mqls to sales · 5 of 183" in shown
    assert "Data as of: traffic never, sheet never, deals never" in shown
    assert reply["text"].startswith("Sales & Marketing SLA 2027 H1: Day 62 of 181")


async def test_status_of_one_team_and_public(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    reply = await ask(slack_bot, "status sales public")
    assert reply["response_type"] == "in_channel"
    shown = everything(reply)
    assert "*Sales*" in shown
    assert "*Marketing*" not in shown
    assert "*marketing* →" not in shown


async def test_status_of_an_unknown_team_lists_the_teams(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    reply = await ask(slack_bot, "status sale public")
    assert reply["response_type"] == "ephemeral"  # a problem is never shown to the channel
    assert reply["text"] == (
        "There is no team `sale`; did you mean `sales`? "
        "The teams are `marketing`, `sales`, `customer_success`."
    )


@pytest.mark.parametrize(
    ("text", "user", "title", "leads"),
    [
        ("leads", MEMBER, "Open leads: 4", ["A", "B", "D", "C"]),
        ("leads mine", OWNER, "Your open leads: 3", ["A", "B", "C"]),
        ("leads mine", OTHER_OWNER, "Your open leads: 1", ["D"]),
        ("leads breached", MEMBER, "Leads past their deadline: 2", ["A", "B"]),
        ("leads due", MEMBER, "Leads due soon: 1", ["D"]),
    ],
)
async def test_leads_by_nearest_deadline(
    slack_bot: SlackBot, engine: AsyncEngine, text: str, user: str, title: str, leads: list[str]
) -> None:
    await seed(engine)
    reply = await ask(slack_bot, text, user)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == f"{title}, nearest deadline first."
    listing = reply["blocks"][1]["text"]["text"].splitlines()
    assert [line.split("`")[1] for line in listing] == leads


async def test_a_lead_line_says_state_owner_deadline_and_business_time_waited(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    reply = await ask(slack_bot, "leads breached")
    first = reply["blocks"][1]["text"]["text"].splitlines()[0]
    # Handed off Mon 10:00: 7h on Monday, 9h on Tuesday, 1h on Wednesday.
    assert first == (
        f"`A` :rotating_light: escalated · <@{OWNER}> · deadline Mon 01 Mar 14:00 · "
        "waited 17h business time · mql-first-touch"
    )


async def test_a_long_list_of_leads_is_cut_with_the_number_left(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    many = [mql(f"M-{n:03d}", "2027-02-22 09:00") for n in range(60)]
    await seed(engine, many)
    reply = await ask(slack_bot, "leads")
    assert reply["text"] == "Open leads: 64, nearest deadline first."
    listing = reply["blocks"][1]["text"]["text"].splitlines()
    assert listing[-1] == f"…and {64 - (len(listing) - 1)} more"
    assert len(listing) - 1 <= 30


async def test_no_open_leads(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    reply = await ask(slack_bot, "leads mine", ADMIN)
    assert reply["text"] == "None of your leads is waiting for a first touch. :tada:"


async def test_plan_shows_targets_per_stage_and_this_month(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    reply = await ask(slack_bot, "plan public")
    assert reply["response_type"] == "in_channel"
    shown = everything(reply)
    assert "*mqls* (marketing, 25%): 534 for the period · 92 in Mar 2027" in shown
    assert "*visits* (marketing, top of the funnel): 106,667 for the period" in shown
    assert "= 40 customers" in shown


async def test_agreement_shows_version_days_left_and_who_may_change_it(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    reply = await ask(slack_bot, "agreement")
    assert reply["text"] == "Sales & Marketing SLA 2027 H1, version 1: 120 of 181 days left."
    shown = everything(reply)
    assert "Version 1 · 2027-01-01 to 2027-06-30 (America/Chicago)" in shown
    assert (
        "*sales*: lead <@U01SALESLEAD>, <#C01SALES> · stages: sqls, proposals, customers" in shown
    )
    assert (
        "Admins and team leads (<@U01MKTLEAD>, <@U01SALESLEAD> or <@U01CSLEAD>) may change it."
        in shown
    )


async def test_report_is_the_ledger_team_by_team(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    reply = await ask(slack_bot, "report")
    shown = everything(reply)
    assert "Report: Sales & Marketing SLA 2027 H1" in shown
    assert "*Sales*\n" in shown and "_KPIs_" in shown
    assert "*sales* → marketing: touch 95% of mqls within 4h (mql-first-touch)" in shown
    assert reply["text"].startswith("Report Sales & Marketing SLA 2027 H1, period to date:")


async def test_wins_lists_deals_won_and_kudos(slack_bot: SlackBot, engine: AsyncEngine) -> None:
    await seed(engine)
    await store_deal(engine, "DL-1", 30000, "2027-02-15 10:00", "ben@example.com")
    await store_deal(engine, "DL-0", 9000, "2026-12-15 10:00", "ben@example.com")  # before
    await ask(slack_bot, f"kudos <@{OWNER}|ana> for the quick follow-up")
    reply = await ask(slack_bot, "wins")
    shown = everything(reply)
    assert reply["text"] == "Wins this period: 1 deals won, 1 kudos."
    assert f":trophy: `DL-1` 30,000 USD · <@{OTHER_OWNER}> · Mon 15 Feb" in shown
    assert f":clap: <@{MEMBER}> to <@{OWNER}>: for the quick follow-up · Wed 03 Mar" in shown


async def test_leads_at_an_earlier_instant_include_those_touched_since(
    slack_bot: SlackBot, engine: AsyncEngine
) -> None:
    await seed(engine)
    slack_bot.at = local("2027-03-01 09:30")  # E is touched at 10:00; A is handed off then
    reply = await ask(slack_bot, "leads")
    assert reply["text"] == "Open leads: 1, nearest deadline first."
    assert reply["blocks"][1]["text"]["text"].startswith(
        f"`E` :white_circle: pending · <@{OTHER_OWNER}>"
    )

"""The App Home end to end: `app_home_opened` events publish each viewer's dashboard once."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.check import refresh_all_deadlines
from models.agreement import Agreement
from models.db import session_scope
from models.tables import Owner, Win
from tests.utils.alerts import ADMIN, MEMBER, OWNER, store_with_leads
from tests.utils.block_models import texts, valid_view
from tests.utils.slack_bot import SlackBot
from tests.utils.store import example, local, mql, store_agreement, store_leads


def opened(user: str, tab: str = "home") -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D0HOME0001",
        "tab": tab,
        "event_ts": "1800000000.000100",
    }


async def home_of(bot: SlackBot, user: str) -> dict[str, Any]:
    [view] = await bot.until(lambda: [bot.fake.home[u] for u in [user] if u in bot.fake.home])
    valid_view(view)
    return view


async def test_the_owner_sees_kpis_follow_up_their_leads_wins_and_data_age(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    async with session_scope(slack_bot.engine) as session:
        session.add(
            Win(
                key="deal:1",
                kind="deal",
                title="Acme signed: 30,000 USD",
                at=local("2027-03-02 11:00"),
            )
        )
    sent = await slack_bot.event(opened(OWNER))
    assert sent.status == 200
    view = await home_of(slack_bot, OWNER)
    shown = texts(view["blocks"])
    assert view["blocks"][0]["text"]["text"] == "Sales & Marketing SLA 2027 H1"
    assert "day 62 of 181" in shown
    assert "*Marketing* (lead <@U01MKTLEAD>)" in shown
    assert "• *mqls*: 3 of" in shown  # three hand-offs into mqls so far
    assert "• *mqls_rate*: - (target 25.0%) :grey_question: no data" in shown
    assert "• *churn_rate*: - (target <= 2.0%)" in shown
    assert "*mql-first-touch*: 0.0% on time (0/2, target 95%)" in shown
    assert "error budget overspent by 2 (0 allowed) · open: 1 due soon, 2 breached" in shown
    assert "*Your open leads* (3), nearest deadline first" in shown
    assert shown.index("*A* · mql-first-touch · breached") < shown.index("*C* · mql-first-touch")
    assert "Acme signed: 30,000 USD (02 Mar)" in shown
    assert "Data as of: traffic never synced :warning: stale" in shown
    assert not [b for b in view["blocks"] if b["type"] == "actions"]  # the owner edits nothing


async def test_admins_and_team_leads_get_the_buttons_that_open_the_modals(
    slack_bot: SlackBot,
) -> None:
    await store_with_leads(slack_bot)
    async with session_scope(slack_bot.engine) as session:
        session.add(Owner(source="sheet", external_id="bo", email="bo@example.com"))
    await slack_bot.event(opened(ADMIN))
    view = await home_of(slack_bot, ADMIN)
    [buttons] = [b for b in view["blocks"] if b["type"] == "actions"]
    labels = [e["text"]["text"] for e in buttons["elements"]]
    assert labels == ["Edit targets", "Revise agreement", "Map owners (1 unmatched)"]
    assert "*Your open leads*: none" in texts(view["blocks"])


async def test_a_redelivered_event_publishes_once(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    await slack_bot.event(opened(MEMBER), event_id="Ev0HOME0001")
    again = await slack_bot.event(
        opened(MEMBER), event_id="Ev0HOME0001", headers={"X-Slack-Retry-Num": "1"}
    )
    assert again.status == 200
    await home_of(slack_bot, MEMBER)
    await asyncio.sleep(0.3)
    assert len(slack_bot.fake.calls_to("views.publish")) == 1


async def test_the_messages_tab_publishes_nothing(slack_bot: SlackBot) -> None:
    await store_with_leads(slack_bot)
    await slack_bot.event(opened(MEMBER, tab="messages"))
    await asyncio.sleep(0.3)
    assert slack_bot.fake.calls_to("views.publish") == []


async def test_without_an_agreement_the_home_says_what_to_do(slack_bot: SlackBot) -> None:
    await slack_bot.event(opened(MEMBER))
    view = await home_of(slack_bot, MEMBER)
    assert "No agreement yet" in texts(view["blocks"])
    assert "slabot agreement apply FILE" in texts(view["blocks"])


def many_teams(count: int) -> Agreement:
    """The example agreement with `count` more teams, each with a KPI of its own."""
    document = example().model_dump(mode="json")
    for n in range(count):
        document["teams"][f"team_{n}"] = {"lead": f"U0TEAM{n:04d}"}
        document["kpis"].append(
            {
                "id": f"calls_{n}",
                "team": f"team_{n}",
                "metric": f"calls_{n}",
                "target": 50,
                "every": "week",
            }
        )
    return Agreement.model_validate(document)


async def test_thousands_of_leads_and_many_teams_stay_within_a_hundred_blocks(
    slack_bot: SlackBot,
) -> None:
    await store_agreement(slack_bot.engine, many_teams(150))
    leads = [mql(f"L{n:05d}", f"2027-03-02 {8 + n % 9:02d}:{n % 60:02d}") for n in range(3000)]
    await store_leads(slack_bot.engine, leads)
    async with session_scope(slack_bot.engine) as session:
        session.add(
            Owner(source="sheet", external_id="ana", email="ana@example.com", slack_user_id=OWNER)
        )
    async with session_scope(slack_bot.engine) as session:
        await refresh_all_deadlines(session, many_teams(150), at=slack_bot.at)
    await slack_bot.event(opened(OWNER))
    view = await home_of(slack_bot, OWNER)
    shown = texts(view["blocks"])
    assert len(view["blocks"]) == 100
    assert "*Your open leads* (3000)" in shown
    assert "…and 2990 more: `/sla leads mine` lists them all." in shown
    assert "more teams: `/sla status TEAM`." in shown
    # Nearest deadline first: 17 leads were handed off at 08:00 (due 12:00); ten are shown.
    assert shown.count("deadline was Tue 02 Mar 12:00") == 10


def test_the_manifest_asks_for_what_the_home_buttons_and_modals_use() -> None:
    from ruamel.yaml import YAML

    from tests.conftest import EXAMPLES

    manifest = YAML(typ="safe").load((EXAMPLES.parent / "manifest.yml").read_text())
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert {"chat:write", "users:read"} <= set(manifest["oauth_config"]["scopes"]["bot"])

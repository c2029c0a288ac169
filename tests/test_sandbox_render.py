"""What `slabot demo` prints: the bot's real messages as terminal text, and the fake Slack's watch."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.blocks.alerts import Alert, alert_message
from bot.blocks.digest import digest_reply
from bot.blocks.help import help_reply
from bot.blocks.modals import owners_modal
from bot.blocks.status import status_reply
from bot.blocks.wins import kudos_post, wins_reply
from bot.sandbox.mrkdwn import mrkdwn_text
from bot.sandbox.render import Shown, render_blocks, render_message
from bot.sandbox.slack import TOKEN, FakeSlack
from bot.wins import GivenKudos, RecentWins, WonDeal
from tests.test_alert_blocks import AT, ZONE, view
from tests.test_command_blocks import report
from tests.test_digest import build, fill_week_10
from tests.utils.store import example, local

NAMES = {"U0ANA": "ana", "U0BEN": "ben", "C0ALERTS": "alerts", "C0WINS": "#wins"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 12_292  # 12.3 kB


def lines_of(text: str) -> list[str]:
    return text.split("\n")


def no_markup_left(text: str) -> None:
    """No raw mention, link or entity, and no `*` but a primary button's mark."""
    assert not re.search(r"<[@#!]|&(amp|lt|gt);", text), text
    assert "*" not in text.replace("]*", "]"), text


# --- mrkdwn, rule by rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mrkdwn", "text"),
    [
        ("*Escalated* (2)", "Escalated (2)"),
        ("_KPIs_ and ~old~ *bold _both_*", "KPIs and old bold both"),
        (
            "not_a_fit :large_green_circle: :tada: 2 * 3 * 4",
            "not_a_fit :large_green_circle: :tada: 2 * 3 * 4",
        ),
        ("a*b*c and *a *", "a*b*c and *a *"),  # markers inside a word or before a space are text
        ("<@U0ANA> and <@U0ZOE>", "@ana and @U0ZOE"),  # an unknown id stays an id
        ("<#C0ALERTS>, <#C0SALES|sales>, <#C0WINS>", "#alerts, #sales, #wins"),
        (
            "<https://x.example/a_b_c|the *report*> <https://x.example> <mailto:a@b.co>",
            "the report https://x.example a@b.co",
        ),
        (
            "<!here> <!channel> <!subteam^S0DEVS|@devs> <!date^1800000000^{date}|Mar 3>",
            "@here @channel @devs Mar 3",
        ),
        (
            "Sales &amp; Marketing &lt;= 2% &lt;@U0ANA&gt;",
            "Sales & Marketing <= 2% <@U0ANA>",
        ),  # escaped: text
        ("`/sla kudos @user for *this*`", "`/sla kudos @user for *this*`"),  # code keeps its text
        (
            "*Kudos to <@U0BEN>* from <@U0ANA>\n>great &gt; good",
            "Kudos to @ben from @ana\n│ great > good",
        ),
        (
            "*Team*\n```\nKPI   week\n*x*     &lt;2\n```\nafter",
            "Team\nKPI   week\n*x*     <2\nafter",
        ),
    ],
)
def test_each_mrkdwn_rule(mrkdwn: str, text: str) -> None:
    assert mrkdwn_text(mrkdwn, NAMES) == text


def test_blocks_of_every_kind() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly digest"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": t} for t in ("*Won*", "3", "*Lost*", "1")]},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "as of *Wed*"}, {"type": "image", "image_url": "https://x/i.png", "alt_text": "logo"}]},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "style": "primary", "action_id": "a"},
            {"type": "button", "text": {"type": "plain_text", "text": "Delete"}, "style": "danger", "action_id": "b"},
            {"type": "overflow", "action_id": "c", "options": [{"text": {"type": "plain_text", "text": "Edit"}, "value": "e"}, {"text": {"type": "plain_text", "text": "Mute"}, "value": "m"}]},
            {"type": "users_select", "action_id": "d", "initial_user": "U0BEN", "placeholder": {"type": "plain_text", "text": "Reassign"}},
        ]},
        {"type": "image", "image_url": "https://x/funnel.png", "alt_text": "each stage against its target"},
        {"type": "input", "optional": True, "label": {"type": "plain_text", "text": "Rate"}, "hint": {"type": "plain_text", "text": "a share, e.g. 0.25"}, "element": {"type": "plain_text_input", "action_id": "v", "initial_value": "0.3"}},
        {"type": "rich_text", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "Hi "}, {"type": "user", "user_id": "U0ANA"}, {"type": "text", "text": " see "}, {"type": "link", "url": "https://x", "text": "this"}]},
            {"type": "rich_text_list", "style": "ordered", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "first"}]}]},
        ]},
    ]  # fmt: skip
    assert lines_of(render_blocks(blocks, names=NAMES, width=40)) == [
        "Weekly digest",
        "═════════════",
        "Won                  3",  # two columns of (40 - 3) // 2 characters
        "Lost                 1",
        "────────────────────────────────────────",
        "  · as of Wed",
        "  · [image: logo]",
        "[ Approve ]*  [ Delete ]!",
        "[ ⋯ Edit / Mute ]  [ @ben ▾ ]",
        "",
        "[image: each stage against its target]",
        "",
        "Rate (optional)",
        "  [ 0.3 ]",
        "  · a share, e.g. 0.25",
        "",
        "Hi @ana see this",
        "1. first",
    ]


def test_long_lines_wrap_at_the_width_with_bullets_hanging() -> None:
    text = "• " + "word " * 40 + "\n" + ">" + "quoted " * 20
    shown = lines_of(
        render_blocks([{"type": "section", "text": {"type": "mrkdwn", "text": text}}], width=30)
    )
    assert all(len(line) <= 30 for line in shown)
    assert shown[0].startswith("• word") and shown[1].startswith("  word")
    assert [line for line in shown if line.startswith("│ quoted")] == shown[-5:]
    assert " ".join(shown).count("word") == 40 and " ".join(shown).count("quoted") == 20


# --- the bot's real messages -----------------------------------------------------------------


def test_an_alert_with_its_buttons() -> None:
    leads = [
        view(1, "escalated", owner="U0ANA"),
        view(2, "late", first_touch_at=AT, first_touch_by="U0BEN"),
    ]
    alert = alert_message(
        Alert("U0ANA", leads, ZONE, note="Escalated to the lead", mentions=("U0BEN",))
    )
    shown = render_message(Shown("message", "C0ALERTS", alert.text, alert.blocks), names=NAMES)
    lines = lines_of(shown)
    assert lines[:3] == [
        "── #alerts · new message ──",
        "1 lead waiting for a first touch",
        "═" * 32,
    ]
    assert "  · @ben Escalated to the lead" in lines
    assert ":rotating_light: Escalated (1)" in lines
    assert "[ Contacted ]*  [ Snooze ▾ ]  [ Not a fit ▾ ]  [ Reassign ▾ ]" in lines
    assert (
        lines.count("[ Contacted ]*  [ Snooze ▾ ]  [ Not a fit ▾ ]  [ Reassign ▾ ]") == 1
    )  # handled: none
    assert "L-2 · mql-first-touch: contacted by @ben after 5h 12m business time (late)" in lines
    no_markup_left(shown)
    assert all(len(line) <= 78 for line in lines)


async def test_a_digest_keeps_its_tables(engine: AsyncEngine) -> None:
    agreement = await fill_week_10(engine)
    digest = digest_reply(await build(engine, agreement, local("2027-03-15 09:00")))
    shown = render_blocks(digest.blocks, names={"U01ANA": "ana", "U01BEN": "ben"})
    lines = lines_of(shown)
    assert lines[0] == "Weekly SLA digest · 2027-W10 (Mon 8 Mar – Sun 14 Mar 2027)"
    assert lines[1] == "═" * len(lines[0])
    assert (
        lines[2] == "  · Sales & Marketing SLA 2027 H1 · day 73 of 181 · as of Sun 14 Mar 23:59 CDT"
    )
    header = next(i for i, line in enumerate(lines) if line == "Marketing")
    assert lines[header + 1].split() == [
        "KPI",
        "week",
        "target",
        "pace",
        "vs",
        "last",
        "week",
        "to",
        "date",
        "target",
        "pace",
        "status",
    ]
    assert (
        lines[header + 5]
        == "mqls           4      21   19%    +2 (+100%)        6     216    3%  at_risk"
    )
    assert ":raised_hands: @ana → @ben: great <call>" in lines  # free text, unescaped
    assert "─" * 78 in lines
    no_markup_left(shown)
    sections = "\n".join(b["text"]["text"] for b in digest.blocks if b["type"] == "section")
    tables = {
        row
        for table in re.findall(r"```\n(.*?)\n```", sections, re.DOTALL)
        for row in table.split("\n")
    }
    assert all(len(line) <= 78 for line in lines if line not in tables)
    assert max(map(len, tables)) > 78 and tables <= set(lines)  # tables stay whole


def test_a_win_and_the_wins_reply() -> None:
    kudos = kudos_post("U0ANA", "U0BEN", "closing Acme &amp; Co")
    shown = render_message(Shown("message", "C0WINS", kudos.text, kudos.blocks), names=NAMES)
    assert lines_of(shown) == [
        "── #wins · new message ──",
        ":clap: Kudos to @ben from @ana",
        "│ closing Acme & Co",
    ]
    at = AT + timedelta(days=1)
    wins = RecentWins(
        [WonDeal("D-7", Decimal(45000), "U0ANA", at)],
        [GivenKudos("U0ANA", "U0BEN", "great call", at)],
        3,
        1,
    )
    reply = wins_reply(wins, "USD", ZONE)
    shown = render_blocks(reply.blocks, names=NAMES)
    assert lines_of(shown) == [
        "Deals won this period: 3",
        ":trophy: `D-7` 45,000 USD · @ana · Thu 04 Mar",
        "…and 2 more",
        "",
        "Kudos this period: 1",
        ":clap: @ana to @ben: great call · Thu 04 Mar",
        "  · Thank someone: `/sla kudos @user for …`",
    ]


def test_a_status_reply_wraps_within_the_width() -> None:
    status = status_reply(report(example(), 2, 2, 1))
    shown = render_message(
        Shown(
            "response", "C0ALERTS", status.text, status.blocks, public=True, origin="/sla status"
        ),
        names=NAMES,
        width=60,
    )
    lines = lines_of(shown)
    assert lines[:4] == [
        "── reply to /sla status in #alerts ──",
        "Sales & Marketing SLA 2027 H1",
        "═" * 29,
        "  · Day 62 of 181, as of Wed 03 Mar 2027 09:00 CST",
    ]
    assert "`kpi_team_0_1` 10 of 50 to date (target 100) · pace 20% ·" in lines
    assert ":red_circle: at risk" in lines  # the rest of that line, wrapped
    assert "Follow-up" in lines and "The agreement, both sides" in lines
    assert all(len(line) <= 60 or " " not in line for line in lines[1:])  # but one long word
    no_markup_left(shown)


def test_the_help_reply() -> None:
    help_ = help_reply()
    lines = lines_of(
        render_message(Shown("response", None, help_.text, help_.blocks, origin="/sla help"))
    )
    assert lines[:3] == [
        "── reply to /sla help (only you can see this) ──",
        "SLA Bot commands",
        "`/sla status [team]`  KPIs with pace, revenue, follow-up and the ledger",
    ]
    assert lines[-1] == "  · Replies are only for you; add `public` to share one with the channel."


@pytest.mark.parametrize(
    ("shown", "title"),
    [
        (Shown("message", "C0ALERTS", "hi"), "── #alerts · new message ──"),
        (Shown("message", "#progress", "hi"), "── #progress · new message ──"),
        (Shown("reply", "C0PROGRESS", "hi", thread_ts="1.1"), "── #C0PROGRESS · thread reply ──"),
        (Shown("message", "U0ANA", "hi"), "── @ana (direct message) ──"),
        (Shown("edit", "C0ALERTS", "hi"), "── #alerts · message edited ──"),
        (
            Shown("ephemeral", "C0ALERTS", "hi", user="U0BEN"),
            "── #alerts · only @ben can see this ──",
        ),
        (
            Shown("response", "C0ALERTS", "hi", origin="/sla"),
            "── reply to /sla (only you can see this) ──",
        ),
        (Shown("response", None, "hi", replaces=True), "── reply (replaces the message) ──"),
        (Shown("home", "U0ANA", user="U0ANA"), "── App Home of @ana ──"),
        (Shown("modal", None, title="Edit targets"), "── modal opened: Edit targets ──"),
        (Shown("modal", None, title="Saved", replaces=True), "── modal updated: Saved ──"),
        (
            Shown("file", "C0WINS", name="chart-funnel.png", size=12_345),
            "── file chart-funnel.png (12.3 kB) shared in #wins ──",
        ),
        (
            Shown("file", "C0WINS", name="r.md", size=900, thread_ts="1.1"),
            "── file r.md (900 B) shared in a thread of #wins ──",
        ),
    ],
)
def test_titles_say_where_it_went_and_what_it_is(shown: Shown, title: str) -> None:
    assert lines_of(render_message(shown, names=NAMES))[0] == title


def test_a_modal_shows_its_buttons_and_a_file_its_title() -> None:
    modal = owners_modal([("al@example.com", "Al")])
    shown = render_message(
        Shown("modal", None, blocks=modal["blocks"], title="Map owners to Slack", view=modal)
    )
    assert lines_of(shown)[-4:] == [
        "Al <al@example.com> (optional)",
        "  [ Slack user ▾ ]",
        "",
        "[ Cancel ]  [ Save ]*",
    ]
    file = Shown(
        "file",
        "C0WINS",
        "",
        name="funnel.png",
        title="Funnel",
        size=12_345,
        alt="stages vs targets",
    )
    assert lines_of(render_message(file, names=NAMES))[1:] == [
        "Funnel",
        "[image: stages vs targets]",
    ]


# --- watching the fake Slack -----------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def web(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.url)


async def test_watch_sees_each_visible_thing_once_in_order(slack: FakeSlack) -> None:
    seen: list[Shown] = []
    slack.watch(seen.append)
    client = web(slack)
    posted = await client.chat_postMessage(
        channel="C0ALERTS", text="alert", blocks=[{"type": "divider"}]
    )
    await client.chat_postMessage(channel="C0ALERTS", text="in thread", thread_ts=posted["ts"])
    await client.chat_update(channel="C0ALERTS", ts=posted["ts"], text="alert, handled")
    await client.chat_postEphemeral(channel="C0ALERTS", user="U0ANA", text="only you")
    await client.views_publish(user_id="U0ANA", view={"type": "home", "blocks": []})
    url = slack.response_url(channel="C0SALES", origin="/sla status")
    async with httpx.AsyncClient() as http:
        assert (
            await http.post(url, json={"text": "status", "response_type": "in_channel"})
        ).status_code == 200
    await client.files_upload_v2(
        channel="C0ALERTS", content=PNG, filename="chart.png", title="Funnel", alt_txt="stages"
    )
    assert [item.kind for item in seen] == [
        "message",
        "reply",
        "edit",
        "ephemeral",
        "home",
        "response",
        "file",
    ]
    message, reply, edit, ephemeral, home, response, file = seen
    assert (message.channel, message.text, message.blocks, message.ts) == (
        "C0ALERTS",
        "alert",
        [{"type": "divider"}],
        posted["ts"],
    )
    assert (reply.text, reply.thread_ts) == ("in thread", posted["ts"])
    assert (edit.text, edit.ts) == ("alert, handled", posted["ts"])
    assert (ephemeral.user, ephemeral.text) == ("U0ANA", "only you")
    assert (home.user, home.view) == ("U0ANA", {"type": "home", "blocks": []})
    assert (response.channel, response.origin, response.public, response.replaces) == (
        "C0SALES",
        "/sla status",
        True,
        False,
    )
    assert (file.channel, file.name, file.title, file.size, file.alt) == (
        "C0ALERTS",
        "chart.png",
        "Funnel",
        len(PNG),
        "stages",
    )
    assert render_message(file, names=NAMES).startswith(
        "── file chart.png (12.3 kB) shared in #alerts ──"
    )


async def test_watch_sees_modals_and_no_refused_or_failed_call(slack: FakeSlack) -> None:
    seen: list[Shown] = []
    slack.watch(seen.append)
    client = web(slack)
    slack.closed_channels.add("C0CLOSED")
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0CLOSED", text="nobody sees this")
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0ALERTS", text="x", blocks=[{"type": "nope"}])
    slack.inject("server_error", method="chat.postMessage", times=3)
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0ALERTS", text="lost to a 503")
    modal = owners_modal([("al@example.com", "Al")])
    opened = await client.views_open(trigger_id="1.2.3", view=modal)
    await client.views_update(
        view_id=opened["view"]["id"],
        view={**modal, "title": {"type": "plain_text", "text": "Saved"}},
    )
    assert [(s.kind, s.title, s.replaces) for s in seen] == [
        ("modal", "Map owners to Slack", False),
        ("modal", "Saved", True),
    ]


async def test_a_failing_watcher_breaks_neither_the_fake_nor_the_others(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(shown: Shown) -> None:
        raise RuntimeError("printer on fire")

    seen: list[Shown] = []
    slack.watch(broken)
    slack.watch(seen.append)
    client = web(slack)
    with caplog.at_level(logging.ERROR, logger="bot.sandbox.shown"):
        for n in range(3):
            answer = await client.chat_postMessage(channel="C0ALERTS", text=f"message {n}")
            assert answer["ok"]
    assert [s.text for s in seen] == ["message 0", "message 1", "message 2"]
    assert [
        r.exc_info[1] is not None and str(r.exc_info[1]) for r in caplog.records if r.exc_info
    ] == ["printer on fire"]  # once

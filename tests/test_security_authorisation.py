"""Who may do what, as one matrix: every changing entry point x admin, team lead, rep, member.

The rows are what `bot.permissions` and the README's "Who may do what" say. Every entry point
the bot serves must have a row: the `/sla` words that change something, every button and every
modal submission registered in `handlers/`, and the App Home event; a new one fails
`test_every_entry_point_has_a_row` until it is given one. A refused request is answered
privately with a sentence saying who may, changes no row of the store and makes Slack do
nothing else (no edit, no post, no modal but the notice).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot import commands as c
from bot.sandbox.slack_messages import Message
from handlers.commands import changing
from handlers.middleware import CHANGING_WORDS
from models.db import session_scope
from models.tables import Owner
from tests.test_security_signatures import registered_listeners
from tests.utils.agreements import example_text
from tests.utils.alerts import ADMIN, MEMBER, OWNER, TEAM_LEAD, post_alert, press, store_with_leads
from tests.utils.modals import click_on_home, text_values, user_values
from tests.utils.slack_bot import SlackBot
from tests.utils.store import snapshot

# TEAM_LEAD leads customer_success and is no admin; ADMIN is an admin and the marketing lead;
# OWNER (a sales rep) owns leads A, B and C; MEMBER is anyone else in the workspace.
ROLES = {"admin": ADMIN, "team lead": TEAM_LEAD, "rep": OWNER, "member": MEMBER}
EVERYONE = frozenset(ROLES)
EDITORS = frozenset({"admin", "team lead"})  # bot.permissions.may_edit_agreement
ON_THE_LEAD = frozenset({"admin", "team lead", "rep"})  # bot.permissions.may_act_on_lead
READING_WORDS = frozenset({"help", "status", "leads", "plan", "agreement", "wins", "report"})
LEAD_REFUSAL = (
    "Only the lead's owner or a team lead (<@U0ANA>, <@U01MKTLEAD>, <@U01SALESLEAD> or "
    "<@U01CSLEAD>) may change this lead."
)
EDIT_REFUSAL = (
    "Only the admins and team leads (<@U01MKTLEAD>, <@U01SALESLEAD> or <@U01CSLEAD>) may change "
    "the agreement."
)
V1 = '{"v": 1}'
# Web API methods that only read (Bolt asks `auth.test` once), and the private reply.
READS = frozenset({"auth.test", "users.info", "users.lookupByEmail", "response_url"})
# The claim a changing request makes so that a redelivery is not applied twice is taken before
# the listener decides (`handlers.middleware.once`); it is bookkeeping, not a change.
CLAIMS = ("slack_request",)

Send = Callable[[SlackBot, Message, str, bool], Awaitable[str]]
"""(bot, the alert posted, user, expected to be allowed) -> what the user was told, once the
bot is done."""


@dataclass(frozen=True)
class Row:
    entry: str  # `command:<word>`, `action:<action id>`, `view:<callback id>`, `event:<type>`
    allowed: frozenset[str]
    send: Send
    refusal: str = ""  # the sentence a refused person reads
    changes: bool = True  # whether an allowed request writes to the store


# --- how each entry point is used ---------------------------------------------------------------


def typed(text: str) -> Send:
    async def send(bot: SlackBot, _: Message, user: str, allowed: bool) -> str:
        sent = await bot.command(text, user=user)
        [reply] = await bot.replies(sent)
        assert reply["response_type"] == "ephemeral"
        return str(reply["text"])

    return send


def clicked_on_alert(action: str, choice: str | None = None) -> Send:
    async def send(bot: SlackBot, alert: Message, user: str, allowed: bool) -> str:
        sent = await press(bot, alert, "A", action, choice, user=user)
        if allowed:  # written, then the alert is edited in place; no private reply
            await bot.until(lambda: bot.fake.calls_to("chat.update"))
            return ""
        [reply] = await bot.replies(sent)
        assert reply["response_type"] == "ephemeral"
        return str(reply["text"])

    return send


def clicked_on_home(action: str) -> Send:
    async def send(bot: SlackBot, _: Message, user: str, allowed: bool) -> str:
        await click_on_home(bot, action, user=user)
        [view] = await bot.until(lambda: list(bot.fake.modals.values()))
        if allowed:
            assert view["callback_id"] == action.removeprefix("open_")
            return ""
        assert view["callback_id"] == "notice"  # a small modal saying why, nothing to edit
        return str(view["blocks"][0]["text"]["text"])

    return send


def submitted(callback_id: str, values: dict[str, Any], metadata: str = V1) -> Send:
    async def send(bot: SlackBot, _: Message, user: str, allowed: bool) -> str:
        sent = await bot.submit(callback_id, values, user=user, private_metadata=metadata)
        answer = sent.json()
        if answer["response_action"] == "update":
            return ""
        assert answer["response_action"] == "errors"  # the modal stays open, saying why
        [message] = answer["errors"].values()
        return str(message)

    return send


def opened_home() -> Send:
    async def send(bot: SlackBot, _: Message, user: str, allowed: bool) -> str:
        await bot.event({"type": "app_home_opened", "user": user, "tab": "home"})
        await bot.until(lambda: [user] if user in bot.fake.home else [])
        return ""

    return send


MATRIX = [
    # /sla words that change something (handlers/commands/changing.py)
    Row(
        "command:log",
        EDITORS,  # churned_customers is customer_success's metric: its lead, or an admin
        typed("log churned_customers 2"),
        "Only the customer_success lead or an admin (<@U01CSLEAD>, <@U01MKTLEAD> or "
        "<@U01SALESLEAD>) may log churned_customers.",
    ),
    Row(
        "command:log",
        frozenset({"admin"}),  # visits is marketing's: the customer_success lead may not
        typed("log visits 1200"),
        "Only the marketing lead or an admin (<@U01MKTLEAD> or <@U01SALESLEAD>) may log visits.",
    ),
    Row("command:ack", ON_THE_LEAD, typed("ack A"), LEAD_REFUSAL),
    Row("command:snooze", ON_THE_LEAD, typed("snooze A 2h"), LEAD_REFUSAL),
    Row("command:away", EVERYONE, typed("away until 2027-03-12")),  # one's own away period
    Row("command:kudos", EVERYONE, typed("kudos <@U0BEN|ben> for the quick follow-up")),
    # an alert's buttons (handlers/actions/leads.py)
    Row("action:lead_contacted", ON_THE_LEAD, clicked_on_alert("lead_contacted"), LEAD_REFUSAL),
    Row("action:lead_snooze", ON_THE_LEAD, clicked_on_alert("lead_snooze", "4h"), LEAD_REFUSAL),
    Row(
        "action:lead_not_a_fit",
        ON_THE_LEAD,
        clicked_on_alert("lead_not_a_fit", "duplicate"),
        LEAD_REFUSAL,
    ),
    Row(
        "action:lead_reassign",
        ON_THE_LEAD,
        clicked_on_alert("lead_reassign", "U0BEN"),
        LEAD_REFUSAL,
    ),
    # the App Home's buttons that open the modals (handlers/actions/modals.py)
    *(
        Row(f"action:{opener}", EDITORS, clicked_on_home(opener), EDIT_REFUSAL, changes=False)
        for opener in ("open_edit_targets", "open_revise_agreement", "open_map_owners")
    ),
    # the modals' submissions (handlers/views/)
    Row(
        "view:edit_targets",
        EDITORS,
        submitted("edit_targets", text_values({"revenue_goal": "1300000"})),
        EDIT_REFUSAL,
    ),
    Row(
        "view:revise_agreement",
        EDITORS,
        submitted(
            "revise_agreement",
            text_values({"agreement": example_text().replace("1200000", "1250000")}),
        ),
        EDIT_REFUSAL,
    ),
    Row(
        "view:map_owners",
        EDITORS,
        submitted("map_owners", user_values({"owner/bo@example.com": "U0BO"}), ""),
        EDIT_REFUSAL,
    ),
    # the App Home: everyone sees their own dashboard; it reads only
    Row("event:app_home_opened", EVERYONE, opened_home(), changes=False),
]
CASES = [
    pytest.param(row, role, id=f"{row.entry}[{n}]-{role}")
    for n, row in enumerate(MATRIX)
    for role in ROLES
]


# --- the matrix covers every entry point ----------------------------------------------------------


def test_every_entry_point_has_a_row() -> None:
    served = {f"{kind}:{name}" for kind, name in registered_listeners() if kind != "command"}
    served |= {f"command:{word}" for word in CHANGING_WORDS}
    assert {row.entry for row in MATRIX} == served


def test_every_word_is_either_reading_or_in_the_matrix() -> None:
    assert set(c.WORDS) == READING_WORDS | CHANGING_WORDS
    assert not READING_WORDS & CHANGING_WORDS
    # The handlers of changing words are the public coroutines of handlers/commands/changing.py.
    handlers = {
        name
        for name, function in inspect.getmembers(changing, inspect.iscoroutinefunction)
        if not name.startswith("_") and function.__module__ == changing.__name__
    }
    assert handlers == {"log_metric", "ack", "snooze", "away", "kudos"}
    assert len(handlers) == len(CHANGING_WORDS)


# --- the matrix -----------------------------------------------------------------------------------


async def prepared(bot: SlackBot) -> Message:
    """Leads A, B, C of the rep's, breached or due soon, and their alert in the channel; a CRM
    owner with no Slack user."""
    await store_with_leads(bot)
    async with session_scope(bot.engine) as session:
        session.add(Owner(source="crm", external_id="9", email="bo@example.com", name="Bo"))
    return await post_alert(bot)


def slack_did(bot: SlackBot, since: int) -> list[str]:
    """What the fake Slack was asked to do since call `since`, but private answers to the user."""
    done = []
    for call in bot.fake.calls[since:]:
        if call.method in READS:
            continue
        if call.method == "views.open" and "notice" in str(call.args.get("view")):
            continue
        done.append(call.method)
    return done


@pytest.mark.parametrize(("row", "role"), CASES)
async def test_who_may_do_what(slack_bot: SlackBot, row: Row, role: str) -> None:
    alert = await prepared(slack_bot)
    before = await snapshot(slack_bot.engine, leave_out=CLAIMS)
    since = len(slack_bot.fake.calls)
    allowed = role in row.allowed

    told = await row.send(slack_bot, alert, ROLES[role], allowed)

    after = await snapshot(slack_bot.engine, leave_out=CLAIMS)
    if allowed:
        assert not told.startswith("Only "), told
        if row.changes:
            assert after != before, "allowed, but nothing was written"
        return
    assert told.startswith(row.refusal), told  # who may, in a sentence
    assert after == before, "refused, but the store changed"
    assert slack_did(slack_bot, since) == [], "refused, but Slack was asked to act"

"""What people type in Slack, fuzzed: always a result or a clear message, never a traceback.

- `/sla` text: a typed command or `CommandError`; and a changing command is always claimed
  once (`handlers.middleware.request_key`), so a redelivery cannot apply it twice.
- the signed HTTP route: any `/sla` text gets 200 and a reply, never a 500 or "went wrong".
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import commands as c
from bot.request_kind import SLA_WORDS, request_kind
from handlers.middleware import request_key
from tests.utils.alerts import ADMIN, MEMBER, OWNER, TEAM_LEAD
from tests.utils.fuzz import FUZZ, TEXT, LiveBot

# --- /sla text ------------------------------------------------------------------------------------

CHANGING = (c.Log, c.Ack, c.Snooze, c.Away, c.Kudos)
# fmt: off
ARGUMENT_WORDS = [
    "public", "PUBLIC", "until", "mine", "breached", "due", "all", "A", "L-1001", "sheet:L-1001",
    "visits", "Visits", "churned_customers", "4h", "1d30m", "0m", "99999999999999999999d",
    "2027-03-12", "9999-12-31", "0001-01-01", "2027-02-30", "<@U0ANA|ana>", "<@W1>", "<@U0ANA",
    "@ana", "1e308", "1e999", "-0", "nan", "-inf", "1_000", "١٢٣", "1,200", "$5", "12%",
    "\u212audos", "ʟog",
]
# fmt: on
ARGUMENTS = st.one_of(
    st.sampled_from(ARGUMENT_WORDS),
    st.from_regex(r"[0-9]{1,30}[dhm]{0,2}", fullmatch=True),
    TEXT,
)
# str.split() splits on these too: what Slack delivers may hold any of them.
SEPARATORS = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u3000", "\x1c", "\u2028", "\x85"])


@st.composite
def slash_texts(draw: st.DrawFn) -> str:
    """A word of `/sla` (in any case, maybe after `public`) and any arguments."""
    word = draw(st.sampled_from([*c.WORDS, "", "kudo", "stauts"]))
    word = draw(st.sampled_from([word, word.upper(), word.title()]))
    parts = (["public"] if draw(st.booleans()) else []) + [word]
    parts += draw(st.lists(ARGUMENTS, max_size=6))
    separators = draw(st.lists(SEPARATORS, min_size=len(parts), max_size=len(parts)))
    return "".join(sep + part for sep, part in zip(separators, parts, strict=True))


@FUZZ
@given(st.one_of(slash_texts(), TEXT))
@example("snooze A 99999999999999999999d")
@example("away until 9999-12-31")
@example("log visits 1e308 0001-01-01")
@example("\u212audos <@U0ANA> thanks")
def test_any_sla_text_is_a_command_or_says_what_is_wrong(text: str) -> None:
    body = {"command": "/sla", "text": text, "trigger_id": "1.2.3"}
    assert request_kind(body).removeprefix("command:") in SLA_WORDS | {"other"}  # bounded
    problem: c.CommandError | None = None
    try:
        command: c.Command | None = c.parse(text)
    except c.CommandError as error:  # any other exception fails the test
        command, problem = None, error
    if problem is not None:
        assert problem.message.strip() and len(problem.message) <= 600
        assert problem.word is None or problem.word in c.WORDS
        return
    assert isinstance(command, c.Command)
    # A changing command must be claimed by its trigger, or a redelivery applies it twice.
    assert (request_key(body) is not None) == isinstance(command, CHANGING), command


# --- the signed HTTP route ------------------------------------------------------------------------

ROLES = [ADMIN, TEAM_LEAD, OWNER, MEMBER]
FAILED = "Something went wrong on my side"


@pytest.fixture(scope="module")
def live_bot(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    path = tmp_path_factory.mktemp("fuzz-bot") / "slabot.db"
    shutil.copy(sqlite_template, path)
    bot = LiveBot(f"sqlite:///{path}")
    yield bot
    bot.close()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(slash_texts(), TEXT), user=st.sampled_from(ROLES))
@example(text="snooze A 99999999999999999999d", user=ADMIN)
@example(text="snooze A 3650d", user=OWNER)
@example(text="away until 9999-12-31", user=MEMBER)
@example(text="log visits 1e308 0001-01-01", user=ADMIN)
@example(text="kudos <@U0BEN> " + "x" * 3000, user=MEMBER)
@example(text="leads mine public", user=OWNER)
def test_any_text_through_the_signed_route_gets_a_reply(
    live_bot: LiveBot, text: str, user: str
) -> None:
    status, reply = live_bot.say(text, user)
    assert status == 200
    assert str(reply.get("text") or "").strip(), reply
    assert FAILED not in reply["text"], (text, reply["text"])


# --- what the fuzzing found, kept as plain cases -------------------------------------------------


def test_commands_that_failed_on_my_side_now_say_what_is_wrong(live_bot: LiveBot) -> None:
    _, snoozed = live_bot.say("snooze A 3650d", OWNER)
    assert snoozed["text"].startswith("DURATION: `3650d` is longer than a snooze may be")
    _, away = live_bot.say("away until 9999-12-31", MEMBER)
    assert away["text"] == "The end of an away period must be before 9999-12-31."

"""`bot.commands.parse`: every `/sla` word, its mistakes, and a fuzz that it only ever says why."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import commands as c
from models.durations import Duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", c.Help(False)),
        ("public", c.Help(True)),
        ("help log", c.Help(False, "log")),
        ("status", c.Status(False)),
        ("Status Sales public", c.Status(True, "sales")),
        ("public status", c.Status(True)),
        ("leads", c.Leads(False)),
        ("leads mine", c.Leads(False, "mine")),
        ("leads BREACHED public", c.Leads(True, "breached")),
        ("leads due", c.Leads(False, "due")),
        ("plan", c.ShowPlan(False)),
        ("agreement public", c.ShowAgreement(True)),
        ("wins", c.Wins(False)),
        ("report", c.Report(False)),
        ("kudos <@U0ANA|ana> for the demo", c.Kudos(False, "U0ANA", "for the demo")),
        ("kudos <@W0ANA> thanks public", c.Kudos(True, "W0ANA", "thanks")),
        ("kudos <@U0ANA> for the public talk", c.Kudos(False, "U0ANA", "for the public talk")),
        ("public kudos <@U0ANA> a public talk", c.Kudos(True, "U0ANA", "a public talk")),
        ("log visits 1200", c.Log(False, "visits", 1200.0)),
        ("log Visits -0.5 2027-03-01", c.Log(False, "visits", -0.5, date(2027, 3, 1))),
        ("ack L-1001", c.Ack(False, "L-1001")),
        ("ack sheet:L-1001 public", c.Ack(True, "sheet:L-1001")),
        ("snooze L-1001 4h", c.Snooze(False, "L-1001", Duration(0, 240))),
        ("snooze L-1001 1D30M", c.Snooze(False, "L-1001", Duration(1, 30))),
        ("away", c.Away(False)),
        ("away until 2027-03-12", c.Away(False, date(2027, 3, 12))),
        ("away 2027-03-12", c.Away(False, date(2027, 3, 12))),
    ],
)
def test_every_word(text: str, expected: c.Command) -> None:
    assert c.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "word", "show_help"),
    [
        ("stauts", "I don't know `/sla stauts`; did you mean `/sla status`?", None, True),
        ("xyzzy", "I don't know `/sla xyzzy`.", None, True),
        ("help lgo", "There is no command `lgo`; did you mean `log`?", None, True),
        ("leads all", "`all` is not a list of leads. Choose mine, breached, due, or nothing for "
         "every open lead.", "leads", False),
        ("plan 2027", "Write `/sla plan`; got `plan 2027`", "plan", False),
        ("log visits", "Write `/sla log METRIC VALUE [DATE]`; got `log visits`", "log", False),
        ("log visits $5", "VALUE: '$5' is not a number; write digits only, e.g. 1200 or 0.5 (no "
         "thousands separators, currency signs or %)", "log", False),
        ("log visits nan", "VALUE: 'nan' is not a finite number", "log", False),
        ("log visits 1 2027-13-01", "DATE: `2027-13-01` is not a date (month must be in "
         "1..12); write YYYY-MM-DD", "log", False),
        ("log visits 1 tomorrow", "DATE: `tomorrow` is not a date; write YYYY-MM-DD, e.g. "
         "2027-03-01", "log", False),
        ("snooze L-1 soon", "DURATION: 'soon' is not a duration; write a number with m, h or d, "
         "e.g. 30m, 4h, 2d or 1h30m", "snooze", False),
        ("snooze L-1", "Write `/sla snooze LEAD DURATION`; got `snooze L-1`", "snooze", False),
        ("kudos", "Write `/sla kudos @user text`; got `kudos` alone", "kudos", False),
        ("kudos ana thanks", "`ana` is not a person; start with @ and pick them from the list",
         None, False),
        ("away next week", "Write `/sla away` (until you say you are back) or `/sla away until "
         "YYYY-MM-DD`", "away", False),
    ],
)  # fmt: skip
def test_each_mistake_gets_its_exact_message(
    text: str, message: str, word: str | None, show_help: bool
) -> None:
    with pytest.raises(c.CommandError) as caught:
        c.parse(text)
    assert caught.value.message == message
    assert caught.value.word == word
    assert caught.value.show_help is show_help


def test_an_unknown_team_lists_the_teams() -> None:
    teams = ["marketing", "sales", "customer_success"]
    assert c.unknown_team("sale", teams) == (
        "There is no team `sale`; did you mean `sales`? "
        "The teams are `marketing`, `sales`, `customer_success`."
    )
    assert c.unknown_team("ops", teams) == (
        "There is no team `ops`. The teams are `marketing`, `sales`, `customer_success`."
    )


def test_a_pasted_essay_is_not_echoed_whole() -> None:
    with pytest.raises(c.CommandError) as caught:
        c.parse("x" * 5000)
    assert len(caught.value.message) < 200


WORDS = st.sampled_from([*c.WORDS, "public", "until", "mine", "due", "<@U1|a>", "@a", "4h"])
TOKENS = st.one_of(WORDS, st.text(max_size=30), st.from_regex(r"-?\d{1,6}(\.\d+)?", fullmatch=True))


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(TOKENS, max_size=8).map(" ".join)))
def test_the_parser_only_ever_raises_its_own_error_with_a_message(text: str) -> None:
    problem: c.CommandError | None = None
    try:
        command: c.Command | None = c.parse(text)
    except c.CommandError as error:  # anything else fails the test
        command, problem = None, error
    if problem is None:
        assert isinstance(command, c.Command)
        return
    assert problem.message.strip()
    assert len(problem.message) <= 600
    assert problem.word is None or problem.word in c.WORDS


def test_the_manifest_declares_every_word_and_the_scopes_the_commands_use() -> None:
    from ruamel.yaml import YAML

    from tests.conftest import EXAMPLES

    manifest = YAML(typ="safe").load((EXAMPLES.parent / "manifest.yml").read_text())
    [sla] = manifest["features"]["slash_commands"]
    assert sla["command"] == "/sla"
    assert sla["should_escape"] is True  # mentions arrive as <@U…|name>, which kudos reads
    hint = sla["usage_hint"]
    for usage in c.WORDS.values():
        assert usage.syntax in hint
    assert {"commands", "chat:write"} <= set(manifest["oauth_config"]["scopes"]["bot"])

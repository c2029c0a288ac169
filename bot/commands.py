"""The `/sla` words as typed commands: a pure parser with an exact message for each mistake."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.actions import ActionError
from bot.manual import parse_value
from models.durations import Duration, parse_duration


@dataclass(frozen=True)
class Usage:
    """How a word is written and what it does, for help and for error messages."""

    syntax: str
    summary: str
    example: str


# The one list of words: help, the error messages and the manifest's usage hint follow it.
WORDS: dict[str, Usage] = {
    "status": Usage(
        "status [team]", "KPIs with pace, revenue, follow-up and the ledger", "status sales"
    ),
    "leads": Usage("leads [mine|breached|due]", "open leads by nearest deadline", "leads breached"),
    "plan": Usage("plan", "the reverse funnel: targets per stage", "plan"),
    "agreement": Usage(
        "agreement", "the agreement in force, its version and days left", "agreement"
    ),
    "wins": Usage("wins", "recent won deals and kudos", "wins"),
    "kudos": Usage(
        "kudos @user text", "thank someone in the wins channel", "kudos @ana for the demo"
    ),
    "log": Usage("log METRIC VALUE [DATE]", "record a day's value by hand", "log visits 1200"),
    "ack": Usage("ack LEAD", "record the first touch of a lead", "ack L-1001"),
    "snooze": Usage(
        "snooze LEAD DURATION", "mute a lead's alerts (business time)", "snooze L-1001 4h"
    ),
    "away": Usage(
        "away [until DATE]", "send your leads' alerts to your team lead", "away until 2027-03-12"
    ),
    "report": Usage("report", "both sides' promises for the period to date", "report"),
    "help": Usage("help [word]", "this list", "help log"),
}
PUBLIC = "public"
# The longest snooze: a year of business days. Longer ones run past the ten years of business
# calendar the clock lays out; an alert muted for that long wants `/sla away` or a disqualify.
MAX_SNOOZE_DAYS = 365
LEAD_FILTERS = ("mine", "breached", "due")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


Parser = Callable[[list[str], bool], "Command"]


class CommandError(ValueError):
    """What is wrong with the typed text, in a sentence fit for an ephemeral reply."""

    def __init__(self, message: str, *, word: str | None = None, show_help: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.word = word  # the command it is about, so the reply can show its usage
        self.show_help = show_help  # an unknown word: the reply lists every command


@dataclass(frozen=True)
class Command:
    """A parsed `/sla` request; `public` replies in the channel instead of ephemerally."""

    public: bool


@dataclass(frozen=True)
class Help(Command):
    word: str | None = None


@dataclass(frozen=True)
class Status(Command):
    team: str | None = None


@dataclass(frozen=True)
class Leads(Command):
    which: Literal["all", "mine", "breached", "due"] = "all"


@dataclass(frozen=True)
class ShowPlan(Command):
    pass


@dataclass(frozen=True)
class ShowAgreement(Command):
    pass


@dataclass(frozen=True)
class Wins(Command):
    pass


@dataclass(frozen=True)
class Report(Command):
    pass


@dataclass(frozen=True)
class Kudos(Command):
    user: str
    text: str


@dataclass(frozen=True)
class Log(Command):
    metric: str
    value: float
    day: date | None = None


@dataclass(frozen=True)
class Ack(Command):
    lead: str


@dataclass(frozen=True)
class Snooze(Command):
    lead: str
    duration: Duration


@dataclass(frozen=True)
class Away(Command):
    until: date | None = None


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` was most likely meant to be, if any is close enough."""
    found = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[str], *, prefix: str = "") -> str:
    """`; did you mean `X`?` when one choice is close, else `.`: the end of a sentence."""
    match = closest(word, choices)
    return f"; did you mean `{prefix}{match}`?" if match else "."


def unknown_team(team: str, teams: Iterable[str]) -> str:
    """The reply to `status TEAM` with a team the agreement does not have."""
    names = list(teams)
    listed = ", ".join(f"`{name}`" for name in names)
    return f"There is no team `{_shown(team)}`{did_you_mean(team, names)} The teams are {listed}."


def parse_date(text: str, *, word: str | None = None) -> date:
    """An ISO date `YYYY-MM-DD`; the error says what is wrong with it."""
    match = _DATE.match(text)
    if not match:
        raise CommandError(
            f"DATE: `{_shown(text)}` is not a date; write YYYY-MM-DD, e.g. 2027-03-01", word=word
        )
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise CommandError(
            f"DATE: `{text}` is not a date ({exc}); write YYYY-MM-DD", word=word
        ) from None


def parse_mention(text: str) -> str:
    """The Slack user id of a mention as Slack sends it (`<@U123|ana>` or `<@U123>`)."""
    match = _MENTION.match(text)
    if match:
        return match.group(1)
    if text.startswith("@"):
        raise CommandError(
            f"I can't tell who `{text}` is: pick the person from the @ autocomplete "
            "so Slack sends their user id",
            word="kudos",
        )
    raise CommandError(f"`{text}` is not a person; start with @ and pick them from the list")


def parse(text: str) -> Command:
    """The command `text` (what follows `/sla`) asks for; raise `CommandError` otherwise."""
    words = text.split()
    leading = 0
    while leading < len(words) and words[leading].lower() == PUBLIC:
        leading += 1
    public, words = leading > 0, words[leading:]
    if words and words[0].lower() == "kudos":
        # Kudos text is free: only a trailing `public` is the flag, a word inside stays text.
        if len(words) > 1 and words[-1].lower() == PUBLIC:
            public, words = True, words[:-1]
    else:
        public = public or any(word.lower() == PUBLIC for word in words)
        words = [word for word in words if word.lower() != PUBLIC]
    if not words:
        return Help(public)
    word, args = words[0].lower(), words[1:]
    parser = _PARSERS.get(word)
    if parser is None:
        raise CommandError(
            f"I don't know `/sla {_shown(words[0])}`{did_you_mean(words[0], WORDS, prefix='/sla ')}",
            show_help=True,
        )
    return parser(args, public)


def _shown(word: str) -> str:
    """A word of the user's, cut so that a pasted essay does not fill the reply."""
    return word if len(word) <= 40 else word[:39] + "…"


def _short(message: str) -> str:
    return message if len(message) <= 400 else message[:399] + "…"


def _count(word: str, args: list[str], most: int, least: int = 0) -> None:
    if not least <= len(args) <= most:
        usage = WORDS[word].syntax
        got = " ".join(_shown(arg) for arg in args[:6]) + (" …" if len(args) > 6 else "")
        raise CommandError(
            f"Write `/sla {usage}`; got " + (f"`{word} {got}`" if args else f"`{word}` alone"),
            word=word,
        )


def _help(args: list[str], public: bool) -> Command:
    _count("help", args, 1)
    if args and args[0].lower() not in WORDS:
        raise CommandError(
            f"There is no command `{_shown(args[0])}`{did_you_mean(args[0], WORDS)}",
            show_help=True,
        )
    return Help(public, args[0].lower() if args else None)


def _status(args: list[str], public: bool) -> Command:
    _count("status", args, 1)
    return Status(public, args[0].lower() if args else None)


def _leads(args: list[str], public: bool) -> Command:
    _count("leads", args, 1)
    if not args:
        return Leads(public)
    which = args[0].lower()
    if which == "mine":
        return Leads(public, "mine")
    if which == "breached":
        return Leads(public, "breached")
    if which == "due":
        return Leads(public, "due")
    raise CommandError(
        f"`{_shown(args[0])}` is not a list of leads{did_you_mean(which, LEAD_FILTERS, prefix='leads ')} "
        f"Choose {', '.join(LEAD_FILTERS)}, or nothing for every open lead.",
        word="leads",
    )


def _plain(kind: type[Command], word: str) -> Parser:
    def parse_word(args: list[str], public: bool) -> Command:
        _count(word, args, 0)
        return kind(public)

    return parse_word


def _kudos(args: list[str], public: bool) -> Command:
    _count("kudos", args, 10_000, least=1)
    user = parse_mention(args[0])
    text = " ".join(args[1:]).strip()
    if not text:
        raise CommandError(
            "Say what the kudos are for, e.g. `/sla kudos @ana for the demo`", word="kudos"
        )
    return Kudos(public, user, text)


def _log(args: list[str], public: bool) -> Command:
    _count("log", args, 3, least=2)
    metric = args[0].lower()
    try:
        value = parse_value(args[1])
    except ActionError as exc:
        raise CommandError(_short(f"VALUE: {exc}"), word="log") from None
    day = parse_date(args[2], word="log") if len(args) == 3 else None
    return Log(public, metric, value, day)


def _ack(args: list[str], public: bool) -> Command:
    _count("ack", args, 1, least=1)
    return Ack(public, args[0])


def _snooze(args: list[str], public: bool) -> Command:
    _count("snooze", args, 2, least=2)
    try:
        duration = parse_duration(args[1].lower())
    except ValueError as exc:
        raise CommandError(_short(f"DURATION: {exc}"), word="snooze") from None
    # A business day is at most 24 hours, so this bounds hours and minutes written alone too.
    if duration.total_minutes(24 * 60) > MAX_SNOOZE_DAYS * 24 * 60:
        raise CommandError(
            f"DURATION: `{_shown(args[1])}` is longer than a snooze may be; snooze for at most "
            f"{MAX_SNOOZE_DAYS}d (business days), e.g. 4h or 2d",
            word="snooze",
        )
    return Snooze(public, args[0], duration)


def _away(args: list[str], public: bool) -> Command:
    _count("away", args, 2)
    if not args:
        return Away(public)
    if args[0].lower() != "until":
        if len(args) == 1 and _DATE.match(args[0]):
            return Away(
                public, parse_date(args[0], word="away")
            )  # `away 2027-03-12` means the same
        raise CommandError(
            "Write `/sla away` (until you say you are back) or `/sla away until YYYY-MM-DD`",
            word="away",
        )
    if len(args) != 2:
        raise CommandError("Say until when: `/sla away until YYYY-MM-DD`", word="away")
    return Away(public, parse_date(args[1], word="away"))


_PARSERS: dict[str, Parser] = {
    "help": _help,
    "status": _status,
    "leads": _leads,
    "plan": _plain(ShowPlan, "plan"),
    "agreement": _plain(ShowAgreement, "agreement"),
    "wins": _plain(Wins, "wins"),
    "report": _plain(Report, "report"),
    "kudos": _kudos,
    "log": _log,
    "ack": _ack,
    "snooze": _snooze,
    "away": _away,
}

"""What people type and upload, fuzzed: always a result or a clear message, never a traceback.

- `/sla` text: a typed command or `CommandError`; and a changing command is always claimed
  once (`handlers.middleware.request_key`), so a redelivery cannot apply it twice.
- agreement YAML (made up, and the example mutated): an `Agreement` or `AgreementError`, each
  problem with its file and line.
- CSV files (rows and raw bytes): records, or `BadRow`s and `CsvFileError`s naming the line.
- the signed HTTP route: any `/sla` text gets 200 and a reply, never a 500 or "went wrong".
"""

from __future__ import annotations

import asyncio
import math
import shutil
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import commands as c
from bot.request_kind import SLA_WORDS, request_kind
from bot.sandbox.slack import FakeSlack
from handlers.middleware import request_key
from models.agreement import Agreement
from models.agreement_loader import AgreementError, parse_agreement
from models.db import create_engine
from models.ingest import DealRecord, LeadStageRecord, MetricRecord
from scheduler.sources.csv_files import (
    BadRow,
    CsvFileError,
    read_deals,
    read_leads,
    read_metrics,
)
from tests.utils.agreements import example_text
from tests.utils.alerts import ADMIN, MEMBER, OWNER, TEAM_LEAD, store_with_leads
from tests.utils.commands import AT as BOT_AT
from tests.utils.slack_bot import SlackBot, settings_for

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T = TypeVar("T")
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=14)  # no lone surrogates

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


# --- agreement YAML ------------------------------------------------------------------------------

KEYS = [
    "name", "period", "start", "end", "timezone", "currency", "revenue_goal",
    "average_deal_size", "teams", "sales", "lead", "channel", "funnel", "stage", "team", "rate",
    "kpis", "id", "metric", "per", "target", "every", "business_hours", "days", "holidays",
    "country", "subdivision", "extra", "followup", "within", "warn_before", "escalate_after",
    "escalate_to", "remind_every", "channels", "progress", "alerts", "wins", "schedule",
    "weekly_digest", "monthly_report", "check_every", "sync_every", "admins", "sources", "kind",
    "path", "stages", "<<", "? [a, b]", "1", "'quoted key'", "x" * 60,
]  # fmt: skip
# fmt: off
SCALAR_WORDS = [
    "0.25", "1", "1.5", "-1", "0", "1e400", ".inf", "-.inf", ".nan", "null", "~", "true", "no",
    "2027-01-01", "2027-02-30", "9999-12-31", "0001-01-01", "4h", "0m", "99999999999d", "08:00",
    "25:00", "America/Chicago", "Mars/Olympus", "US", "XX", "[]", "{}", "''", '"\\u0000"',
    "!!binary aGk=", "!!python/object:os.system x", "!!set {a, b}", "!custom 3", "*a", "*b",
    "&a x", "[a, [b, {c: d}]]", "{a: *a}", "[*a, *a, *a]", "'open", '"open', "|", ">-", "- x",
    "<= 0.02", "metrics_csv", "hubspot", "{leads: lead}", "[mon, tue]", "data/x.csv", "\t",
    "# comment",
]
# fmt: on
SCALARS = st.one_of(
    st.sampled_from(SCALAR_WORDS),
    TEXT,
)


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """Lines shaped like an agreement's: keys, list items, anchors, aliases, merges, tags."""
    lines = []
    for _ in range(draw(st.integers(0, 14))):
        indent = " " * draw(st.sampled_from([0, 0, 2, 4, 3, 6]))
        item = draw(st.sampled_from(["", "", "- "]))
        key = draw(st.sampled_from(KEYS))
        anchor = draw(st.sampled_from(["", "", " &a", " &b"]))
        value = draw(st.sampled_from(["", draw(SCALARS)]))
        lines.append(f"{indent}{item}{key}:{anchor} {value}".rstrip())
    return "\n".join(lines)


EXAMPLE_LINES = example_text().splitlines()


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    """The example agreement with a few lines deleted, doubled, moved, re-indented or edited."""
    lines = list(EXAMPLE_LINES)
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(0, len(lines) - 1))
        line = lines[n]
        change = draw(
            st.sampled_from(["delete", "double", "indent", "dedent", "value", "insert", "swap"])
        )
        if change == "delete":
            del lines[n]
        elif change == "double":
            lines.insert(n, line)
        elif change == "indent":
            lines[n] = "  " + line
        elif change == "dedent":
            lines[n] = line.lstrip()
        elif change == "value" and ":" in line:
            key, _, _ = line.partition(":")
            lines[n] = f"{key}: {draw(SCALARS)}"
        elif change == "insert":
            at = draw(st.integers(0, len(line)))
            lines[n] = line[:at] + draw(TEXT) + line[at:]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[n], lines[other] = lines[other], lines[n]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def nested(depth: int) -> str:
    return "funnel: " + "[" * depth + "]" * depth


def aliases_multiplying(levels: int) -> str:
    """Each level an alias list of the level before: small text, huge once expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines)


def check_loaded(text: str) -> None:
    """`text` is an Agreement, or refused with each problem on a line of the file."""
    refused: AgreementError | None = None
    try:
        agreement: Agreement | None = parse_agreement(text, file="fuzz.yaml")
    except AgreementError as error:  # any other exception fails the test
        agreement, refused = None, error
    if refused is not None:
        assert refused.file == "fuzz.yaml" and refused.problems
        last_line = text.count("\n") + 2  # a problem at the end of the text may be one past it
        for problem in refused.problems:
            assert problem.message.strip()
            assert problem.line is not None and 1 <= problem.line <= last_line, problem
        head, *details = str(refused).splitlines()
        assert head.startswith("fuzz.yaml: the agreement was not accepted")
        assert all(line.startswith("  fuzz.yaml:") for line in details), details
        return
    assert isinstance(agreement, Agreement)


@FUZZ
@given(yaml_texts())
@example("&x {name: *x}")  # an alias inside the mapping it names
@example("base: &b {start: 2027-01-01}\nperiod:\n  <<: *b\n  end: 2027-06-30")  # a merge key
@example(nested(3000))
@example("- " * 2000 + "x")
@example(aliases_multiplying(8))
def test_made_up_yaml_is_refused_with_lines(text: str) -> None:
    check_loaded(text)


@FUZZ
@given(mutated_examples())
def test_a_mutated_example_is_read_or_refused_with_lines(text: str) -> None:
    check_loaded(text)


# --- CSV files ------------------------------------------------------------------------------------

STAGES = ["visits", "leads", "mqls", "sqls", "proposals", "customers"]
READERS: dict[str, Callable[[Path], Iterator[Any]]] = {
    "metrics": lambda path: read_metrics(path, teams=["marketing", "sales"]),
    "leads": lambda path: read_leads(path, stages=STAGES),
    "deals": read_deals,
}
DATES = ["2027-01-04", "2027-02-30", "9999-12-31", "0001-01-01", "２０２７-01-04", "2027-1-4"]
INSTANTS = [
    "2027-01-04T09:15:00-06:00", "2027-01-04T09:15:00Z", "2027-01-04 09:15", "2027-01-04",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2027-01-04T09:15:00+23:59",
    "2027-01-04T25:00:00Z", "2027-01-04T09:15:00",
]  # fmt: skip
NUMBERS = ["182", "-3", "0.5", ".5", "1e3", "1e308", "1e999", "-1e999", "nan", "inf", "١٢٣", "1,2"]
AMOUNTS = ["30000", "30000.12", "30000.12345", "-1", "1" * 16, "1" * 20, "1e3", "0"]
EMAILS = ["ana@example.com", "ANA@Example.com", "not-an-email", "a@b", "@x.io"]
NAMES = ["visits", "Visits", "mqls", "churned_customers", "1visits", "vis-its", "marketing", "ops"]
COLUMNS = {  # each column's plausible values, good and bad, by reader, in header order
    "metrics": {"date": DATES, "metric": NAMES, "value": NUMBERS, "team": ["", *NAMES]},
    "leads": {
        "id": ["L-1001", "L-1002", "sheet:L-1"],
        "owner_email": ["", *EMAILS],
        "stage": [*STAGES, "MQLS", "mql", "won"],
        "entered_at": INSTANTS,
        "first_touch_at": ["", *INSTANTS],
        "disqualified_at": ["", *INSTANTS],
        "reason": ["", "duplicate", "Not_A_Fit", "spam"],
    },
    "deals": {
        "id": ["D-1", "D-2", " D-1 "],
        "owner_email": ["", *EMAILS],
        "amount": AMOUNTS,
        "stage": ["", "closedwon", "lost"],
        "created_at": INSTANTS,
        "closed_won_at": ["", *INSTANTS],
    },
}
HEADERS = {kind: ",".join(columns) for kind, columns in COLUMNS.items()}
ODD_CELLS = st.one_of(
    st.sampled_from(['"a,b"', '"open', '""', "\x00", "\ufeff", " padded ", "\u2028", "a\rb"]),
    TEXT.filter(lambda cell: "\n" not in cell),
)


@st.composite
def csv_rows(draw: st.DrawFn, kind: str) -> list[str]:
    """A row of `kind`: each column a plausible value (good or bad) or an odd one; sometimes a
    value short or one too many."""
    row = [
        draw(st.one_of(st.sampled_from(values), ODD_CELLS) if draw(st.integers(0, 5)) == 0
             else st.sampled_from(values))
        for values in COLUMNS[kind].values()
    ]  # fmt: skip
    cut = draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
    return row[:cut] if cut < 0 else row + [draw(ODD_CELLS)] * cut


def check_read(kind: str, path: Path) -> None:
    """Every item a record with sane values or a bad row on a line of the file; or the file
    refused, naming it."""
    lines = path.read_bytes().count(b"\n") + 1
    refused: CsvFileError | None = None
    try:
        items = list(READERS[kind](path))
    except CsvFileError as error:  # any other exception fails the test
        items, refused = [], error
    if refused is not None:
        assert str(refused).startswith((f"{path}:", f"{path} "))
        assert refused.message.strip()
        assert refused.line is None or 1 <= refused.line <= lines
        return
    for item in items:
        if isinstance(item, BadRow):
            assert 2 <= item.line <= lines and item.field and item.message.strip()
            assert item.render(str(path)).startswith(f"{path}:{item.line}: ")
        elif isinstance(item, MetricRecord):
            assert math.isfinite(item.value), item
        elif isinstance(item, DealRecord):
            assert item.amount.is_finite() and Decimal(0) <= item.amount < Decimal(10) ** 16
            assert all(_aware(t) for t in (item.created_at, item.closed_won_at))
        else:
            assert isinstance(item, LeadStageRecord)
            assert all(_aware(t) for t in (item.entered_at, item.first_touch_at))


def _aware(instant: datetime | None) -> bool:
    return instant is None or instant.utcoffset() is not None


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-csv")


def written(folder: Path, content: bytes) -> Path:
    path = folder / f"{uuid.uuid4().hex[:8]}.csv"
    path.write_bytes(content)
    return path


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, str]:
    """(kind, the file's text): its header and up to eight rows."""
    kind = draw(st.sampled_from(sorted(READERS)))
    rows = draw(st.lists(csv_rows(kind), max_size=8))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    bom = "\ufeff" if draw(st.booleans()) else ""
    return kind, bom + ending.join([HEADERS[kind], *(",".join(row) for row in rows)]) + ending


def leads_file(**changes: str) -> tuple[str, str]:
    row = {column: values[0] for column, values in COLUMNS["leads"].items()} | changes
    return "leads", f"{HEADERS['leads']}\n{','.join(row.values())}\n"


@FUZZ
@given(csv_files())
@example(leads_file(entered_at="0001-01-01T00:00:00+01:00"))
@example(leads_file(first_touch_at="9999-12-31T23:59:59-01:00"))
@example(("metrics", "date,metric,value\n2027-01-04,visits,1e999\n"))
@example(
    (
        "deals",
        "id,owner_email,amount,stage,created_at,closed_won_at\nD-1,,1,,0001-01-01T00:00:00+00:01,\n",
    )
)
def test_csv_rows_become_records_or_bad_rows(csv_folder: Path, file: tuple[str, str]) -> None:
    kind, text = file
    check_read(kind, written(csv_folder, text.encode()))


@FUZZ
@given(
    kind=st.sampled_from(sorted(READERS)),
    header=st.booleans(),
    content=st.binary(max_size=200),
)
def test_csv_bytes_become_records_bad_rows_or_a_file_error(
    csv_folder: Path, kind: str, header: bool, content: bytes
) -> None:
    head = (HEADERS[kind] + "\n").encode() if header else b""
    check_read(kind, written(csv_folder, head + content))


# --- the signed HTTP route ------------------------------------------------------------------------

ROLES = [ADMIN, TEAM_LEAD, OWNER, MEMBER]
FAILED = "Something went wrong on my side"


class LiveBot:
    """The real listener on a SQLite store, served by an event loop in a thread of its own, so
    a (synchronous) hypothesis test can send it one request after another."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeSlack().start()
        self.engine = self.run(self._engine(database_url))
        settings_ = settings_for(database_url, self.fake)
        self.bot = SlackBot(fake=self.fake, engine=self.engine, settings=settings_, at=BOT_AT)
        self.run(self.bot.start())
        self.run(store_with_leads(self.bot))

    @staticmethod
    async def _engine(url: str) -> AsyncEngine:
        return create_engine(url)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    def say(self, text: str, user: str) -> tuple[int, dict[str, Any]]:
        """`/sla text` by `user`: the HTTP status and the reply (in the ack, or sent after it)."""
        return self.run(self._say(text, user))

    async def _say(self, text: str, user: str) -> tuple[int, dict[str, Any]]:
        sent = await self.bot.command(text, user=user)
        if sent.status != 200 or (sent.json() or {}).get("text"):
            return sent.status, sent.json() or {}
        [reply] = await self.bot.replies(sent)
        return sent.status, reply

    def close(self) -> None:
        self.run(self.bot.stop())
        self.run(self.engine.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.fake.stop()


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


@pytest.mark.parametrize(
    ("text", "line", "path", "message"),
    [
        ("&x {name: *x}", 1, "name", "this alias (*name) stands for a mapping or list that contains it"),
        (nested(3000), 1, "", "nested more than 64 levels deep"),
        ("name: x\n? {a: 1}\n: b", 2, "", "a key must be a name such as 'currency', not a list"),
        (aliases_multiplying(8), 5, "a4", "the aliases (*name) make this more than 100,000 values"),
    ],
)  # fmt: skip
def test_yaml_that_broke_the_loader_is_refused_with_its_line(
    text: str, line: int, path: str, message: str
) -> None:
    with pytest.raises(AgreementError) as caught:
        parse_agreement(text, file="fuzz.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.path) == (line, path)
    assert problem.message.startswith(message)


def test_keys_merged_from_an_anchor_are_read_and_located() -> None:
    period = "period: {start: 2027-01-01, end: 2027-06-30}"
    merged = example_text().replace(period, "base: &p {start: 2027-01-01, end: 2027-06-30}\n")
    base = parse_agreement(example_text())
    assert parse_agreement(merged.replace("base: &p", "period: &p")) == base
    wrong = merged.replace("end: 2027-06-30}", "end: 2027-06-31}") + "period:\n  <<: *p\n"
    with pytest.raises(AgreementError) as caught:
        parse_agreement(wrong, file="fuzz.yaml")
    lines = {p.path: p.line for p in caught.value.problems}
    assert lines["period.end"] == wrong.splitlines().index("period:") + 1  # where it is merged


def test_an_anchor_defined_twice_is_valid_yaml_and_says_nothing() -> None:
    text = example_text().replace("currency: USD", "currency: &c EUR\nx: &c USD", 1)
    with pytest.raises(AgreementError) as caught:  # `x` is unknown; no warning is raised
        parse_agreement(text, file="fuzz.yaml")
    assert [p.path for p in caught.value.problems] == ["x"]


@pytest.mark.parametrize(
    ("file", "field", "message"),
    [
        (leads_file(entered_at="0001-01-01T00:00:00+01:00"), "entered_at",
         "'0001-01-01T00:00:00+01:00' is outside the years 0001 to 9999 in UTC"),
        (("metrics", "date,metric,value\n2027-01-04,visits,1e999\n"), "value",
         "'1e999' is too large a number; e.g. 182 or 0.5"),
    ],
)  # fmt: skip
def test_csv_values_that_broke_the_readers_are_bad_rows(
    csv_folder: Path, file: tuple[str, str], field: str, message: str
) -> None:
    kind, text = file
    [bad] = list(READERS[kind](written(csv_folder, text.encode())))
    assert bad == BadRow(2, field, message)


def test_commands_that_failed_on_my_side_now_say_what_is_wrong(live_bot: LiveBot) -> None:
    _, snoozed = live_bot.say("snooze A 3650d", OWNER)
    assert snoozed["text"].startswith("DURATION: `3650d` is longer than a snooze may be")
    _, away = live_bot.say("away until 9999-12-31", MEMBER)
    assert away["text"] == "The end of an away period must be before 9999-12-31."

"""Agreement YAML, fuzzed: made up, or the example mutated, it is read as an `Agreement` or
refused with an `AgreementError` naming each problem's file and line; never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from models.agreement import Agreement
from models.agreement_loader import AgreementError, parse_agreement
from tests.utils.agreements import example_text
from tests.utils.fuzz import FUZZ, TEXT

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


# A key written twice whose value is a list holding itself: the duplicate's search looped.
SELF_LIST_TWICE = "name: x\nschedule:\n  monthly_report: &a [*a, *a]\n  monthly_report: &a [*a]\n"


@FUZZ
@given(yaml_texts())
@example("&x {name: *x}")  # an alias inside the mapping it names
@example("base: &b {start: 2027-01-01}\nperiod:\n  <<: *b\n  end: 2027-06-30")  # a merge key
@example(nested(3000))
@example("- " * 2000 + "x")
@example(aliases_multiplying(8))
@example(SELF_LIST_TWICE)
def test_made_up_yaml_is_refused_with_lines(text: str) -> None:
    check_loaded(text)


@FUZZ
@given(mutated_examples())
def test_a_mutated_example_is_read_or_refused_with_lines(text: str) -> None:
    check_loaded(text)


# --- what the fuzzing found, kept as plain cases -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "path", "message"),
    [
        ("&x {name: *x}", 1, "name", "this alias (*name) stands for a mapping or list that contains it"),
        (nested(3000), 1, "", "nested more than 64 levels deep"),
        ("name: x\n? {a: 1}\n: b", 2, "", "a key must be a name such as 'currency', not a list"),
        (aliases_multiplying(8), 5, "a4", "the aliases (*name) make this more than 100,000 values"),
        (SELF_LIST_TWICE, 4, "schedule.monthly_report", "duplicate key 'monthly_report': it is already on line 3"),
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

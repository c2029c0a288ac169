"""The `/sla` Block Kit builders: valid blocks by slack_sdk's models, within limits at any size."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.blocks.agreement import agreement_reply
from bot.blocks.common import HEADER_TEXT, MESSAGE_BLOCKS, SECTION_TEXT, Reply
from bot.blocks.help import help_reply, notice, problem_reply
from bot.blocks.leads import leads_reply
from bot.blocks.listing import listed
from bot.blocks.plan import plan_reply
from bot.blocks.status import report_reply, status_reply
from bot.blocks.wins import kudos_post, wins_reply
from bot.commands import CommandError
from bot.followup import Compliance
from bot.funnel import reverse_funnel
from bot.kpis import KpiResult, Window
from bot.lead_list import LeadList, OpenLead
from bot.ledger import LedgerLine
from bot.period import period_progress
from bot.status import RuleStatus, SourceAge, StatusReport, UnmatchedOwner
from bot.wins import GivenKudos, RecentWins, WonDeal
from models.agreement import Agreement
from models.tables import AgreementVersion
from tests.utils.store import example

AT = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)


def valid(reply: Reply) -> Reply:
    """Every block parses into slack_sdk's model and passes its validation; the message fits."""
    assert reply.text.strip(), "every message needs a text fallback"
    assert len(reply.blocks) <= MESSAGE_BLOCKS
    for block in reply.blocks:
        model = Block.parse(block)
        assert model is not None, f"not a block type slack_sdk knows: {block}"
        model.validate_json()
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_TEXT
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT
    return reply


def kpi(team: str, n: int) -> KpiResult:
    return KpiResult(f"kpi_{team}_{n}", team, "stage", n * 10, n * 100, n * 50, 0.2, "at_risk")


def report(agreement: Agreement, teams: int, kpis: int, lines: int) -> StatusReport:
    names = [f"team_{t}" for t in range(teams)]
    compliance = Compliance("mql-first-touch", 0.95, 28, 22, 6, 22 / 28, 1, -5)
    return StatusReport(
        at=AT,
        agreement=agreement,
        window=Window(date(2027, 1, 1), date(2027, 3, 3)),
        teams={name: [kpi(name, n) for n in range(kpis)] for name in names},
        revenue=KpiResult(
            "revenue", "sales", "revenue", 117500.0, 1.2e6, 411050.0, 0.29, "at_risk"
        ),
        followup=[
            RuleStatus(
                "mql-first-touch",
                "mqls",
                compliance,
                {"pending": 1, "due_soon": 0, "breached": 2, "escalated": 3, "snoozed": 0},
                4,
                AT + timedelta(hours=4),
                Decimal("2893.20"),
            )
        ],
        ledger=[
            LedgerLine(
                names[i % teams], "sales", f"promise {i} " + "x" * 80, 0.5, 0.3, "broken", "k"
            )
            for i in range(lines)
        ],
        sources=[SourceAge(f"source_{i}", AT, None, i % 2 == 0) for i in range(30)],
        unmatched_owners=[UnmatchedOwner(f"rep{i}@example.com", None) for i in range(25)],
    )


def text_of(reply: Reply) -> str:
    parts = [reply.text]
    for block in reply.blocks:
        for part in [
            block.get("text"),
            *(block.get("elements") or []),
            *(block.get("fields") or []),
        ]:
            if isinstance(part, dict):
                parts.append(str(part.get("text")))
    return "\n".join(parts)


def test_status_of_a_normal_agreement() -> None:
    reply = valid(status_reply(report(example(), 3, 5, 9)))
    shown = text_of(reply)
    assert "*Team 0*" in shown
    assert "`kpi_team_0_1` 10 of 50 to date (target 100) · pace 20% · :red_circle: at risk" in shown
    assert "78.6% on time (22/28, target 95%) · error budget overspent by 5 (1 allowed)" in shown
    assert (
        "open: 1 pending, 2 breached, 3 escalated · 4 breach by Wed 13:00 unless touched" in shown
    )
    assert "2,893 USD at risk" in shown
    assert "No Slack user for: rep0@example.com" in shown and "and 15 more" in shown


@pytest.mark.parametrize("teams", [40, 100])
def test_status_with_many_teams_and_a_long_ledger_stays_within_limits(teams: int) -> None:
    reply = valid(status_reply(report(example(), teams, 60, 400)))
    shown = text_of(reply)
    assert "…and 25 more" in shown  # each team's KPIs and the ledger are cut at whole lines
    if teams > 44:
        assert len(reply.blocks) == MESSAGE_BLOCKS
        assert f"…and {teams - 43} more teams: ask `/sla status TEAM`" in shown


def test_report_with_100_teams_stays_within_limits() -> None:
    reply = valid(report_reply(report(example(), 100, 60, 400)))
    assert "promises kept" in reply.text


def open_lead(n: int) -> OpenLead:
    return OpenLead(
        f"L-{n:05d}",
        "mql-first-touch",
        "breached",
        "U0ANA00001",
        AT,
        timedelta(hours=3, minutes=20),
    )


def test_5000_leads_are_cut_with_the_number_left() -> None:
    shown = [open_lead(n) for n in range(5000)]
    reply = valid(leads_reply(LeadList("all", shown, 5000), example().zone))
    lines = reply.blocks[1]["text"]["text"].splitlines()
    assert lines[0].startswith(
        "`L-00000` :red_circle: breached · <@U0ANA00001> · deadline Wed 03 Mar 09:00"
    )
    assert "waited 3h 20m business time" in lines[0]
    assert lines[-1] == f"…and {5000 - (len(lines) - 1)} more"


def test_leads_not_loaded_are_counted_in_the_more_line() -> None:
    reply = valid(leads_reply(LeadList("due", [open_lead(1), open_lead(2)], 900), example().zone))
    assert reply.blocks[1]["text"]["text"].splitlines()[-1] == "…and 898 more"
    assert reply.text == "Leads due soon: 900, nearest deadline first."


@pytest.mark.parametrize("hidden", [0, 3])
def test_listed_keeps_whole_lines_and_counts_the_rest(hidden: int) -> None:
    lines = ["x" * 10] * 5
    assert listed(lines, hidden, limit=1000).splitlines()[-1] == (
        "…and 3 more" if hidden else "x" * 10
    )
    cut = listed(lines, hidden, limit=40)
    assert len(cut) <= 40
    assert cut.splitlines()[-1] == f"…and {5 - len(cut.splitlines()) + 1 + hidden} more"


def test_plan() -> None:
    agreement = example()
    reply = valid(plan_reply(reverse_funnel(agreement), agreement, date(2027, 3, 3)))
    shown = text_of(reply)
    assert "*leads* (marketing, 2%): 2,134 for the period · 366 in Mar 2027" in shown
    assert "1,200,000 USD goal / 30,000 average deal = 40 customers" in shown


def test_a_plan_of_200_stages_stays_within_limits() -> None:
    data: dict[str, Any] = example().model_dump(mode="json")
    data["funnel"] = [{"stage": "s0", "team": "marketing"}] + [
        {"stage": f"s{n}", "team": "sales", "rate": 0.99} for n in range(1, 200)
    ]
    data["kpis"], data["followup"] = [], []
    agreement = Agreement.model_validate(data)
    valid(plan_reply(reverse_funnel(agreement), agreement, date(2027, 3, 3)))


def version_of(agreement: Agreement) -> AgreementVersion:
    return AgreementVersion(
        version=3,
        name=agreement.name,
        content_hash="x",
        document={},
        source_text="",
        file="f",
        period_start=agreement.period.start,
        period_end=agreement.period.end,
        timezone=agreement.timezone,
        applied_at=AT,
        applied_by="U01MKTLEAD",
    )


@pytest.mark.parametrize(
    ("today", "said"),
    [
        (date(2026, 12, 1), "starts 2027-01-01 (181 days)"),
        (date(2027, 3, 3), "120 of 181 days left"),
        (date(2027, 7, 1), "ended 2027-06-30: time to revise it"),
    ],
)
def test_agreement(today: date, said: str) -> None:
    agreement = example()
    days = period_progress(agreement.period.start, agreement.period.end, today)
    reply = valid(agreement_reply(version_of(agreement), agreement, days))
    assert reply.text == f"Sales & Marketing SLA 2027 H1, version 3: {said}."


def test_an_agreement_of_40_teams_stays_within_limits() -> None:
    data: dict[str, Any] = example().model_dump(mode="json")
    data["teams"] = {f"team_{n}": {"lead": f"U0LEAD{n:04d}", "channel": "C01X"} for n in range(40)}
    data["teams"].update(example().model_dump(mode="json")["teams"])
    data["admins"] = [f"U0ADMIN{n:04d}" for n in range(100)]
    agreement = Agreement.model_validate(data)
    days = period_progress(agreement.period.start, agreement.period.end, date(2027, 3, 3))
    valid(agreement_reply(version_of(agreement), agreement, days))


def test_wins_with_long_kudos_stay_within_limits() -> None:
    wins = RecentWins(
        deals=[WonDeal(f"D-{n}", Decimal(30000), "ana@example.com", AT) for n in range(10)],
        kudos=[GivenKudos("U0A", "U0B", "thanks " * 500, AT) for _ in range(10)],
        deals_won=300,
        kudos_given=12,
    )
    reply = valid(wins_reply(wins, "USD", example().zone))
    shown = text_of(reply)
    assert ":trophy: `D-0` 30,000 USD · ana@example.com · Wed 03 Mar" in shown
    assert "…and 290 more" in shown
    assert reply.text == "Wins this period: 300 deals won, 12 kudos."


def test_no_wins_yet() -> None:
    reply = valid(wins_reply(RecentWins([], [], 0, 0), "USD", example().zone))
    assert reply.text.startswith("No wins yet this period.")


def test_kudos_post_help_and_problems() -> None:
    valid(kudos_post("U0A", "U0B", "x" * 4000))
    valid(help_reply())
    valid(help_reply("log"))
    valid(problem_reply(CommandError("I don't know `/sla x`.", show_help=True)))
    valid(problem_reply(CommandError("bad", word="snooze")))
    valid(notice("done", icon=":white_check_mark:"))

"""The App Home builder alone: Slack's limits hold whatever the size of the data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.blocks.home import home_view, kpi_line, no_agreement_home
from bot.followup import Compliance
from bot.home import Home
from bot.kpis import KpiResult, Window
from bot.lead_views import LeadView
from bot.status import RuleStatus, SourceAge, StatusReport, UnmatchedOwner
from models.tables import Win
from tests.utils.block_models import texts, valid_view
from tests.utils.store import example

AT = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)


def kpi(name: str, kind: str = "stage", status: str = "behind") -> KpiResult:
    return KpiResult(name, "sales", kind, 45, 200, 60, 0.75, status)  # type: ignore[arg-type]


def home(teams: int, kpis: int, rules: int, leads: int, sources: int, *, edit: bool) -> Home:
    long = "x" * 200
    report = StatusReport(
        at=AT,
        agreement=example(),
        window=Window(date(2027, 1, 1), date(2027, 3, 3)),
        teams={
            f"team_{t}_{long}": [kpi(f"kpi_{k}_{long}") for k in range(kpis)] for t in range(teams)
        },
        revenue=KpiResult(
            "revenue", "everyone", "revenue", 117500.0, 1200000.0, 400000.0, 0.29, "at_risk"
        ),
        followup=[
            RuleStatus(
                rule=f"rule-{r}-{long}",
                stage="mqls",
                compliance=Compliance(f"rule-{r}", 0.95, 28, 22, 6, 22 / 28, 1, -5),
                open={"pending": 1, "due_soon": 0, "breached": 2, "escalated": 2, "snoozed": 0},
                breaching_next=0,
                horizon=AT,
                revenue_at_risk=Decimal(0),
            )
            for r in range(rules)
        ],
        ledger=[],
        sources=[
            SourceAge(f"source_{s}_{long}", AT - timedelta(hours=1), None, s % 2 == 0)
            for s in range(sources)
        ],
        unmatched_owners=[UnmatchedOwner(f"p{n}@example.com", None) for n in range(3)],
    )
    views = [
        LeadView(
            n,
            "sheet",
            f"L-{n}-{long}",
            "mql-first-touch",
            "breached",
            "U0ANA",
            AT,
            timedelta(hours=5),
        )
        for n in range(min(leads, 10))
    ]
    wins = [Win(key=f"w{n}", kind="deal", title=f"Deal {n} {long}", at=AT) for n in range(5)]
    return Home("U0ANA", report, views, leads, wins, may_edit=edit)


@pytest.mark.parametrize(
    ("teams", "kpis", "rules", "leads", "sources"),
    [(1, 1, 0, 0, 0), (3, 12, 1, 3, 3), (97, 5, 3, 10, 5), (500, 60, 80, 100_000, 400)],
)
def test_the_home_stays_within_slack_limits(
    teams: int, kpis: int, rules: int, leads: int, sources: int
) -> None:
    for edit in (False, True):
        view = home_view(home(teams, kpis, rules, leads, sources, edit=edit))
        valid_view(view)
        assert view["type"] == "home"


def test_teams_beyond_the_room_are_counted() -> None:
    view = home_view(home(500, 2, 1, 3, 3, edit=True))
    assert len(view["blocks"]) == 100
    shown = texts(view["blocks"])
    assert "more teams: `/sla status TEAM`." in shown
    assert "*Your open leads* (3)" in shown  # what follows the teams is never pushed out
    assert "Data as of:" in shown


def test_kpi_lines_read_as_people_write_them() -> None:
    assert (
        kpi_line(kpi("mqls"))
        == "• *mqls*: 45 of 60 to date (target 200) · pace 75% :large_yellow_circle: behind"
    )
    rate = KpiResult("sqls_rate", "sales", "rate", 0.321, 0.5, 0.5, 0.642, "at_risk")
    assert kpi_line(rate) == "• *sqls_rate*: 32.1% (target 50.0%) · pace 64% :red_circle: at risk"


def test_the_home_without_an_agreement_is_valid() -> None:
    valid_view(no_agreement_home())

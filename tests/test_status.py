"""`status`: KPIs by team, revenue, follow-up and the two-sided ledger, on a real store."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.check import refresh_all_deadlines
from bot.followup import Compliance
from bot.kpis import KpiResult
from bot.ledger import from_compliance, ledger, partner
from bot.status import build_status, status_json
from models.agreement_loader import parse_agreement
from models.db import session_scope
from tests.conftest import CLI, EXAMPLES
from tests.utils.store import example, local, mql, store_agreement, store_leads

AT = "2027-03-10T16:00:00-06:00"


def test_status_json_after_syncing_the_examples(cli: CLI) -> None:
    assert cli("agreement", "apply", str(EXAMPLES / "agreement.yaml")).code == 0
    assert cli("sync", "--at", AT).code == 0
    result = cli("status", "--json", "--at", AT)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["at"] == "2027-03-10T22:00:00+00:00"
    assert data["agreement"] == "Sales & Marketing SLA 2027 H1"
    assert [t["team"] for t in data["teams"]] == ["marketing", "sales", "customer_success"]
    marketing = {k["id"]: k for k in data["teams"][0]["kpis"]}
    assert list(marketing) == ["visits", "leads", "leads_rate", "mqls", "mqls_rate"]
    for kpi in marketing.values():
        assert set(kpi) >= {"id", "actual", "target_to_date", "target", "pace", "status"}
    assert marketing["mqls"]["target"] == 534
    # 69 of 181 days gone: ceil(534 * 69 / 181) MQLs due by now.
    assert marketing["mqls"]["target_to_date"] == 204
    assert data["revenue"]["won"] == 117500.0
    assert data["revenue"]["goal"] == 1200000.0
    assert data["revenue"]["status"] == "at_risk"
    (rule,) = data["followup"]
    assert (rule["rule"], rule["due"], rule["met"]) == ("mql-first-touch", 28, 22)
    assert rule["open"]["escalated"] == 2
    ledger_lines = {line["promise"]: line for line in data["ledger"]}
    handover = ledger_lines["hand over mqls to sales"]
    assert (handover["team"], handover["to"], handover["target"], handover["actual"]) == (
        "marketing",
        "sales",
        204,
        28,
    )
    touch = ledger_lines["touch 95% of mqls within 4h (mql-first-touch)"]
    assert (touch["team"], touch["to"], touch["status"]) == ("sales", "marketing", "behind")
    for line in data["ledger"]:
        assert set(line) >= {"team", "promise", "target", "actual", "status"}
    assert set(data["data_as_of"]) == {"traffic", "sheet", "deals"}
    assert data["stale_sources"] == []


def test_status_text_and_team_filter(cli: CLI) -> None:
    assert cli("agreement", "apply", str(EXAMPLES / "agreement.yaml")).code == 0
    text = cli("status", "--at", AT)
    assert text.code == 0, text.err
    assert "day 69 of 181" in text.out and "The agreement, both sides" in text.out
    assert "Stale" in text.out  # nothing synced yet
    sales = json.loads(cli("status", "--json", "--team", "sales", "--at", AT).out)
    assert [t["team"] for t in sales["teams"]] == ["sales"]
    assert {line["team"] for line in sales["ledger"]} == {"sales"}
    bad = cli("status", "--team", "finance")
    assert bad.code == 2 and "marketing, sales, customer_success" in bad.err


def test_status_before_the_period_and_without_agreement(cli: CLI) -> None:
    assert cli("status").code == 1
    assert cli("agreement", "apply", str(EXAMPLES / "agreement.yaml")).code == 0
    data = json.loads(cli("status", "--json", "--at", "2026-12-15T12:00:00+00:00").out)
    statuses = {k["status"] for t in data["teams"] for k in t["kpis"]}
    assert statuses == {"not_started"}
    assert data["revenue"]["won"] == 0


async def test_revenue_at_risk_follows_breached_leads(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    await store_leads(engine, [mql(f"L{i}", "2027-03-08 09:00") for i in range(10)])
    at = local("2027-03-10 12:00")
    async with session_scope(engine) as session:
        await refresh_all_deadlines(session, agreement, at=at)
    async with session_scope(engine) as session:
        report = await build_status(session, agreement, at=at)
    (rule,) = report.followup
    assert rule.open["escalated"] == 10
    # No sqls/proposals/customers observed: the agreed rates stand in (0.5 * 0.5 * 0.3).
    assert rule.revenue_at_risk == Decimal(10) * Decimal("0.075") * Decimal(30000)
    assert status_json(report)["followup"][0]["revenue_at_risk"] == 22500.0


def _kpi(id: str, team: str, status: str, actual: float = 1.0, target: float = 1.0) -> KpiResult:
    return KpiResult(id, team, "stage", actual, target, target, 1.0, status)


def test_partners_and_compliance_status() -> None:
    a = example()
    assert partner(a, "marketing") == "sales"
    assert partner(a, "sales") == "marketing"
    assert partner(a, "customer_success") == "everyone"

    def c(due: int, met: int) -> Compliance:
        from bot.followup import compliance_of

        return compliance_of(a.followup[0], due=due, met=met)

    assert from_compliance(c(0, 0)) == "no_data"
    assert from_compliance(c(20, 19)) == "kept"  # one miss, one allowed
    assert from_compliance(c(20, 18)) == "behind"
    assert from_compliance(c(20, 16)) == "behind"  # 80% >= 80% of 95%
    assert from_compliance(c(20, 15)) == "broken"  # 75% < 76%
    assert from_compliance(c(100, 70)) == "broken"


def test_ledger_of_a_three_party_agreement() -> None:
    text = (EXAMPLES / "agreement.yaml").read_text()
    agreement = parse_agreement(
        text.replace("{stage: customers, team: sales", "{stage: customers, team: customer_success"),
        base_dir=EXAMPLES,
    )
    kpis = {
        "marketing": [_kpi("mqls", "marketing", "on_track")],
        "sales": [
            _kpi("proposals", "sales", "behind"),
            _kpi("proposals_rate", "sales", "at_risk", actual=0.1, target=0.5),
        ],
        "customer_success": [_kpi("customers_rate", "customer_success", "no_data")],
    }
    revenue = KpiResult("revenue", "customer_success", "revenue", 10.0, 100.0, 50.0, 0.2, "at_risk")
    lines = ledger(agreement, kpis=kpis, revenue=revenue, compliance={})
    promises = [(line.team, line.promise, line.to, line.status) for line in lines]
    assert ("marketing", "hand over mqls to sales", "sales", "kept") in promises
    assert (
        "sales",
        "hand over proposals to customer_success",
        "customer_success",
        "behind",
    ) in promises
    assert ("sales", "turn 50% of sqls into proposals", "customer_success", "broken") in promises
    assert ("customer_success", "win 1,200,000 USD by 2027-06-30", "everyone", "broken") in promises
    assert [line.team for line in lines] == sorted(
        (line.team for line in lines), key=["marketing", "sales", "customer_success"].index
    )


@pytest.mark.parametrize("team", ["marketing", "sales"])
async def test_build_status_for_one_team(engine: AsyncEngine, team: str) -> None:
    agreement = await store_agreement(engine)
    async with session_scope(engine) as session:
        report = await build_status(session, agreement, at=local("2027-02-01 12:00"), team=team)
    assert list(report.teams) == [team]

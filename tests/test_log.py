"""`slabot log`: manual daily values, replaced by later ones with the history kept."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.actions import ActionError
from bot.manual import known_metrics, log_value, parse_value
from models.db import session_scope
from models.tables import MetricValue, MetricValueHistory
from tests.conftest import CLI, EXAMPLES
from tests.utils.store import example, local, store_agreement


def test_known_metrics_are_stages_and_kpi_metrics() -> None:
    assert known_metrics(example()) == [
        "visits",
        "leads",
        "mqls",
        "sqls",
        "proposals",
        "customers",
        "churned_customers",
        "active_customers",
    ]


@pytest.mark.parametrize("text", ["1,200", "$5", "12%", "nan", "inf", "", "ten"])
def test_values_must_be_plain_numbers(text: str) -> None:
    with pytest.raises(ActionError):
        parse_value(text)


async def test_a_later_value_replaces_the_earlier_and_keeps_history(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    day = local("2027-03-01 00:00").date()
    async with session_scope(engine) as session:
        first = await log_value(
            session,
            agreement,
            metric="visits",
            value=500,
            day=day,
            by="U0ANA",
            at=local("2027-03-01 18:00"),
        )
        assert "Logged visits = 500" in first.message and not first.replaced
    async with session_scope(engine) as session:
        second = await log_value(
            session,
            agreement,
            metric="visits",
            value=520,
            day=day,
            by="U0BEN",
            at=local("2027-03-02 09:00"),
        )
        assert second.replaced and "replacing" in second.message
    async with session_scope(engine) as session:
        same = await log_value(
            session,
            agreement,
            metric="visits",
            value=520,
            day=day,
            by="U0BEN",
            at=local("2027-03-02 10:00"),
        )
        assert "nothing changed" in same.message
        (current,) = (await session.exec(select(MetricValue))).all()
        assert (current.source, current.value, current.entered_by) == ("manual", 520, "U0BEN")
        assert current.entered_at == local("2027-03-02 09:00")
        (old,) = (await session.exec(select(MetricValueHistory))).all()
        assert (old.value, old.entered_by, old.replaced_at) == (
            500,
            "U0ANA",
            local("2027-03-02 09:00"),
        )


async def test_unknown_metric_lists_the_known_ones(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    async with session_scope(engine) as session:
        with pytest.raises(ActionError, match="visits, leads, mqls"):
            await log_value(
                session,
                agreement,
                metric="vists",
                value=1,
                day=local("2027-03-01 00:00").date(),
                by="U0",
                at=local("2027-03-01 12:00"),
            )


def test_log_cli(cli: CLI) -> None:
    assert cli("agreement", "apply", str(EXAMPLES / "agreement.yaml")).code == 0
    done = cli(
        "log",
        "visits",
        "640",
        "--date",
        "2027-03-02",
        "--by",
        "U0ANA",
        "--at",
        "2027-03-02T18:00:00-06:00",
    )
    assert done.code == 0, done.err
    assert "Logged visits = 640 for 2027-03-02" in done.out
    today = cli(
        "log",
        "churned_customers",
        "2",
        "--team",
        "customer_success",
        "--at",
        "2027-03-03T23:30:00-06:00",
    )
    assert "for 2027-03-03" in today.out  # the agreement's local date, not UTC's
    status = json.loads(cli("status", "--json", "--at", "2027-03-03T12:00:00-06:00").out)
    visits = next(k for k in status["teams"][0]["kpis"] if k["id"] == "visits")
    assert visits["actual"] == 640
    for args, fragment in [
        (("log", "vists", "1"), "the metrics you can log are visits"),
        (("log", "visits", "1,200"), "VALUE: '1,200' is not a number"),
        (("log", "visits", "5", "--date", "03/02/2027"), "--date: '03/02/2027' is not a date"),
        (("log", "visits", "5", "--team", "finance"), "unknown team 'finance'"),
    ]:
        bad = cli(*args)
        assert bad.code == 2 and fragment in bad.err, (args, bad.err)

"""The digest messages: what people read, valid Block Kit within Slack's limits at any size."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import Block
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.blocks.common import MESSAGE_BLOCKS, SECTION_TEXT
from bot.blocks.digest import digest_reply
from bot.digest import Report, WinLine
from bot.digest_markdown import markdown_report
from bot.digest_message import compose
from bot.kpis import KpiResult
from bot.ledger import LedgerLine
from bot.sandbox.block_kit import check_message
from tests.test_digest import build, fill_week_10
from tests.utils.store import local, store_agreement


def valid(blocks: list[dict[str, Any]], text: str) -> None:
    """What Slack's own models accept, and what our fake Slack enforces."""
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    check_message({"text": text, "blocks": blocks})
    assert len(blocks) <= MESSAGE_BLOCKS


def everything(blocks: list[dict[str, Any]]) -> str:
    texts = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [e["text"] for e in block.get("elements", [])]
    return "\n".join(texts)


async def test_weekly_message_reads_the_engine_numbers(engine: AsyncEngine) -> None:
    agreement = await fill_week_10(engine)
    report = await build(engine, agreement, local("2027-03-15 09:00"))
    reply = digest_reply(report)
    valid(reply.blocks, reply.text)
    assert reply.text.startswith("Weekly SLA digest · 2027-W10 (Mon 8 Mar – Sun 14 Mar 2027)")
    assert "65,000 USD won this week" in reply.text
    body = everything(reply.blocks)
    assert "*The agreement, both sides* (period to date)" in body
    assert "as of Sun 14 Mar 23:59 CDT" in body
    assert "65,000 USD won this week against its share of the goal, 46,409 USD (140%" in body
    assert "this week 33.3% on time (1/3)" in body
    assert "median first touch 3h 30m business time" in body
    assert "error budget overspent by 2 (0 allowed)" in body
    assert ":trophy: *D-2* 45,000 USD · ana@example.com" not in body  # deals have no owner here
    assert ":trophy: *D-2* 45,000 USD" in body
    assert "<@U01ANA> → <@U01BEN>: great &lt;call&gt;" in body  # free text escaped
    squeezed = " ".join(body.split())
    assert "mqls 4 21 19% +2 (+100%) 6 216 3% at_risk" in squeezed  # week, then to date
    assert "customers 2 2 100% +1 (+100%) 3 17 18% at_risk" in squeezed
    assert "Stale: traffic, sheet, deals" in body


async def test_monthly_message_and_markdown(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    report = await build(engine, agreement, local("2027-03-01 09:00"), kind="monthly")
    digest = compose(report)
    valid(digest.reply.blocks, digest.reply.text)
    body = everything(digest.reply.blocks)
    assert digest.reply.text.startswith("Monthly joint report · February 2027")
    assert "No data yet for this month" in body
    assert "*Suggested revision*\nNone" in body
    assert "*Conversion rates: observed vs agreed*" in body
    assert [c.name for c in digest.charts] == [
        "revenue-2027-02.png",
        "funnel-2027-02.png",
        "rates-2027-02.png",
    ]
    assert digest.report_name == "report-2027-02.md"
    assert digest.markdown.startswith("# Monthly joint report · February 2027\n")
    assert "![2027-02: each stage against its target](funnel-2027-02.png)" in digest.markdown
    assert "**Suggested revision**" in digest.markdown


async def test_a_week_outside_the_period(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    report = await build(engine, agreement, local("2026-12-21 09:00"))
    reply = digest_reply(report)
    valid(reply.blocks, reply.text)
    assert "2027-01-01 to 2027-06-30: this week is outside it" in reply.text
    assert all(len(chart.png) > 1000 for chart in compose(report).charts)


def huge(report: Report) -> Report:
    """40 teams with a dozen KPIs each, 1,000 wins with long titles, 400 ledger lines."""
    teams = {
        f"team_{t:02d}": [
            KpiResult(
                f"kpi_{t}_{k}", f"team_{t:02d}", "stage", 10**6 + k, 10**7, 10**6, 1.0, "on_track"
            )
            for k in range(12)
        ]
        for t in range(40)
    }
    ledger = [
        LedgerLine(f"team_{i % 40:02d}", "everyone", "promise " * 20, 10**6, 10**6, "kept", "x")
        for i in range(400)
    ]
    wins = [
        WinLine(
            "deal",
            f"D-{i} " + "x" * 200,
            Decimal(10**6 + i),
            "U01ANA",
            datetime(2027, 3, 9, tzinfo=UTC),
        )
        for i in range(1000)
    ]
    return replace(
        report,
        kpis=teams,
        wins=wins,
        status=replace(report.status, teams=teams, ledger=ledger),
    )


async def test_huge_inputs_stay_within_limits(engine: AsyncEngine) -> None:
    agreement = await fill_week_10(engine)
    for kind, at in (("weekly", "2027-03-15 09:00"), ("monthly", "2027-04-01 09:00")):
        report = huge(await build(engine, agreement, local(at), kind=kind))
        reply = digest_reply(report)
        valid(reply.blocks, reply.text)
        assert all(len(b.get("text", {}).get("text", "")) <= SECTION_TEXT for b in reply.blocks)
        body = everything(reply.blocks)
        if kind == "weekly":  # 40 team sections fit next to the 9 others
            assert len(reply.blocks) == 49 and "*Team 39*" in body
        else:  # the monthly report has 3 more: the last team section says what is left out
            assert len(reply.blocks) == MESSAGE_BLOCKS
            assert "…and 2 more teams: `slabot status` has them all" in body
        assert "…and " in body  # wins and ledger cut at whole lines
        assert markdown_report(reply, []).count("```") % 2 == 0  # code blocks stay closed

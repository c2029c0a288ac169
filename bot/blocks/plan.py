"""`/sla plan`: the reverse funnel, each stage's target for the period and for this month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.blocks.common import Reply, context, header, lines_within, section
from bot.funnel import Plan
from models.agreement import Agreement


def rate_text(rate: Decimal | None) -> str:
    if rate is None:
        return "top of the funnel"
    return f"{rate:.0%}" if rate * 100 % 1 == 0 else f"{rate:.2%}"


def plan_reply(plan: Plan, agreement: Agreement, today: date) -> Reply:
    """Every stage: team, rate from the stage above, period target and this month's share."""
    month = f"{today:%Y-%m}"
    label = f"{today:%b %Y}"
    lines = []
    for stage in plan.stages:
        share = stage.per_month.get(month)
        this_month = f" · {share:,} in {label}" if share is not None else ""
        lines.append(
            f"*{stage.stage}* ({stage.team}, {rate_text(stage.rate)}): "
            f"{stage.target:,} for the period{this_month}"
        )
    bottom = plan.stages[-1]
    basis = (
        f"{agreement.revenue_goal:,} {agreement.currency} goal / {agreement.average_deal_size:,} "
        f"average deal = {bottom.target:,} {bottom.stage}; each stage above divides by its rate, "
        "rounded up."
    )
    text = f"Plan {plan.agreement}: " + ", ".join(f"{s.stage} {s.target:,}" for s in plan.stages)
    return Reply(
        text,
        [
            header(f"Plan: {plan.agreement}"),
            context(f"{plan.start} to {plan.end}"),
            section(lines_within(lines)),
            context(basis),
        ],
    )

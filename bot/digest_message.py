"""A digest ready to post: the message, its charts, the Markdown report, and where they go.

`build_digest` is what the scheduler (and `slabot digest`) calls: it finds the agreement that
governed the reported window, reads the store at `at` and renders everything; posting it (the
outbox key is `Digest.key`) and uploading its charts are the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks.common import Reply
from bot.blocks.digest import digest_reply
from bot.digest import Report, build_report
from bot.digest_markdown import markdown_report
from bot.report_window import Kind, governing_agreement


@dataclass(frozen=True)
class Chart:
    name: str  # the file name: `funnel-2027-W10.png`
    title: str
    png: bytes


@dataclass(frozen=True)
class Digest:
    kind: Kind
    key: str  # the outbox's idempotency key: `digest:weekly:2027-W10`
    channel: str  # the agreement's progress channel
    reply: Reply
    charts: list[Chart]
    report_name: str  # the Markdown file: `report-2027-02.md`, `digest-2027-W10.md`
    markdown: str


async def build_digest(session: AsyncSession, kind: Kind, at: datetime) -> Digest | None:
    """The weekly digest or monthly report due at `at`; None when no agreement was applied.

    Reads only: the caller keeps the follow-up deadlines fresh (`bot.check.refresh_all_deadlines`)
    as for `status`."""
    governing = await governing_agreement(session, kind, at)
    if governing is None:
        return None
    agreement, _ = governing
    return compose(await build_report(session, agreement, kind, at))


def compose(report: Report) -> Digest:
    """The report rendered: Block Kit message, PNG charts and the Markdown document."""
    label = report.window.label
    reply = digest_reply(report)
    charts = [Chart(f"{name}-{label}.png", title, png) for name, title, png in _charts(report)]
    prefix = "report" if report.kind == "monthly" else "digest"
    return Digest(
        kind=report.kind,
        key=report.key,
        channel=report.agreement.channels.progress,
        reply=reply,
        charts=charts,
        report_name=f"{prefix}-{label}.md",
        markdown=markdown_report(reply, [(c.title, c.name) for c in charts]),
    )


def _charts(report: Report) -> list[tuple[str, str, bytes]]:
    """(name, title, PNG) of each chart: revenue and funnel; the monthly report adds rates."""
    # Matplotlib (about 50 MB and half a second) is loaded at the first digest, not at start:
    # a replica's first check, the heaviest thing it does (the deadline backfill), runs without.
    from bot.charts import funnel_chart, rates_chart, revenue_chart

    a, label = report.agreement, report.window.label
    order = a.stage_names
    stages = sorted(
        (kpi for team in report.kpis.values() for kpi in team if kpi.kind == "stage"),
        key=lambda kpi: order.index(kpi.id),
    )
    revenue = f"Revenue won in {a.name} against the pace to {a.revenue_goal:,} {a.currency}"
    funnel = f"{label}: each stage against its target"
    out = [
        ("revenue", revenue, revenue_chart(report.series, title=revenue, currency=a.currency)),
        ("funnel", funnel, funnel_chart(stages, title=funnel)),
    ]
    if report.kind == "monthly":
        rates = f"{label}: observed conversion rates against the agreed ones"
        out.append(("rates", rates, rates_chart(report.rates, title=rates)))
    return out


def write_files(digest: Digest, folder: Path) -> list[Path]:
    """The charts and the Markdown report written into `folder` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for chart in digest.charts:
        path = folder / chart.name
        path.write_bytes(chart.png)
        paths.append(path)
    report = folder / digest.report_name
    report.write_text(digest.markdown, encoding="utf-8")
    return [*paths, report]


def digest_json(digest: Digest, files: list[Path]) -> dict[str, Any]:
    """CONTRACT.md's `digest` shape (extra keys allowed)."""
    return {
        "kind": digest.kind,
        "key": digest.key,
        "channel": digest.channel,
        "text": digest.reply.text,
        "blocks": digest.reply.blocks,
        "files": [str(path) for path in files],
    }

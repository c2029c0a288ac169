"""Charts are real PNGs of a fixed size, the same bytes for the same numbers, empty data too."""

from __future__ import annotations

import struct
from datetime import date, timedelta

import pytest

from bot.charts import HEIGHT, WIDTH, funnel_chart, rates_chart, revenue_chart
from bot.digest import RevenueSeries
from bot.kpis import KpiResult
from bot.revision import observe_rates
from tests.utils.store import example

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a PNG must have first."""
    assert png[:8] == SIGNATURE
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def series(days: int) -> RevenueSeries:
    first = date(2027, 1, 1)
    return RevenueSeries(
        days=[first + timedelta(days=i) for i in range(days)],
        cumulative=[float(1000 * (i // 10)) for i in range(days)],
        pace=[1200000 * (i + 1) / 181 for i in range(days)],
        goal=1200000.0,
    )


def stage(id: str, actual: int, target: int, status: str) -> KpiResult:
    pace = actual / target if target else None
    return KpiResult(id, "sales", "stage", actual, target * 10, target, pace, status)


CHARTS = {
    "revenue": lambda: revenue_chart(series(73), title="Revenue", currency="USD"),
    "revenue_one_day": lambda: revenue_chart(series(1), title="Revenue", currency="USD"),
    "revenue_empty": lambda: revenue_chart(series(0), title="Revenue", currency="USD"),
    "funnel": lambda: funnel_chart(
        [
            stage("leads", 300, 100, "on_track"),
            stage("mqls", 9, 21, "at_risk"),
            stage("sqls", 0, 0, "not_started"),
        ],
        title="Funnel",
    ),
    "funnel_empty": lambda: funnel_chart([], title="Funnel"),
    "rates": lambda: rates_chart(
        observe_rates(example(), {"visits": 1000, "leads": 30, "mqls": 9, "sqls": 0}), title="Rates"
    ),
    "rates_empty": lambda: rates_chart([], title="Rates"),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_chart_is_a_png_of_the_fixed_size(name: str) -> None:
    png = CHARTS[name]()
    assert size(png) == (WIDTH, HEIGHT)
    assert png.endswith(b"IEND\xaeB`\x82")
    assert b"Software" not in png and b"Matplotlib" not in png  # no version or tool text


@pytest.mark.parametrize("name", ["revenue", "funnel", "rates"])
def test_the_same_numbers_give_the_same_bytes(name: str) -> None:
    assert CHARTS[name]() == CHARTS[name]()


def test_different_numbers_give_a_different_picture() -> None:
    assert CHARTS["revenue"]() != CHARTS["revenue_empty"]()

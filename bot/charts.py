"""Charts for the digests as PNG bytes: revenue against pace, the funnel against target, rates.

Matplotlib's Agg canvas on a `Figure` of our own (no pyplot, no GUI, no global figure state),
matplotlib's default style whatever the local matplotlibrc says, a fixed size and DPI, and no
`Software` text in the PNG, so the same numbers give the same bytes. The charts only draw what
the engine computed (`bot.digest`); an empty input still renders, saying there is no data yet.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import wraps
from typing import ParamSpec

from matplotlib import style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from bot.digest import RevenueSeries
from bot.kpis import KpiResult
from bot.revision import RateObservation

WIDTH, HEIGHT, DPI = 960, 540, 100
STYLE = {"font.family": "DejaVu Sans", "font.size": 10, "axes.titlesize": 13}
COLOURS = {"on_track": "#2e7d32", "behind": "#f9a825", "at_risk": "#c62828"}
NEUTRAL, AGREED, GOAL = "#90a4ae", "#546e7a", "#1565c0"
PACE_CAP = 1.5  # bars past 150% of target are drawn at 150% (the label keeps the true figure)
NO_DATA = "No data yet"
DATE_TICKS = 8  # about this many dates under the revenue line
P = ParamSpec("P")


def _styled(draw: Callable[P, bytes]) -> Callable[P, bytes]:
    """Draw with matplotlib's defaults and ours, whatever the local matplotlibrc says."""

    @wraps(draw)
    def styled(*args: P.args, **kwargs: P.kwargs) -> bytes:
        with style.context(["default", STYLE]):
            return draw(*args, **kwargs)

    return styled


@_styled
def revenue_chart(series: RevenueSeries, *, title: str, currency: str) -> bytes:
    """Cumulative revenue won by day against the goal's straight pace line."""
    figure, axes = _canvas(title)
    if series.days:
        days = list(range(len(series.days)))
        axes.step(days, series.cumulative, where="post", color=GOAL, linewidth=2, label="won")
        axes.plot(days, series.pace, color=AGREED, linestyle="--", label="pace to goal")
        axes.legend(loc="upper left")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.set_ylabel(currency)
        ticks = days[:: max(1, len(days) // DATE_TICKS)]
        axes.set_xticks(ticks, [f"{series.days[tick]:%b %d}" for tick in ticks])
    else:
        _empty(axes)
    return _png(figure)


@_styled
def funnel_chart(stages: Sequence[KpiResult], *, title: str) -> bytes:
    """Each stage's count as a share of its target (100% line), labelled `actual / target`."""
    figure, axes = _canvas(title)
    if not stages:
        _empty(axes)
        return _png(figure)
    names = [kpi.id for kpi in reversed(stages)]
    shares = [min(kpi.pace or 0.0, PACE_CAP) for kpi in reversed(stages)]
    colours = [COLOURS.get(kpi.status, NEUTRAL) for kpi in reversed(stages)]
    axes.barh(names, shares, color=colours)
    for row, kpi in enumerate(reversed(stages)):
        label = f"{_count(kpi.actual)} / {_count(kpi.target_to_date)}"
        axes.text(shares[row] + 0.01, row, label, va="center")
    axes.axvline(1.0, color=AGREED, linestyle="--", linewidth=1)
    axes.set_xlim(0, PACE_CAP + 0.25)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("actual as a share of target")
    return _png(figure)


@_styled
def rates_chart(rates: Sequence[RateObservation], *, title: str) -> bytes:
    """Observed conversion rates next to the agreed ones, stage by stage."""
    figure, axes = _canvas(title)
    if not rates:
        _empty(axes)
        return _png(figure)
    places = list(range(len(rates)))
    observed = [rate.observed or 0.0 for rate in rates]
    axes.bar(
        [p - 0.2 for p in places],
        [rate.agreed for rate in rates],
        0.4,
        color=AGREED,
        label="agreed",
    )
    axes.bar([p + 0.2 for p in places], observed, 0.4, color=GOAL, label="observed")
    for place, rate in zip(places, rates, strict=True):
        text = "n/a" if rate.observed is None else f"n={rate.denominator:,}"
        axes.text(place + 0.2, observed[place], text, ha="center", va="bottom", fontsize=8)
    axes.set_xticks(places, [rate.id for rate in rates])
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.legend(loc="upper right")
    return _png(figure)


def _canvas(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.grid(axis="both", alpha=0.3)
    return figure, axes


def _empty(axes: Axes) -> None:
    axes.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=axes.transAxes, fontsize=16)
    axes.set_xticks([])
    axes.set_yticks([])


def _count(value: float | int | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()

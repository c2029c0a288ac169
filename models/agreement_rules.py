"""Checks that span several fields of an agreement (references, order, consistency)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from models.agreement import Agreement, supported_countries
from models.durations import parse_duration

Loc = tuple[str | int, ...]


def check_rules(agreement: Agreement) -> list[tuple[Loc, str]]:
    """Every cross-field problem as (location, message); empty when the agreement holds together."""
    return [
        *_period(agreement),
        *_funnel(agreement),
        *_kpis(agreement),
        *_hours(agreement),
        *_followup(agreement),
        *_sources(agreement),
    ]


def _period(a: Agreement) -> Iterator[tuple[Loc, str]]:
    if a.period.end < a.period.start:
        yield (
            ("period", "end"),
            f"{a.period.end} is before the start ({a.period.start}); the end must be on or "
            "after the start (both days are included)",
        )


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _team(a: Agreement, team: str, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if team not in a.teams:
        yield (
            loc,
            f"unknown team {team!r}; the teams are {', '.join(a.teams)}"
            + _did_you_mean(team, list(a.teams)),
        )


def _funnel(a: Agreement) -> Iterator[tuple[Loc, str]]:
    seen: dict[str, int] = {}
    for index, stage in enumerate(a.funnel):
        if stage.stage in seen:
            yield (
                ("funnel", index, "stage"),
                f"stage {stage.stage!r} is already funnel[{seen[stage.stage]}]; each stage once",
            )
        seen.setdefault(stage.stage, index)
        yield from _team(a, stage.team, ("funnel", index, "team"))
        if index == 0 and stage.rate is not None:
            yield ("funnel", 0, "rate"), "the top stage has no stage above it; remove its rate"
        if index > 0 and stage.rate is None:
            above = a.funnel[index - 1].stage
            yield (
                ("funnel", index, "rate"),
                f"is required: the expected conversion from {above!r} into {stage.stage!r}, "
                "e.g. rate: 0.25",
            )


def _kpis(a: Agreement) -> Iterator[tuple[Loc, str]]:
    taken = {f"{name}_rate" for name in a.stage_names}
    seen: set[str] = set()
    for index, kpi in enumerate(a.kpis):
        if kpi.id in a.stage_names:
            yield (
                ("kpis", index, "id"),
                f"{kpi.id!r} is the funnel stage's own KPI (its count); choose another id",
            )
        elif kpi.id in taken:
            yield (
                ("kpis", index, "id"),
                f"{kpi.id!r} is the conversion-rate KPI of funnel stage "
                f"{kpi.id.removesuffix('_rate')!r}; choose another id",
            )
        elif kpi.id in seen:
            yield ("kpis", index, "id"), f"{kpi.id!r} is used twice; KPI ids must be unique"
        seen.add(kpi.id)
        yield from _team(a, kpi.team, ("kpis", index, "team"))


def _hours(a: Agreement) -> Iterator[tuple[Loc, str]]:
    hours = a.business_hours
    for index, day in enumerate(hours.days):
        if day in hours.days[:index]:
            yield ("business_hours", "days", index), f"{day!r} is listed twice; list each day once"
    if hours.closing <= hours.opening:
        yield (
            ("business_hours", "end"),
            f"{hours.end} is not after the start ({hours.start}); business hours end later "
            'the same day, e.g. start: "08:00", end: "17:00"',
        )
    if hours.holidays and hours.holidays.subdivision is not None:
        known = supported_countries().get(hours.holidays.country, [])
        subdivision = hours.holidays.subdivision
        if subdivision not in known:
            if subdivision.upper() in known:
                hint = f"; did you mean {subdivision.upper()!r}?"
            elif known:
                hint = f"; write one of its codes, e.g. {', '.join(known[:5])}"
            else:
                hint = "; it has none, so leave subdivision out"
            yield (
                ("business_hours", "holidays", "subdivision"),
                f"{subdivision!r} is not a subdivision of {hours.holidays.country} "
                f"the holidays package knows{hint}",
            )


def _followup(a: Agreement) -> Iterator[tuple[Loc, str]]:
    names: set[str] = set()
    day = max(a.business_hours.day_minutes, 1)
    for index, rule in enumerate(a.followup):
        if rule.name in names:
            yield (
                ("followup", index, "name"),
                f"{rule.name!r} is used twice; rule names must be unique",
            )
        names.add(rule.name)
        if rule.stage not in a.stage_names:
            yield (
                ("followup", index, "stage"),
                f"unknown stage {rule.stage!r}; the funnel has {', '.join(a.stage_names)}"
                + _did_you_mean(rule.stage, a.stage_names),
            )
        within = parse_duration(rule.within).total_minutes(day)
        if (
            rule.warn_before is not None
            and parse_duration(rule.warn_before).total_minutes(day) >= within
        ):
            yield (
                ("followup", index, "warn_before"),
                f"{rule.warn_before} is not shorter than within ({rule.within}); the warning "
                "comes that long before the deadline, so it must be shorter, e.g. 1h for 4h",
            )
        if (
            rule.escalate_after is not None
            and parse_duration(rule.escalate_after).total_minutes(day) < within
        ):
            yield (
                ("followup", index, "escalate_after"),
                f"{rule.escalate_after} is shorter than within ({rule.within}); escalation "
                "counts from the hand-off too, so it must be at least as long, e.g. 8h for 4h",
            )


def _sources(a: Agreement) -> Iterator[tuple[Loc, str]]:
    names: set[str] = set()
    for index, source in enumerate(a.sources):
        if source.name in names:
            yield (
                ("sources", index, "name"),
                f"{source.name!r} is used twice; source names must be unique",
            )
        names.add(source.name)
        if source.kind == "http_json" and source.team is not None and source.team not in a.teams:
            yield (
                ("sources", index, "team"),
                f"unknown team {source.team!r}; the teams are {', '.join(a.teams)}",
            )
        if source.kind == "hubspot":
            for stage in source.stages:
                if stage not in a.stage_names:
                    yield (
                        ("sources", index, "stages", stage),
                        f"unknown funnel stage {stage!r}; the funnel has "
                        f"{', '.join(a.stage_names)}" + _did_you_mean(stage, a.stage_names),
                    )

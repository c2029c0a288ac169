"""Checks that span several fields of an agreement (references, order, consistency)."""

from __future__ import annotations

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
        yield ("period", "end"), f"ends ({a.period.end}) before it starts ({a.period.start})"


def _team(a: Agreement, team: str, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if team not in a.teams:
        yield loc, f"unknown team {team!r}; the teams are {', '.join(a.teams)}"


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
                f"is required: the expected conversion from {above!r} into {stage.stage!r}",
            )


def _kpis(a: Agreement) -> Iterator[tuple[Loc, str]]:
    taken = set(a.stage_names) | {f"{name}_rate" for name in a.stage_names}
    seen: set[str] = set()
    for index, kpi in enumerate(a.kpis):
        if kpi.id in taken:
            yield ("kpis", index, "id"), f"{kpi.id!r} is already a funnel KPI; choose another id"
        elif kpi.id in seen:
            yield ("kpis", index, "id"), f"{kpi.id!r} is used twice; KPI ids must be unique"
        seen.add(kpi.id)
        yield from _team(a, kpi.team, ("kpis", index, "team"))


def _hours(a: Agreement) -> Iterator[tuple[Loc, str]]:
    hours = a.business_hours
    if len(set(hours.days)) != len(hours.days):
        yield ("business_hours", "days"), "lists a day twice"
    if hours.closing <= hours.opening:
        yield (
            ("business_hours", "end"),
            f"closes ({hours.end}) at or before it opens ({hours.start})",
        )
    if hours.holidays and hours.holidays.subdivision is not None:
        known = supported_countries().get(hours.holidays.country, [])
        if hours.holidays.subdivision not in known:
            yield (
                ("business_hours", "holidays", "subdivision"),
                f"{hours.holidays.subdivision!r} is not a subdivision of "
                f"{hours.holidays.country} the holidays package knows"
                + (f" (e.g. {', '.join(known[:5])})" if known else "; leave it out"),
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
                f"unknown stage {rule.stage!r}; the funnel has {', '.join(a.stage_names)}",
            )
        within = parse_duration(rule.within).total_minutes(day)
        if (
            rule.warn_before is not None
            and parse_duration(rule.warn_before).total_minutes(day) >= within
        ):
            yield (
                ("followup", index, "warn_before"),
                f"{rule.warn_before} must be shorter than within ({rule.within})",
            )
        if (
            rule.escalate_after is not None
            and parse_duration(rule.escalate_after).total_minutes(day) < within
        ):
            yield (
                ("followup", index, "escalate_after"),
                f"{rule.escalate_after} must not be shorter than within ({rule.within})",
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
        if source.kind == "hubspot":
            for stage in source.stages:
                if stage not in a.stage_names:
                    yield (
                        ("sources", index, "stages", stage),
                        f"unknown funnel stage {stage!r}; the funnel has {', '.join(a.stage_names)}",
                    )

"""The suggested revision: observed conversion rates against the agreed ones, and the funnel
the revenue goal would need if the observed rates held.

The rule (README, "Suggested revision"): a rate is revised when, over the period to date,
- at least `MIN_SAMPLE` (30) entries into the stage above were observed (its denominator),
- the observed rate is a conversion rate at all (above 0 and at most 1: counts by entry time
  can exceed the stage above in a short window), and
- it differs from the agreed rate by at least `MIN_RELATIVE_CHANGE` (20%) of the agreed rate.
The suggested rate is the observed one to three significant digits (what a person would write
in the YAML), and the revised targets are the reverse funnel of the agreement with those rates, so
applying the suggestion reproduces them exactly. The goal and the average deal size stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from itertools import pairwise

from bot.funnel import reverse_funnel
from models.agreement import Agreement

MIN_SAMPLE = 30
MIN_RELATIVE_CHANGE = Fraction(1, 5)
SUGGESTED_DIGITS = 3


@dataclass(frozen=True)
class RateObservation:
    """A stage's conversion from the stage above, observed against the agreed rate."""

    stage: str
    above: str
    team: str
    agreed: float
    observed: float | None
    converted: int
    denominator: int
    relative_change: float | None  # (observed - agreed) / agreed
    material: bool
    suggested: Decimal | None  # the rate to write in the agreement when material

    @property
    def id(self) -> str:
        return f"{self.stage}_rate"


@dataclass(frozen=True)
class StageRevision:
    stage: str
    team: str
    agreed: int
    revised: int
    change: int


@dataclass(frozen=True)
class Revision:
    """The material rates and every stage target they move (stages that stay are left out)."""

    rates: list[RateObservation]
    stages: list[StageRevision]


def observe_rates(agreement: Agreement, counts: Mapping[str, int]) -> list[RateObservation]:
    """Every stage's observed rate from `counts` (one window), judged by the revision rule."""
    out = []
    for upper, lower in pairwise(agreement.funnel):
        assert lower.rate is not None  # every stage below the top has one (checked on load)
        agreed = Fraction(lower.rate)
        top, converted = counts.get(upper.stage, 0), counts.get(lower.stage, 0)
        observed = Fraction(converted, top) if top else None
        change = (observed - agreed) / agreed if observed is not None else None
        material = (
            observed is not None
            and change is not None
            and top >= MIN_SAMPLE
            and 0 < observed <= 1
            and abs(change) >= MIN_RELATIVE_CHANGE
        )
        out.append(
            RateObservation(
                stage=lower.stage,
                above=upper.stage,
                team=lower.team,
                agreed=float(agreed),
                observed=None if observed is None else float(observed),
                converted=converted,
                denominator=top,
                relative_change=None if change is None else float(change),
                material=material,
                suggested=_rounded(observed) if material and observed is not None else None,
            )
        )
    return out


def suggest_revision(agreement: Agreement, observations: list[RateObservation]) -> Revision | None:
    """The reverse funnel with every material rate replaced; None when no rate is material."""
    material = {o.stage: o.suggested for o in observations if o.material and o.suggested}
    if not material:
        return None
    revised = agreement.model_copy(
        update={
            "funnel": [
                stage.model_copy(update={"rate": material[stage.stage]})
                if stage.stage in material
                else stage
                for stage in agreement.funnel
            ]
        }
    )
    stages = [
        StageRevision(old.stage, old.team, old.target, new.target, new.target - old.target)
        for old, new in zip(
            reverse_funnel(agreement).stages, reverse_funnel(revised).stages, strict=True
        )
        if new.target != old.target
    ]
    return Revision(rates=[o for o in observations if o.material], stages=stages)


def _rounded(rate: Fraction) -> Decimal:
    with localcontext() as context:
        context.prec = SUGGESTED_DIGITS
        return Decimal(rate.numerator) / Decimal(rate.denominator)

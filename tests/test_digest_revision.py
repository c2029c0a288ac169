"""The suggested-revision rule: at least 30 in the denominator and 20% off the agreed rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.funnel import reverse_funnel
from bot.revision import observe_rates, suggest_revision
from models.agreement_loader import parse_agreement
from tests.conftest import EXAMPLES
from tests.utils.store import example


@pytest.mark.parametrize(
    ("mqls", "sqls", "material"),
    [
        (30, 12, True),  # 40% against 50%: exactly 20% below
        (30, 18, True),  # 60%: exactly 20% above
        (30, 13, False),  # 43.3%: 13% below
        (29, 5, False),  # far below, but 29 MQLs are too few
        (0, 0, False),  # nothing to divide by
        (30, 40, False),  # above 100%: not a conversion rate
    ],
)
def test_materiality(mqls: int, sqls: int, material: bool) -> None:
    observed = {o.id: o for o in observe_rates(example(), {"mqls": mqls, "sqls": sqls})}
    assert observed["sqls_rate"].material is material
    assert (observed["sqls_rate"].suggested is not None) is material


def test_a_suggestion_reproduces_its_targets_when_applied() -> None:
    agreement = example()
    observations = observe_rates(agreement, {"mqls": 84, "sqls": 27, "proposals": 9})
    revision = suggest_revision(agreement, observations)
    assert revision is not None
    (rate,) = revision.rates
    assert (rate.id, rate.suggested) == ("sqls_rate", Decimal("0.321"))  # 27/84 to 3 digits
    text = (EXAMPLES / "agreement.yaml").read_text()
    applied = parse_agreement(
        text.replace(
            "{stage: sqls,      team: sales,     rate: 0.50}",
            "{stage: sqls, team: sales, rate: 0.321}",
        ),
        base_dir=EXAMPLES,
    )
    targets = {s.stage: s.target for s in reverse_funnel(applied).stages}
    assert {s.stage: s.revised for s in revision.stages} == {
        stage: targets[stage] for stage in ("visits", "leads", "mqls")
    }
    assert all(s.change > 0 for s in revision.stages)  # a lower rate needs more upstream


def test_no_revision_when_every_rate_holds() -> None:
    agreement = example()
    counts = {
        "visits": 10000,
        "leads": 200,
        "mqls": 50,
        "sqls": 25,
        "proposals": 12,
        "customers": 4,
    }
    assert suggest_revision(agreement, observe_rates(agreement, counts)) is None

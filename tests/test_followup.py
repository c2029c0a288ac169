"""Follow-up states at exact boundaries, people's actions, and compliance with its error budget."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import BusinessClock
from bot.followup import LeadFacts, LeadStatus, compliance, evaluate, rule_times
from models.agreement import FollowupRule
from models.agreement_loader import load_agreement
from tests.conftest import EXAMPLES

CHICAGO = ZoneInfo("America/Chicago")
AGREEMENT = load_agreement(EXAMPLES / "agreement.yaml")
CLOCK = BusinessClock.of(AGREEMENT)
RULE = AGREEMENT.followup[0]  # within 4h, warn 1h before, escalate after 8h, target 0.95
SECOND = timedelta(seconds=1)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHICAGO)


def lead(handoff: str = "2027-03-08 10:00", **facts: object) -> LeadFacts:
    return LeadFacts(
        lead_id=1, external_id="L-1", owner="ana@example.com", handed_off_at=local(handoff), **facts
    )  # type: ignore[arg-type]


def state(facts: LeadFacts, at: datetime, rule: FollowupRule = RULE) -> str:
    status = evaluate(CLOCK, rule, facts, at)
    assert status is not None
    return status.state


def test_rule_times_in_business_time() -> None:
    times = rule_times(CLOCK, RULE, local("2027-03-08 10:00"))
    assert times.warn_at == local("2027-03-08 13:00")
    assert times.deadline == local("2027-03-08 14:00")
    assert times.escalate_at == local("2027-03-09 09:00")  # 7h on Monday, 1h on Tuesday
    weekend = rule_times(CLOCK, RULE, local("2027-03-13 15:00"))
    assert weekend.starts_at == local("2027-03-15 08:00")
    assert weekend.deadline == local("2027-03-15 12:00")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2027-03-08 10:00", "pending"),
        ("2027-03-08 12:59:59", "pending"),
        ("2027-03-08 13:00", "due_soon"),  # exactly the warn point
        ("2027-03-08 13:59:59", "due_soon"),
        ("2027-03-08 14:00", "breached"),  # exactly the deadline
        ("2027-03-08 23:00", "breached"),
        ("2027-03-09 08:59:59", "breached"),
        ("2027-03-09 09:00", "escalated"),  # exactly the escalation point
    ],
)
def test_untouched_states_at_their_boundaries(at: str, expected: str) -> None:
    assert state(lead(), local(at)) == expected


def test_touched_on_the_deadline_is_met_a_second_later_is_late() -> None:
    at = local("2027-03-10 12:00")
    assert state(lead(first_touch_at=local("2027-03-08 14:00")), at) == "met"
    assert state(lead(first_touch_at=local("2027-03-08 14:00") + SECOND), at) == "late"


def test_a_touch_after_the_instant_is_not_known_yet() -> None:
    facts = lead(first_touch_at=local("2027-03-08 15:00"))
    assert state(facts, local("2027-03-08 14:30")) == "breached"
    assert state(facts, local("2027-03-08 15:00")) == "late"


def test_not_handed_off_yet_is_not_evaluated() -> None:
    assert evaluate(CLOCK, RULE, lead(), local("2027-03-08 09:59")) is None


def test_disqualified_before_the_deadline_leaves_compliance_after_it_counts_as_missed() -> None:
    early = evaluate(
        CLOCK,
        RULE,
        lead(disqualified_at=local("2027-03-08 11:00"), disqualify_reason="not_a_fit"),
        local("2027-03-09 12:00"),
    )
    late = evaluate(
        CLOCK,
        RULE,
        lead(disqualified_at=local("2027-03-08 16:00"), disqualify_reason="duplicate"),
        local("2027-03-09 12:00"),
    )
    assert early is not None and late is not None
    assert (early.state, early.counts_as_due) == ("disqualified", False)
    assert (late.state, late.counts_as_due, late.counts_as_met) == ("disqualified", True, False)


def test_snooze_mutes_but_never_moves_the_deadline() -> None:
    facts = lead(snoozed_until=local("2027-03-08 16:00"))
    at = local("2027-03-08 15:00")
    status = evaluate(CLOCK, RULE, facts, at)
    assert status is not None
    assert status.state == "snoozed"
    assert status.counts_as_due  # past its deadline all the same
    assert state(facts, local("2027-03-08 16:00")) == "breached"


def test_first_touch_before_hand_off_is_flagged_not_crashed() -> None:
    status = evaluate(
        CLOCK, RULE, lead(first_touch_at=local("2027-03-08 09:00")), local("2027-03-08 12:00")
    )
    assert status is not None
    assert status.state == "met"
    assert status.flags == ("first_touch_before_handoff",)
    assert status.waited == timedelta(0)


def test_rule_without_warning_or_escalation() -> None:
    bare = FollowupRule(name="bare", stage="mqls", within="2h", target=0.9)  # type: ignore[arg-type]
    facts = lead()
    assert state(facts, local("2027-03-08 11:59"), bare) == "pending"
    assert state(facts, local("2027-03-08 12:00"), bare) == "breached"
    assert state(facts, local("2027-03-20 12:00"), bare) == "breached"


def test_waited_is_business_time() -> None:
    status = evaluate(CLOCK, RULE, lead(handoff="2027-03-12 16:00"), local("2027-03-15 09:30"))
    assert status is not None
    assert status.waited == timedelta(hours=2, minutes=30)


def _statuses(met: int, late: int, open_due: int, pending: int) -> list[LeadStatus]:
    out = []
    at = local("2027-03-12 12:00")
    for i in range(met + late + open_due + pending):
        if i < met:
            facts = lead(first_touch_at=local("2027-03-08 11:00"))
        elif i < met + late:
            facts = lead(first_touch_at=local("2027-03-09 11:00"))
        elif i < met + late + open_due:
            facts = lead()
        else:
            facts = lead(handoff="2027-03-12 11:00")
        status = evaluate(CLOCK, RULE, facts, at)
        assert status is not None
        out.append(status)
    return out


def test_compliance_and_error_budget_are_exact() -> None:
    # (1 - 0.95) * 20 is 0.9999999999999998 in binary floats; the budget is exactly 1 miss.
    c = compliance(RULE, _statuses(met=19, late=1, open_due=0, pending=3))
    assert (c.due, c.met, c.missed, c.ratio, c.budget, c.budget_left) == (20, 19, 1, 0.95, 1, 0)
    over = compliance(RULE, _statuses(met=17, late=1, open_due=2, pending=0))
    assert (over.due, over.met, over.missed, over.budget, over.budget_left) == (20, 17, 3, 1, -2)


def test_compliance_of_nothing() -> None:
    c = compliance(RULE, [])
    assert (c.due, c.met, c.missed, c.ratio, c.budget, c.budget_left) == (0, 0, 0, None, 0, 0)

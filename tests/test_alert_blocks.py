"""The alert message builder: grouped leads, four controls per open lead, Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.alerts import (
    CONTACTED,
    NOT_A_FIT,
    REASSIGN,
    SNOOZE,
    Alert,
    alert_message,
    lead_line,
    parse_ref,
    read_alert,
)
from bot.lead_views import LeadView
from tests.utils.block_models import texts, valid_message

ZONE = ZoneInfo("America/Chicago")
AT = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)


def view(n: int, state: str = "breached", **facts: object) -> LeadView:
    values: dict[str, object] = {
        "lead_id": n,
        "source": "sheet",
        "external_id": f"L-{n}",
        "rule": "mql-first-touch",
        "state": state,
        "owner": "ana@example.com",
        "deadline": AT - timedelta(hours=2),
        "waited": timedelta(hours=5, minutes=12),
    }
    values.update(facts)
    return LeadView(**values)  # type: ignore[arg-type]


def test_open_leads_are_grouped_by_state_and_carry_the_four_controls() -> None:
    leads = [view(1, "escalated"), view(2, "breached"), view(3, "due_soon"), view(4, "pending")]
    reply = alert_message(Alert(owner="U0ANA", leads=leads, zone=ZONE))
    valid_message(reply)
    shown = texts(reply.blocks)
    assert shown.index("Escalated") < shown.index("Breached") < shown.index("Due soon")
    assert shown.index("Due soon") < shown.index("Waiting")
    assert "4 leads of <@U0ANA> need a first touch" in reply.text
    actions = [b for b in reply.blocks if b["type"] == "actions"]
    assert len(actions) == 4
    ids = [e["action_id"] for e in actions[0]["elements"]]
    assert ids == [CONTACTED, SNOOZE, NOT_A_FIT, REASSIGN]
    snooze_choices = [o["text"]["text"] for o in actions[0]["elements"][1]["options"]]
    assert snooze_choices == ["1 hour", "4 hours", "Next business day"]
    reasons = [o["value"].split("|")[1] for o in actions[0]["elements"][2]["options"]]
    assert reasons == ["bad_data", "unreachable", "not_a_fit", "duplicate", "other"]


def test_handled_leads_say_who_did_what_and_lose_their_controls() -> None:
    leads = [
        view(1, "late", first_touch_at=AT, first_touch_by="U0ANA"),
        view(2, "disqualified", disqualify_reason="duplicate", disqualified_by="U0BEN"),
        view(3, "snoozed", snoozed_until=AT + timedelta(hours=4), snoozed_by="U0ANA"),
        view(4, "breached", reassigned_to="U0BEN", owner="U0BEN"),
    ]
    reply = alert_message(Alert(owner="U0ANA", leads=leads, zone=ZONE, reassigned_by={4: "U0CS"}))
    valid_message(reply)
    shown = texts(reply.blocks)
    assert (
        "*L-1* · mql-first-touch: contacted by <@U0ANA> after 5h 12m business time (late)" in shown
    )
    assert "*L-2* · mql-first-touch: not a fit (duplicate) by <@U0BEN>" in shown
    assert "snoozed until Wed 03 Mar 13:00 by <@U0ANA>" in shown
    assert "reassigned to <@U0BEN> by <@U0CS>" in shown
    assert len([b for b in reply.blocks if b["type"] == "actions"]) == 2  # L-3 and L-4


def test_the_block_ids_tell_the_alert_back() -> None:
    leads = [view(7, "breached", reassigned_to="U0BEN"), view(9, "met", first_touch_by="U0ANA")]
    reply = alert_message(Alert(owner="U0ANA", leads=leads, zone=ZONE, reassigned_by={7: "U0CS"}))
    ids = read_alert(reply.blocks)
    assert ids is not None
    assert ids.owner == "U0ANA"
    assert ids.leads == [("mql-first-touch", 7), ("mql-first-touch", 9)]
    assert ids.reassigned_by == {7: "U0CS"}
    assert read_alert([{"type": "section", "block_id": "other"}]) is None


def test_every_lead_handled_changes_the_title() -> None:
    reply = alert_message(Alert(owner=None, leads=[view(1, "met")], zone=ZONE))
    valid_message(reply)
    assert reply.text == "All 1 lead of the team handled"


@pytest.mark.parametrize("count", [24, 25, 500, 5000])
def test_a_huge_alert_stays_within_fifty_blocks_and_counts_the_rest(count: int) -> None:
    states = ["escalated", "breached", "due_soon", "pending", "met"]
    leads = [view(n, states[n % len(states)], external_id="L-" + "9" * 60) for n in range(count)]
    reply = alert_message(Alert(owner="U0ANA", leads=leads, zone=ZONE, more=3))
    valid_message(reply)
    ids = read_alert(reply.blocks)
    assert ids is not None
    assert len(ids.leads) + ids.more == count + 3
    assert len(reply.text) <= 300


def test_lead_line_of_a_waiting_lead_names_its_owner_and_deadline() -> None:
    line = lead_line(view(1, "due_soon", deadline=AT + timedelta(hours=1)), ZONE)
    assert line == (
        "*L-1* · mql-first-touch: waiting 5h 12m business time · deadline Wed 03 Mar 10:00"
        " · owner ana@example.com"
    )


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("mql-first-touch/42", ("mql-first-touch", 42)),
        ("mql-first-touch/²", None),  # a digit to str.isdigit, not to int()
        ("mql-first-touch/99999999999999999999", None),  # past a BIGINT
        ("mql-first-touch/-1", None),
        ("/42", None),
        ("mql-first-touch/", None),
    ],
)
def test_a_lead_reference_from_a_button_is_read_strictly(
    value: str, parsed: tuple[str, int] | None
) -> None:
    assert parse_ref(value) == parsed

"""What changed between two agreement versions, one readable line per change."""

from __future__ import annotations

import copy
from typing import Any

from models.agreement_diff import diff_documents
from models.agreement_loader import parse_agreement
from tests.utils.agreements import edited_example, example_text


def document(text: str) -> dict[str, Any]:
    """An agreement as the store keeps it (the JSON dump of the validated model)."""
    return parse_agreement(text).model_dump(mode="json")


def test_the_first_version_says_so() -> None:
    assert diff_documents(None, document(example_text())) == ["first version"]


def test_the_same_document_has_no_changes() -> None:
    old = document(example_text())
    assert diff_documents(old, copy.deepcopy(old)) == []


def test_a_changed_rate_is_named_by_its_stage() -> None:
    old = document(example_text())
    new = document(edited_example(("rate: 0.25", "rate: 0.30")))
    assert diff_documents(old, new) == ["funnel[mqls].rate: 0.25 -> 0.3"]


def test_changed_nested_values() -> None:
    old = document(example_text())
    new = document(
        edited_example(
            ("subdivision: WI", "subdivision: IL"),
            ('"mon 09:00"', '"fri 16:00"'),
            ("revenue_goal: 1200000", "revenue_goal: 1500000"),
        )
    )
    assert diff_documents(old, new) == [
        "revenue_goal: 1200000 -> 1500000",
        "business_hours.holidays.subdivision: WI -> IL",
        "schedule.weekly_digest: mon 09:00 -> fri 16:00",
    ]


def test_a_changed_list_of_values_shows_both_lists() -> None:
    old = document(example_text())
    new = document(edited_example(("thu, fri]", "thu, fri, sat]")))
    assert diff_documents(old, new) == [
        "business_hours.days: [mon, tue, wed, thu, fri] -> [mon, tue, wed, thu, fri, sat]"
    ]


def test_an_added_stage_is_one_line() -> None:
    old = document(example_text())
    customers = "  - {stage: customers, team: sales,     rate: 0.30}"
    new = document(
        edited_example((customers, customers + "\n  - {stage: renewals, team: sales, rate: 0.8}"))
    )
    assert diff_documents(old, new) == [
        "+ funnel[renewals]: {stage: renewals, team: sales, rate: 0.8}"
    ]


def test_a_removed_stage_is_one_line_and_the_next_rate_is_a_change() -> None:
    old = document(example_text())
    new = document(
        edited_example(
            ("  - {stage: proposals, team: sales,     rate: 0.50}\n", ""),
            (
                "{stage: customers, team: sales,     rate: 0.30}",
                "{stage: customers, team: sales, rate: 0.15}",
            ),
        )
    )
    assert diff_documents(old, new) == [
        "funnel[customers].rate: 0.3 -> 0.15",
        "- funnel[proposals]: {stage: proposals, team: sales, rate: 0.5}",
    ]


def test_a_reordered_list_is_matched_by_name_not_position() -> None:
    traffic = "  - {name: traffic, kind: metrics_csv, path: data/visits.csv}\n"
    sheet = "  - {name: sheet, kind: leads_csv, path: data/leads.csv}\n"
    old = document(example_text())
    moved = sheet.replace("leads.csv", "sheet.csv") + traffic
    new = document(edited_example((traffic + sheet, moved)))
    assert diff_documents(old, new) == [
        "sources: order traffic, sheet, deals -> sheet, traffic, deals",
        "sources[sheet].path: data/leads.csv -> data/sheet.csv",
    ]


def test_follow_up_rules_are_named_by_name() -> None:
    rule = "  - name: mql-first-touch\n"
    second = "  - {name: sql-call, stage: sqls, within: 1d, target: 0.9}\n"
    old = document(edited_example((rule, second + rule)))
    new = document(edited_example((rule, second.replace("0.9", "0.8") + rule)))
    assert diff_documents(old, new) == ["followup[sql-call].target: 0.9 -> 0.8"]


def test_swapped_funnel_stages_are_an_order_change() -> None:
    old = document(example_text())
    new = document(
        edited_example(
            ("{stage: sqls,      team: sales,     rate: 0.50}", "{stage: TMP}"),
            (
                "{stage: proposals, team: sales,     rate: 0.50}",
                "{stage: sqls,      team: sales,     rate: 0.50}",
            ),
            ("{stage: TMP}", "{stage: proposals, team: sales,     rate: 0.50}"),
        )
    )
    assert diff_documents(old, new) == [
        "funnel: order visits, leads, mqls, sqls, proposals, customers -> "
        "visits, leads, mqls, proposals, sqls, customers"
    ]


def test_a_section_added_or_removed_is_one_line() -> None:
    old = document(example_text())
    holidays = "  holidays: {country: US, subdivision: WI, extra: [2027-12-24]}\n"
    new = document(edited_example((holidays, "")))
    assert diff_documents(old, new) == [
        "business_hours.holidays: {country: US, subdivision: WI, extra: [2027-12-24]} -> null"
    ]
    assert diff_documents(new, old) == [
        "business_hours.holidays: null -> {country: US, subdivision: WI, extra: [2027-12-24]}"
    ]


def test_an_emptied_list_shows_what_went() -> None:
    old = document(example_text())
    new = document(edited_example(("    escalate_to: [U01SALESLEAD]\n", "")))
    assert diff_documents(old, new) == [
        "followup[mql-first-touch].escalate_to: [U01SALESLEAD] -> []"
    ]


def test_keys_added_and_removed_in_plain_mappings() -> None:
    old = {"a": 1, "b": {"x": 1}}
    new = {"a": 1, "b": {"y": True}, "c": None}
    assert diff_documents(old, new) == ["+ b.y: true", "- b.x: 1", "+ c: null"]

"""Every way an agreement file can be wrong is refused with its field path, line and a fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from models.agreement import Agreement, Schedule
from models.agreement_loader import AgreementError, load_agreement, parse_agreement
from tests.utils.agreements import (
    EXAMPLE,
    MINIMAL,
    edited_example,
    example_text,
    line_of,
    problems_of,
    restructured,
)

Source = str | tuple[tuple[str, str], ...] | Callable[[Any], None]

HUBSPOT = "  - {name: deals, kind: deals_csv, path: data/deals.csv}"
SECOND_RULE = "    target: 0.95           # share of due leads touched within time\n"


def _text(source: Source) -> str:
    """A whole text, the example with (old, new) edits, or the example with a structure edit."""
    if isinstance(source, str):
        return source
    if isinstance(source, tuple):
        return edited_example(*source)
    return restructured(example_text(), source)


def _set(*path: str | int, value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for part in path[:-1]:
            data = data[part]
        data[path[-1]] = value

    return change


def _delete(*path: str | int) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for part in path[:-1]:
            data = data[part]
        del data[path[-1]]

    return change


def r(old: str, new: str) -> tuple[tuple[str, str], ...]:
    return ((old, new),)


REFUSED = [
    # -- unknown or misspelt keys, with a did-you-mean --------------------------------------
    pytest.param(
        r("currency: USD", "currency: USD\ncurrncy: USD"),
        "currncy",
        6,
        "unknown key 'currncy'; did you mean 'currency'?",
        id="unknown-top-level-key",
    ),
    pytest.param(
        r("revenue_goal: 1200000", "revenue_gaol: 1200000"),
        "revenue_gaol",
        6,
        "did you mean 'revenue_goal'?",
        id="misspelt-required-key-is-one-problem",
    ),
    pytest.param(
        r("warn_before: 1h", "warn_befor: 1h"),
        "followup[0].warn_befor",
        36,
        "did you mean 'warn_before'?",
        id="misspelt-key-in-list-item",
    ),
    pytest.param(
        r("{stage: sqls,      team: sales,", "{stage: sqls,      team: sales, rte: 0.5,"),
        "funnel[3].rte",
        18,
        "did you mean 'rate'?",
        id="misspelt-key-in-flow-mapping",
    ),
    pytest.param(
        r("  sync_every: 15m", "  sync_every: 15m\n  colour: blue"),
        "schedule.colour",
        47,
        "expected one of: check_every, monthly_report, sync_every, weekly_digest",
        id="unknown-key-lists-the-known-ones",
    ),
    pytest.param(
        r("kind: leads_csv, path: data/leads.csv", "kind: leads_csv, path: data/leads.csv, tab: 1"),
        "sources[1].tab",
        51,
        "unknown key 'tab'",
        id="unknown-key-in-source",
    ),
    pytest.param(
        r(HUBSPOT, "  - {name: crm, kind: hubspot, path: data/deals.csv}"),
        "sources[2].path",
        52,
        "unknown key 'path'",
        id="csv-key-on-hubspot-source",
    ),
    # -- wrong types -----------------------------------------------------------------------
    pytest.param(
        r("rate: 0.25", "rate: lots"),
        "funnel[2].rate",
        17,
        "expected a number such as 0.25",
        id="rate-as-text",
    ),
    pytest.param(
        r("revenue_goal: 1200000", "revenue_goal: 1.2M"),
        "revenue_goal",
        6,
        "expected a number such as 0.25 or 1200000 (digits only",
        id="revenue-goal-as-text",
    ),
    pytest.param(
        r("revenue_goal: 1200000", 'revenue_goal: "1,200,000"'),
        "revenue_goal",
        6,
        "no units, currency signs or thousands separators); got '1,200,000'",
        id="revenue-goal-with-separators",
    ),
    pytest.param(
        r("rate: 0.25", "rate: true"),
        "funnel[2].rate",
        17,
        "not true/false",
        id="bool-as-rate",
    ),
    pytest.param(
        r("revenue_goal: 1200000", "revenue_goal: false"),
        "revenue_goal",
        6,
        "not true/false",
        id="bool-as-revenue-goal",
    ),
    pytest.param(
        _set("average_deal_size", value=True),
        "average_deal_size",
        7,
        "not true/false",
        id="bool-as-deal-size-structure-edit",
    ),
    pytest.param(
        r("rate: 0.25", "rate: .nan"),
        "funnel[2].rate",
        17,
        "expected a finite number",
        id="rate-not-a-number",
    ),
    pytest.param(
        r("name: Sales & Marketing SLA 2027 H1", "name: 2027"),
        "name",
        2,
        "expected text; got 2027",
        id="number-as-name",
    ),
    pytest.param(
        r("name: Sales & Marketing SLA 2027 H1", "name:"),
        "name",
        2,
        "has no value",
        id="required-key-without-value",
    ),
    pytest.param(
        r("name: Sales & Marketing SLA 2027 H1", 'name: ""'),
        "name",
        2,
        "must not be empty",
        id="empty-name",
    ),
    pytest.param(
        r("{start: 2027-01-01, end: 2027-06-30}", "H1 2027"),
        "period",
        3,
        "expected a mapping of `key: value` pairs (keys: start, end); got 'H1 2027'",
        id="text-instead-of-mapping",
    ),
    pytest.param(
        r("  - {stage: visits,    team: marketing}", "  - visits"),
        "funnel[0]",
        15,
        "(keys: stage, team, rate)",
        id="text-instead-of-funnel-stage",
    ),
    pytest.param(
        r("days: [mon, tue, wed, thu, fri]", "days: mon-fri"),
        "business_hours.days",
        27,
        "expected a list",
        id="text-instead-of-list",
    ),
    pytest.param(
        (
            ("teams:  ", "teams: {}  "),
            ("  marketing: {lead: U01MKTLEAD, channel: C01MKT}\n", ""),
            ("  sales: {lead: U01SALESLEAD, channel: C01SALES}\n", ""),
            ("  customer_success: {lead: U01CSLEAD, channel: C01CS}\n", ""),
        ),
        "teams",
        9,
        "must not be empty",
        id="no-teams",
    ),
    pytest.param(
        r("end: 2027-06-30", "end: 2027-06-31"),
        "period.end",
        3,
        "'2027-06-31' is not a date (day value is outside expected range); write YYYY-MM-DD",
        id="date-not-on-the-calendar",
    ),
    pytest.param(
        r("extra: [2027-12-24]", "extra: [christmas]"),
        "business_hours.holidays.extra[0]",
        30,
        "'christmas' is not a date",
        id="text-as-date",
    ),
    # -- missing required keys -------------------------------------------------------------
    pytest.param(
        r("timezone: America/Chicago\n", ""),
        "timezone",
        1,
        "is required",
        id="missing-top-level-key",
    ),
    pytest.param(
        _delete("channels"),
        "channels",
        1,
        "is required",
        id="missing-top-level-key-structure-edit",
    ),
    pytest.param(
        r('  start: "08:00"\n', ""),
        "business_hours.start",
        26,
        "is required",
        id="missing-nested-key",
    ),
    pytest.param(
        r("{start: 2027-01-01, end: 2027-06-30}", "{start: 2027-01-01}"),
        "period.end",
        3,
        "is required",
        id="missing-key-in-flow-mapping",
    ),
    pytest.param(
        r("{lead: U01CSLEAD, channel: C01CS}", "{channel: C01CS}"),
        "teams.customer_success.lead",
        12,
        "is required",
        id="missing-team-lead",
    ),
    pytest.param(
        r(SECOND_RULE, ""),
        "followup[0].target",
        33,
        "is required",
        id="missing-rule-target",
    ),
    # -- rates -----------------------------------------------------------------------------
    pytest.param(
        r("rate: 0.25", "rate: 0"),
        "funnel[2].rate",
        17,
        "a rate is a share between 0 (excluded) and 1, e.g. 0.25; got 0",
        id="rate-zero",
    ),
    pytest.param(
        r("rate: 0.25", "rate: 1.5"),
        "funnel[2].rate",
        17,
        "got 1.5",
        id="rate-above-one",
    ),
    pytest.param(
        r("rate: 0.25", "rate: 25"),
        "funnel[2].rate",
        17,
        "if you mean 25%, write 0.25",
        id="rate-as-percent",
    ),
    pytest.param(
        r("rate: 0.25", "rate: -0.25"),
        "funnel[2].rate",
        17,
        "got -0.25",
        id="rate-negative",
    ),
    pytest.param(
        r("{stage: visits,    team: marketing}", "{stage: visits,    team: marketing, rate: 0.5}"),
        "funnel[0].rate",
        15,
        "the top stage has no stage above it; remove its rate",
        id="top-stage-with-rate",
    ),
    pytest.param(
        r("team: marketing, rate: 0.25", "team: marketing"),
        "funnel[2].rate",
        17,
        "is required: the expected conversion from 'leads' into 'mqls', e.g. rate: 0.25",
        id="lower-stage-without-rate",
    ),
    pytest.param(
        _delete("funnel", 3, "rate"),
        "funnel[3].rate",
        18,
        "from 'mqls' into 'sqls'",
        id="lower-stage-without-rate-structure-edit",
    ),
    pytest.param(
        r("target: 0.95", "target: 95"),
        "followup[0].target",
        39,
        "if you mean 95%, write 0.95",
        id="rule-target-as-percent",
    ),
    # -- money -----------------------------------------------------------------------------
    pytest.param(
        r("revenue_goal: 1200000", "revenue_goal: -5"),
        "revenue_goal",
        6,
        "must be greater than 0; got -5",
        id="revenue-goal-negative",
    ),
    pytest.param(
        r("revenue_goal: 1200000", "revenue_goal: 0"),
        "revenue_goal",
        6,
        "must be greater than 0; got 0",
        id="revenue-goal-zero",
    ),
    pytest.param(
        r("average_deal_size: 30000", "average_deal_size: 0"),
        "average_deal_size",
        7,
        "must be greater than 0",
        id="deal-size-zero",
    ),
    pytest.param(
        r("currency: USD", "currency: usd"),
        "currency",
        5,
        "'usd' is not a currency code; write its three upper-case letters (ISO 4217), "
        "e.g. USD or EUR; did you mean 'USD'?",
        id="currency-lower-case",
    ),
    pytest.param(
        r("currency: USD", "currency: EURO"),
        "currency",
        5,
        "'EURO' is not a currency code",
        id="currency-four-letters",
    ),
    pytest.param(
        r("currency: USD", "currency: 840"),
        "currency",
        5,
        "840 is not a currency code",
        id="currency-number",
    ),
    # -- period, time zone, holidays -------------------------------------------------------
    pytest.param(
        r("end: 2027-06-30", "end: 2026-06-30"),
        "period.end",
        3,
        "2026-06-30 is before the start (2027-01-01)",
        id="end-before-start",
    ),
    pytest.param(
        r("timezone: America/Chicago", "timezone: America/Chicgo"),
        "timezone",
        4,
        "'America/Chicgo' is not a known IANA time zone; write e.g. America/Chicago",
        id="unknown-time-zone",
    ),
    pytest.param(
        r("timezone: America/Chicago", "timezone: CST6"),
        "timezone",
        4,
        "is not a known IANA time zone",
        id="time-zone-abbreviation",
    ),
    pytest.param(
        r("country: US", "country: XX"),
        "business_hours.holidays.country",
        30,
        "'XX' is not a country the holidays package knows; write its ISO 3166 two-letter code",
        id="unknown-holiday-country",
    ),
    pytest.param(
        r("country: US", "country: us"),
        "business_hours.holidays.country",
        30,
        "did you mean 'US'?",
        id="holiday-country-lower-case",
    ),
    pytest.param(
        r("subdivision: WI", "subdivision: ZZ"),
        "business_hours.holidays.subdivision",
        30,
        "'ZZ' is not a subdivision of US the holidays package knows; write one of its codes",
        id="unknown-holiday-subdivision",
    ),
    pytest.param(
        r("subdivision: WI", "subdivision: wi"),
        "business_hours.holidays.subdivision",
        30,
        "did you mean 'WI'?",
        id="holiday-subdivision-lower-case",
    ),
    # -- teams and Slack ids ---------------------------------------------------------------
    pytest.param(
        r("lead: U01MKTLEAD", "lead: mkt-lead"),
        "teams.marketing.lead",
        10,
        "'mkt-lead' is not a Slack user id (U… or W…, e.g. U01SALESLEAD)",
        id="bad-slack-user",
    ),
    pytest.param(
        r("channel: C01MKT", "channel: '#marketing'"),
        "teams.marketing.channel",
        10,
        "'#marketing' is not a Slack channel id",
        id="bad-slack-channel",
    ),
    pytest.param(
        r("alerts: C01ALERTS", "alerts: alerts"),
        "channels.alerts",
        41,
        "is not a Slack channel id",
        id="bad-alerts-channel",
    ),
    pytest.param(
        r("admins: [U01MKTLEAD, U01SALESLEAD]", "admins: [U01MKTLEAD, sales-lead]"),
        "admins[1]",
        47,
        "'sales-lead' is not a Slack user id",
        id="bad-admin",
    ),
    pytest.param(
        r("escalate_to: [U01SALESLEAD]", "escalate_to: [C01SALES]"),
        "followup[0].escalate_to[0]",
        38,
        "'C01SALES' is not a Slack user id",
        id="channel-as-escalation-user",
    ),
    pytest.param(
        r("  sales: {lead", "  Sales Team: {lead"),
        "teams.Sales Team",
        11,
        "must be lower-case letters, digits and _",
        id="bad-team-key",
    ),
    pytest.param(
        r("{stage: mqls,      team: marketing", "{stage: mqls,      team: mktg"),
        "funnel[2].team",
        17,
        "unknown team 'mktg'; the teams are marketing, sales, customer_success; "
        "did you mean 'marketing'?",
        id="unknown-team-in-funnel",
    ),
    pytest.param(
        r("team: customer_success, metric", "team: cs, metric"),
        "kpis[0].team",
        23,
        "unknown team 'cs'",
        id="unknown-team-in-kpis",
    ),
    # -- funnel ----------------------------------------------------------------------------
    pytest.param(
        r("{stage: proposals", "{stage: sqls"),
        "funnel[4].stage",
        19,
        "stage 'sqls' is already funnel[3]; each stage once",
        id="duplicate-stage",
    ),
    pytest.param(
        r("{stage: mqls,", "{stage: MQLs,"),
        "funnel[2].stage",
        17,
        "'MQLs' must be lower-case letters",
        id="bad-stage-name",
    ),
    pytest.param(
        r("funnel:          #", "funnel: [] #")
        + tuple((line, "") for line in example_text().splitlines(keepends=True)[14:20]),
        "funnel",
        14,
        "must not be empty",
        id="empty-funnel",
    ),
    # -- KPIs ------------------------------------------------------------------------------
    pytest.param(
        r(
            "every: month}",
            'every: month}\n  - {id: churn_rate, team: sales, metric: lost_deals, target: "<= 5"}',
        ),
        "kpis[1].id",
        25,
        "'churn_rate' is used twice; KPI ids must be unique",
        id="duplicate-kpi-id",
    ),
    pytest.param(
        r("id: churn_rate", "id: mqls"),
        "kpis[0].id",
        23,
        "'mqls' is the funnel stage's own KPI (its count); choose another id",
        id="kpi-id-is-a-stage",
    ),
    pytest.param(
        r("id: churn_rate", "id: mqls_rate"),
        "kpis[0].id",
        23,
        "'mqls_rate' is the conversion-rate KPI of funnel stage 'mqls'; choose another id",
        id="kpi-id-is-a-stage-rate",
    ),
    pytest.param(
        r('target: "<= 0.02"', 'target: "about 2%"'),
        "kpis[0].target",
        24,
        "'about 2%' is not a target; write a number (at least) or e.g. '<= 0.02'",
        id="bad-kpi-target",
    ),
    pytest.param(
        r('target: "<= 0.02"', 'target: "=< 0.02"'),
        "kpis[0].target",
        24,
        "is not a target",
        id="kpi-target-reversed-operator",
    ),
    pytest.param(
        r("every: month", "every: fortnight"),
        "kpis[0].every",
        24,
        "'fortnight' is not one of: day, week, month, quarter, period",
        id="bad-kpi-every",
    ),
    # -- business hours --------------------------------------------------------------------
    pytest.param(
        r("thu, fri]", "thu, fry]"),
        "business_hours.days[4]",
        27,
        "'fry' is not one of: mon, tue, wed, thu, fri, sat, sun; did you mean 'fri'?",
        id="unknown-weekday",
    ),
    pytest.param(
        r("thu, fri]", "thu, friday]"),
        "business_hours.days[4]",
        27,
        "did you mean 'fri'?",
        id="weekday-written-out",
    ),
    pytest.param(
        r("thu, fri]", "thu, fri, mon]"),
        "business_hours.days[5]",
        27,
        "'mon' is listed twice; list each day once",
        id="day-listed-twice",
    ),
    pytest.param(
        r('end: "17:00"', 'end: "08:00"'),
        "business_hours.end",
        29,
        "08:00 is not after the start (08:00)",
        id="hours-end-equals-start",
    ),
    pytest.param(
        r('end: "17:00"', 'end: "07:30"'),
        "business_hours.end",
        29,
        'business hours end later the same day, e.g. start: "08:00", end: "17:00"',
        id="hours-end-before-start",
    ),
    pytest.param(
        r('start: "08:00"', 'start: "8am"'),
        "business_hours.start",
        28,
        "'8am' is not a time of day; write HH:MM on a 24-hour clock, e.g. 08:00",
        id="clock-8am",
    ),
    pytest.param(
        r('start: "08:00"', 'start: "8:00"'),
        "business_hours.start",
        28,
        "'8:00' is not a time of day",
        id="clock-one-digit-hour",
    ),
    pytest.param(
        r('end: "17:00"', 'end: "24:00"'),
        "business_hours.end",
        29,
        "'24:00' is not a time of day",
        id="clock-24",
    ),
    pytest.param(
        r('start: "08:00"', "start: 800"),
        "business_hours.start",
        28,
        "800 is not a time of day",
        id="clock-number",
    ),
    # -- follow-up rules -------------------------------------------------------------------
    pytest.param(
        r("stage: mqls ", "stage: demos "),
        "followup[0].stage",
        34,
        "unknown stage 'demos'; the funnel has visits, leads, mqls, sqls, proposals, customers",
        id="rule-on-unknown-stage",
    ),
    pytest.param(
        r("within: 4h", "within: 4 hours"),
        "followup[0].within",
        35,
        "'4 hours' is not a duration; write a number with m, h or d, e.g. 30m, 4h, 2d",
        id="duration-in-words",
    ),
    pytest.param(
        r("within: 4h", "within: 4"),
        "followup[0].within",
        35,
        "4 is not a duration",
        id="duration-without-unit",
    ),
    pytest.param(
        r("within: 4h", "within: 0m"),
        "followup[0].within",
        35,
        "'0m' is zero",
        id="duration-zero",
    ),
    pytest.param(
        r("warn_before: 1h", "warn_before: 4h"),
        "followup[0].warn_before",
        36,
        "4h is not shorter than within (4h)",
        id="warn-before-equals-within",
    ),
    pytest.param(
        r("warn_before: 1h", "warn_before: 5h"),
        "followup[0].warn_before",
        36,
        "5h is not shorter than within (4h)",
        id="warn-before-longer-than-within",
    ),
    pytest.param(
        (
            ("within: 4h", "within: 1d"),
            ("warn_before: 1h", "warn_before: 9h"),
            ("escalate_after: 8h", "escalate_after: 1d"),
        ),
        "followup[0].warn_before",
        36,
        "9h is not shorter than within (1d)",
        id="warn-before-a-whole-business-day",
    ),
    pytest.param(
        r("escalate_after: 8h", "escalate_after: 2h"),
        "followup[0].escalate_after",
        37,
        "2h is shorter than within (4h)",
        id="escalate-after-shorter-than-within",
    ),
    pytest.param(
        r(
            SECOND_RULE,
            SECOND_RULE + "  - {name: mql-first-touch, stage: sqls, within: 1d, target: 0.9}\n",
        ),
        "followup[1].name",
        40,
        "'mql-first-touch' is used twice; rule names must be unique",
        id="duplicate-rule-name",
    ),
    pytest.param(
        r("name: mql-first-touch", "name: MQL first touch"),
        "followup[0].name",
        33,
        "must be lower-case letters, digits, - and _",
        id="bad-rule-name",
    ),
    # -- sources ---------------------------------------------------------------------------
    pytest.param(
        r("{name: sheet", "{name: traffic"),
        "sources[1].name",
        51,
        "'traffic' is used twice; source names must be unique",
        id="duplicate-source-name",
    ),
    pytest.param(
        r("kind: leads_csv", "kind: excel"),
        "sources[1].kind",
        51,
        "unknown kind 'excel'; expected one of 'hubspot', 'metrics_csv', 'leads_csv', 'deals_csv', 'http_json'",
        id="unknown-source-kind",
    ),
    pytest.param(
        r("kind: leads_csv, ", ""),
        "sources[1].kind",
        51,
        "is required (the kind of source: hubspot, metrics_csv, leads_csv, deals_csv or http_json)",
        id="missing-source-kind",
    ),
    pytest.param(
        r("kind: leads_csv, path: data/leads.csv", "kind: leads_csv"),
        "sources[1].path",
        51,
        "is required",
        id="missing-csv-path",
    ),
    pytest.param(
        r(HUBSPOT, "  - {name: crm, kind: hubspot, stages: {leads: lead, demos: demo}}"),
        "sources[2].stages.demos",
        52,
        "unknown funnel stage 'demos'; the funnel has visits, leads, mqls",
        id="hubspot-maps-unknown-stage",
    ),
    pytest.param(
        r(HUBSPOT, "  - {name: crm, kind: hubspot, stages: {leads: lead, mql: x}}"),
        "sources[2].stages.mql",
        52,
        "did you mean 'mqls'?",
        id="hubspot-maps-misspelt-stage",
    ),
    # -- schedule --------------------------------------------------------------------------
    pytest.param(
        r('"mon 09:00"', '"funday 09:00"'),
        "schedule.weekly_digest",
        43,
        "'funday 09:00': 'funday' is not a weekday; write a weekday (mon, tue, wed, thu, fri, "
        "sat or sun) and a time, e.g. 'mon 09:00'",
        id="weekly-slot-funday",
    ),
    pytest.param(
        r('"mon 09:00"', '"mon 9am"'),
        "schedule.weekly_digest",
        43,
        "'mon 9am': '9am' is not a time of day (HH:MM, 24-hour clock)",
        id="weekly-slot-9am",
    ),
    pytest.param(
        r('"mon 09:00"', '"mon"'),
        "schedule.weekly_digest",
        43,
        "'mon' is not a weekly slot",
        id="weekly-slot-without-time",
    ),
    pytest.param(
        r('"1 09:00"', '"31 09:00"'),
        "schedule.monthly_report",
        44,
        "'31 09:00': day '31' is not in every month; write a day of the month 1-28 (or last)",
        id="monthly-slot-31",
    ),
    pytest.param(
        r('"1 09:00"', '"first 09:00"'),
        "schedule.monthly_report",
        44,
        "day 'first' is not a day",
        id="monthly-slot-word",
    ),
    pytest.param(
        r("check_every: 5m", "check_every: 5 minutes"),
        "schedule.check_every",
        45,
        "is not a duration",
        id="bad-check-every",
    ),
    # -- the file as a whole ---------------------------------------------------------------
    pytest.param("", "", 1, "the file is empty", id="empty-file"),
    pytest.param("# only a comment\n\n", "", 1, "the file is empty", id="only-comments"),
    pytest.param(
        "- name: x\n- period: y\n", "", 1, "must be a mapping of keys", id="file-is-a-list"
    ),
    pytest.param("just some text\n", "", 1, "not plain text", id="file-is-text"),
    pytest.param(
        r("currency: USD", "currency: [USD"),
        "",
        6,
        "YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow sequence "
        "that starts on line 5)",
        id="yaml-unclosed-bracket",
    ),
    pytest.param(
        r('  start: "08:00"', ' start: "08:00"'),
        "",
        28,
        "YAML syntax error",
        id="yaml-bad-indentation",
    ),
    pytest.param(
        r("timezone: America/Chicago", "timezone: America/Chicago: x"),
        "",
        4,
        "YAML syntax error: mapping values are not allowed here",
        id="yaml-colon-in-plain-value",
    ),
    pytest.param(
        r("  days: [mon", "\tdays: [mon"),
        "",
        27,
        "found character '\\t' that cannot start any token",
        id="yaml-tab-indent",
    ),
    pytest.param(
        r("currency: USD", "currency: USD\ncurrency: EUR"),
        "currency",
        6,
        "duplicate key 'currency': it is already on line 5; write each key once",
        id="duplicate-top-level-key",
    ),
    pytest.param(
        r("{start: 2027-01-01, end", "{start: 2027-01-01, start: 2027-02-01, end"),
        "period.start",
        3,
        "duplicate key 'start': it is already earlier on this line",
        id="duplicate-key-in-flow-mapping",
    ),
    pytest.param(
        r("    warn_before: 1h\n", "    warn_before: 1h\n    warn_before: 2h\n"),
        "followup[0].warn_before",
        37,
        "it is already on line 36",
        id="duplicate-key-in-list-item",
    ),
]


@pytest.mark.parametrize(("source", "path", "line", "fragment"), REFUSED)
def test_refused_with_path_line_and_fix(
    source: Source, path: str, line: int, fragment: str
) -> None:
    problems = problems_of(_text(source))
    assert [(p.path, p.line) for p in problems] == [(path, line)], problems
    assert fragment in problems[0].message


def test_error_text_names_file_line_and_path() -> None:
    text = edited_example(("rate: 0.25", "rate: 0"))
    with pytest.raises(AgreementError) as caught:
        parse_agreement(text, file="sla.yaml")
    assert str(caught.value).splitlines() == [
        "sla.yaml: the agreement was not accepted (1 problem)",
        "  sla.yaml:17: funnel[2].rate: a rate is a share between 0 (excluded) and 1, "
        "e.g. 0.25; got 0",
    ]


def test_several_problems_are_reported_together_sorted_by_line() -> None:
    text = edited_example(
        ("thu, fri]", "thu, fry]"),  # line 27
        ("rate: 0.25", "rate: 2"),  # line 17
        ("currency: USD", "currency: usd"),  # line 5
        ("lead: U01SALESLEAD", "lead: sales"),  # line 11
    )
    problems = problems_of(text)
    assert [(p.line, p.path) for p in problems] == [
        (5, "currency"),
        (11, "teams.sales.lead"),
        (17, "funnel[2].rate"),
        (27, "business_hours.days[4]"),
    ]
    with pytest.raises(AgreementError, match=r"\(4 problems\)"):
        parse_agreement(text)


def test_several_cross_field_problems_are_reported_together() -> None:
    text = edited_example(
        ("end: 2027-06-30", "end: 2026-06-30"),
        ("stage: mqls ", "stage: demos "),
        ('"17:00"', '"07:00"'),
    )
    assert [(p.line, p.path) for p in problems_of(text)] == [
        (3, "period.end"),
        (29, "business_hours.end"),
        (34, "followup[0].stage"),
    ]


def test_an_empty_mapping_reports_every_required_key() -> None:
    problems = problems_of("{}\n")
    assert {p.path for p in problems} == {
        "name",
        "period",
        "timezone",
        "currency",
        "revenue_goal",
        "average_deal_size",
        "teams",
        "funnel",
        "business_hours",
        "channels",
    }
    assert {(p.line, p.message) for p in problems} == {(1, "is required")}


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(AgreementError) as caught:
        load_agreement(missing)
    assert caught.value.problems[0].line is None
    assert str(caught.value).splitlines()[1] == (
        f"  {missing}: no such file; check the path (examples/agreement.yaml is a complete example)"
    )


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(AgreementError, match="is a folder; give the agreement YAML file"):
        load_agreement(tmp_path)


# -- accepted ----------------------------------------------------------------------------


def test_the_example_is_accepted() -> None:
    agreement = load_agreement(EXAMPLE)
    assert agreement.name == "Sales & Marketing SLA 2027 H1"
    assert agreement.stage_names == ["visits", "leads", "mqls", "sqls", "proposals", "customers"]
    assert [s.rate for s in agreement.funnel] == [
        None,
        Decimal("0.02"),
        Decimal("0.25"),
        Decimal("0.5"),
        Decimal("0.5"),
        Decimal("0.3"),
    ]
    assert agreement.days == 181
    assert agreement.kpis[0].comparison == ("<=", Decimal("0.02"))
    assert agreement.business_hours.day_minutes == 9 * 60
    assert agreement.business_hours.holidays is not None
    assert agreement.business_hours.holidays.extra == [date(2027, 12, 24)]
    assert agreement.followup[0].within_duration.total_minutes(9 * 60) == 240


@pytest.mark.parametrize(
    "replacements",
    [
        pytest.param((("rate: 0.25", "rate: 1"),), id="rate-one"),
        pytest.param((("escalate_after: 8h", "escalate_after: 4h"),), id="escalate-equals-within"),
        pytest.param((("warn_before: 1h", "warn_before: 3h59m"),), id="warn-just-under-within"),
        pytest.param(
            (
                ("within: 4h", "within: 1d"),
                ("warn_before: 1h", "warn_before: 8h"),
                ("escalate_after: 8h", "escalate_after: 2d"),
            ),
            id="warn-under-a-business-day",
        ),
        pytest.param((('"1 09:00"', '"last 17:00"'),), id="monthly-slot-last"),
        pytest.param((('"1 09:00"', '"28 09:00"'),), id="monthly-slot-28"),
        pytest.param((('end: "17:00"', 'end: "23:59"'),), id="clock-23-59"),
        pytest.param(
            ((HUBSPOT, "  - {name: crm, kind: hubspot, stages: {leads: lead, mqls: mql}}"),),
            id="hubspot-source",
        ),
        pytest.param((("subdivision: WI, ", ""),), id="holidays-without-subdivision"),
    ],
)
def test_boundary_values_are_accepted(replacements: tuple[tuple[str, str], ...]) -> None:
    assert isinstance(parse_agreement(edited_example(*replacements)), Agreement)


def test_rate_one_is_kept() -> None:
    agreement = parse_agreement(edited_example(("rate: 0.25", "rate: 1")))
    assert agreement.stage("mqls").rate == Decimal(1)


def test_floats_become_exact_decimals() -> None:
    text = edited_example(
        ("rate: 0.25", "rate: 0.1"),
        ("rate: 0.02", "rate: 0.07"),
        ("average_deal_size: 30000", "average_deal_size: 333.3"),
    )
    agreement = parse_agreement(text)
    assert str(agreement.stage("mqls").rate) == "0.1"
    assert str(agreement.stage("leads").rate) == "0.07"
    assert str(agreement.stage("customers").rate) == "0.3"
    assert agreement.average_deal_size == Decimal("333.3")
    assert agreement.revenue_goal == Decimal(1200000)
    # 0.1 as a binary float is 0.1000000000000000055…; the exact value must not leak in.
    assert agreement.stage("mqls").rate != Decimal.from_float(0.1)


def test_flow_and_block_styles_give_the_lines_of_the_keys() -> None:
    flow = edited_example(("rate: 0.25", "rate: 2"), ("lead: U01SALESLEAD", "lead: sales"))
    block = restructured(flow, lambda data: None, block=True)
    assert "  sales:\n    channel: C01SALES\n    lead: sales\n" in block  # really block style
    for text in (flow, block):
        assert {p.path: p.line for p in problems_of(text)} == {
            "teams.sales.lead": line_of(text, "lead: sales"),
            "funnel[2].rate": line_of(text, "rate: 2"),
        }
    assert [p.line for p in problems_of(flow)] == [11, 17]
    assert line_of(block, "lead: sales") not in (11, 17)  # the lines really moved


def test_flow_and_block_styles_give_the_same_agreement() -> None:
    text = example_text()
    assert parse_agreement(restructured(text, lambda data: None, block=True)) == parse_agreement(
        text
    )


def test_relative_csv_paths_resolve_against_the_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "sla"
    folder.mkdir()
    elsewhere = tmp_path / "exports" / "deals.csv"
    file = folder / "agreement.yaml"
    file.write_text(edited_example(("path: data/deals.csv", f"path: {elsewhere}")))
    agreement = load_agreement(file)
    paths = {s.name: s.path for s in agreement.sources if s.kind != "hubspot"}
    assert paths == {
        "traffic": str(folder.resolve() / "data" / "visits.csv"),
        "sheet": str(folder.resolve() / "data" / "leads.csv"),
        "deals": str(elsewhere),
    }
    # Without a folder (text, not a file) the paths stay as written.
    unresolved = parse_agreement(file.read_text())
    assert [s.path for s in unresolved.sources if s.kind != "hubspot"] == [
        "data/visits.csv",
        "data/leads.csv",
        str(elsewhere),
    ]


def test_a_minimal_agreement_gets_the_defaults() -> None:
    agreement = parse_agreement(MINIMAL)
    assert agreement.kpis == []
    assert agreement.followup == []
    assert agreement.admins == []
    assert agreement.sources == []
    assert agreement.business_hours.holidays is None
    assert agreement.teams["sales"].channel is None
    assert agreement.schedule == Schedule(
        weekly_digest="mon 09:00", monthly_report="1 09:00", check_every="5m", sync_every="15m"
    )
    assert agreement.stage("customers").rate == Decimal("0.1")


@pytest.mark.parametrize(
    "key",
    [
        "name",
        "period",
        "timezone",
        "currency",
        "revenue_goal",
        "average_deal_size",
        "teams",
        "funnel",
        "business_hours",
        "channels",
    ],
)
def test_each_key_of_the_minimal_agreement_is_required(key: str) -> None:
    assert [
        (p.path, p.line, p.message) for p in problems_of(restructured(MINIMAL, _delete(key)))
    ] == [(key, 1, "is required")]

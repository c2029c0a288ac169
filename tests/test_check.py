"""`check` on a real store: deadlines kept in SQL, transitions recorded once, alerts routed."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.check import run_check
from bot.clock import BusinessClock
from bot.followup import LeadFacts, compliance, evaluate
from bot.sandbox.slack import TOKEN, FakeSlack
from models.agreement_loader import parse_agreement
from models.db import session_scope
from models.tables import AwayPeriod, FollowupState, Lead, Owner
from tests.conftest import CLI, EXAMPLES
from tests.utils.store import example, local, mql, store_agreement, store_leads


async def check(engine: AsyncEngine, at: datetime, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    async with AsyncSession(engine, expire_on_commit=False) as session:
        result = await run_check(session, example(), at=at)
        await (session.rollback() if dry_run else session.commit())
    return result


async def states(engine: AsyncEngine) -> dict[int, str]:
    async with session_scope(engine) as session:
        rows = (await session.exec(select(FollowupState.lead_id, FollowupState.state))).all()
    return dict(rows)


async def test_empty_store(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    result = await check(engine, local("2027-03-08 12:00"))
    assert result.leads == [] and result.changes == [] and result.posts == []
    (rule,) = result.rules
    assert (rule.compliance.due, rule.compliance.ratio, rule.breaching_next) == (0, None, 0)


async def test_states_transitions_and_idempotence(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(
        engine,
        [
            mql("A", "2027-03-08 10:00"),  # warn 13:00, deadline 14:00, escalate Tue 09:00
            mql("B", "2027-03-08 10:00", "2027-03-08 11:00"),  # met
            mql("C", "2027-03-08 15:00"),  # pending all Monday
        ],
    )
    first = await check(engine, local("2027-03-08 13:00"))
    assert {(s.facts.external_id, s.state) for s in first.leads} == {("A", "due_soon")}
    assert [(s.facts.external_id, old, s.state) for s, old in first.changes] == [
        ("A", "pending", "due_soon")
    ]
    assert [p.key.split(":")[-1] for p in first.posts] == ["due_soon"]
    again = await check(engine, local("2027-03-08 13:00"))
    assert again.changes == [] and again.posts == []  # the same instant twice changes nothing
    later = await check(engine, local("2027-03-08 14:00"))
    assert [(s.facts.external_id, old, s.state) for s, old in later.changes] == [
        ("A", "due_soon", "breached")
    ]
    (post,) = later.posts
    assert post.channel == "C01ALERTS" and post.level == "breached"
    (rule,) = later.rules
    assert rule.open == {"pending": 0, "due_soon": 0, "breached": 1, "escalated": 0, "snoozed": 0}
    assert (rule.compliance.due, rule.compliance.met) == (2, 1)
    tuesday = await check(engine, local("2027-03-09 09:00"))
    assert {(s.facts.external_id, s.state) for s in tuesday.leads} == {
        ("A", "escalated"),
        ("C", "due_soon"),  # 2h on Monday, due at 10:00 on Tuesday
    }
    escalation = next(p for p in tuesday.posts if p.level == "escalated")
    assert "U01SALESLEAD" in escalation.mentions


async def test_dry_run_records_nothing(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")])
    result = await check(engine, local("2027-03-08 15:00"), dry_run=True)
    assert [s.state for s in result.leads] == ["breached"]
    assert await states(engine) == {}
    assert len((await check(engine, local("2027-03-08 15:00"))).changes) == 1


async def test_a_touch_closes_the_open_state(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")])
    await check(engine, local("2027-03-08 15:00"))
    await store_leads(engine, [mql("A", "2027-03-08 10:00", "2027-03-08 15:30")])
    result = await check(engine, local("2027-03-08 16:00"))
    assert [(s.facts.external_id, old, s.state) for s, old in result.changes] == [
        ("A", "breached", "late")
    ]
    assert result.posts == []
    assert (await check(engine, local("2027-03-08 16:30"))).changes == []


async def test_away_owner_and_matched_owner(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(
        engine,
        [mql("A", "2027-03-08 10:00"), mql("B", "2027-03-08 10:00", owner="ben@example.com")],
    )
    async with session_scope(engine) as session:
        session.add(
            Owner(source="crm", external_id="1", email="ana@example.com", slack_user_id="U0ANA")
        )
        session.add(
            Owner(source="crm", external_id="2", email="ben@example.com", slack_user_id="U0BEN")
        )
        session.add(
            AwayPeriod(
                user="U0BEN",
                start_at=local("2027-03-01 00:00"),
                end_at=None,
                created_by="U0BEN",
                created_at=local("2027-03-01 00:00"),
            )
        )
    result = await check(engine, local("2027-03-08 13:30"))
    to = {p.lead: p.user for p in result.posts}
    assert to == {"A": "U0ANA", "B": "U01SALESLEAD"}
    assert "away" in next(p.text for p in result.posts if p.lead == "B")


async def test_reassigned_lead_keeps_its_deadline(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")])
    await check(engine, local("2027-03-08 11:00"))
    async with session_scope(engine) as session:
        await session.exec(update(FollowupState).values(reassigned_to="U0NEW"))
    result = await check(engine, local("2027-03-08 14:00"))
    (status,) = result.leads
    assert status.times.deadline == local("2027-03-08 14:00")
    assert result.posts[0].mentions == ("U0NEW",)


async def test_changing_the_rule_recomputes_deadlines(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")])
    await check(engine, local("2027-03-08 11:00"))
    faster = parse_agreement(
        (EXAMPLES / "agreement.yaml").read_text().replace("within: 4h", "within: 2h"),
        base_dir=EXAMPLES,
    )
    async with AsyncSession(engine, expire_on_commit=False) as session:
        result = await run_check(session, faster, at=local("2027-03-08 12:00"))
        await session.commit()
    assert [s.state for s in result.leads] == ["breached"]
    assert result.leads[0].times.deadline == local("2027-03-08 12:00")


async def test_sql_compliance_equals_the_engine_on_random_leads(engine: AsyncEngine) -> None:
    agreement = await store_agreement(engine)
    rng = random.Random(7)
    start = local("2027-01-04 00:00")
    rows = []
    for i in range(300):
        handoff = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        touch = (
            handoff + timedelta(minutes=rng.randrange(-60, 60 * 24 * 5))
            if rng.random() < 0.7
            else None
        )
        disq = (
            handoff + timedelta(minutes=rng.randrange(0, 60 * 24 * 3))
            if rng.random() < 0.15
            else None
        )
        rows.append(
            mql(
                f"L{i}",
                handoff.replace(tzinfo=None).isoformat(),
                touch.replace(tzinfo=None).isoformat() if touch else None,
                disqualified=disq.replace(tzinfo=None).isoformat() if disq else None,
                reason="other" if disq else None,
            )
        )
    await store_leads(engine, rows)
    clock = BusinessClock.of(agreement)
    rule = agreement.followup[0]
    for at in (local("2027-01-20 10:00"), local("2027-02-15 16:59"), local("2027-03-31 12:00")):
        result = await check(engine, at)
        facts = [
            LeadFacts(
                0,
                r.lead_id,
                None,
                r.entered_at,
                r.first_touch_at,
                None,
                r.disqualified_at,
                r.disqualify_reason,
            )
            for r in rows
        ]
        statuses = [s for s in (evaluate(clock, rule, f, at) for f in facts) if s is not None]
        expected = compliance(rule, statuses)
        assert result.rules[0].compliance == expected, at
        open_expected = {
            state: sum(1 for s in statuses if s.state == state) for state in result.rules[0].open
        }
        assert result.rules[0].open == open_expected


def test_check_cli_json_and_dry_run(
    cli: CLI, cli_env: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    cli_env.setenv("SLACK_API_URL", fake_slack.url)
    assert cli("agreement", "apply", str(EXAMPLES / "agreement.yaml")).code == 0
    assert cli("sync", "--at", "2027-03-10T15:55:00-06:00").code == 0
    dry = cli("check", "--at", "2027-03-10T16:00:00-06:00", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    data = json.loads(dry.out)
    assert data["at"] == "2027-03-10T22:00:00+00:00"
    assert {lead["id"] for lead in data["leads"]} == {"L-1035", "L-1036"}
    lead = data["leads"][0]
    assert set(lead) >= {
        "id",
        "rule",
        "state",
        "owner",
        "handed_off_at",
        "deadline",
        "first_touch_at",
    }
    (c,) = data["compliance"]
    assert set(c) >= {"rule", "due", "met", "missed", "ratio", "budget", "budget_left"}
    planned = data["posts"]
    assert {lead for post in planned for lead in post["leads"]} == {"L-1035", "L-1036"}
    assert all(set(post) >= {"key", "channel", "text"} for post in planned)
    assert fake_slack.calls == []  # a dry run posts nothing

    refused = cli("check", "--at", "2027-03-10T16:00:00-06:00", "--json")
    assert refused.code == 2 and "SLACK_BOT_TOKEN" in refused.err

    cli_env.setenv("SLACK_BOT_TOKEN", TOKEN)
    real = cli("check", "--at", "2027-03-10T16:00:00-06:00", "--json")
    assert real.code == 0, real.err
    assert len(json.loads(real.out)["changes"]) == 2
    assert json.loads(real.out)["posts"] == planned
    posted = len(fake_slack.calls_to("chat.postMessage"))
    assert posted == len(planned)
    twice = cli("check", "--at", "2027-03-10T16:00:00-06:00", "--json")
    assert json.loads(twice.out)["changes"] == [] and json.loads(twice.out)["posts"] == []
    text = cli("check", "--at", "2027-03-10T16:00:00-06:00")
    assert "mql-first-touch" in text.out and "Recorded 0 state changes" in text.out
    assert len(fake_slack.calls_to("chat.postMessage")) == posted  # nothing posted twice


def test_check_without_agreement(sqlite_cli: CLI) -> None:
    result = sqlite_cli("check")
    assert result.code == 1 and "slabot agreement apply" in result.err


async def test_first_touch_before_hand_off_is_flagged(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00")])
    await check(engine, local("2027-03-08 15:00"))  # breached: it is now watched
    await store_leads(engine, [mql("A", "2027-03-08 10:00", "2027-03-08 09:00")])
    result = await check(engine, local("2027-03-08 16:00"))
    (status,) = result.leads
    assert (status.state, status.flags) == ("met", ("first_touch_before_handoff",))


async def test_deadlines_are_computed_once(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql(f"L{i}", "2027-03-08 10:00") for i in range(20)])
    await check(engine, local("2027-03-08 11:00"))
    async with session_scope(engine) as session:
        await session.exec(update(FollowupState).values(deadline=datetime(2030, 1, 1, tzinfo=UTC)))
    await check(engine, local("2027-03-08 11:30"))
    async with session_scope(engine) as session:
        kept = (
            await session.exec(
                select(func.count()).where(
                    col(FollowupState.deadline) == datetime(2030, 1, 1, tzinfo=UTC)
                )
            )
        ).one()
        assert kept == 20  # not recomputed: the hand-off and the rule did not change
        assert (await session.exec(select(func.count()).select_from(Lead))).one() == 20


@pytest.mark.parametrize("hour", ["07:59", "17:00"])
async def test_hand_off_off_hours(engine: AsyncEngine, hour: str) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", f"2027-03-08 {hour}")])
    result = await check(engine, local("2027-03-10 08:00"))
    (status,) = result.leads
    expected = local("2027-03-08 12:00") if hour == "07:59" else local("2027-03-09 12:00")
    assert status.times.deadline == expected


async def test_compliance_of_any_window(engine: AsyncEngine) -> None:
    from bot.followup_store import compliance_counts

    await store_agreement(engine)
    await store_leads(
        engine,
        [
            mql("W1", "2027-03-01 10:00", "2027-03-01 11:00"),  # met, week 9
            mql("W2", "2027-03-02 10:00", "2027-03-03 11:00"),  # late, week 9
            mql("W3", "2027-03-08 10:00", "2027-03-08 11:00"),  # met, week 10
        ],
    )
    await check(engine, local("2027-03-12 12:00"))
    async with session_scope(engine) as session:
        week9 = await compliance_counts(
            session,
            rule="mql-first-touch",
            start=local("2027-03-01 00:00"),
            at=local("2027-03-12 12:00"),
            until=local("2027-03-07 23:59"),
        )
        week10 = await compliance_counts(
            session,
            rule="mql-first-touch",
            start=local("2027-03-08 00:00"),
            at=local("2027-03-12 12:00"),
        )
    assert week9 == (2, 1)
    assert week10 == (1, 1)


async def test_a_steady_check_loads_only_the_changes(engine: AsyncEngine) -> None:
    await store_agreement(engine)
    await store_leads(engine, [mql("A", "2027-03-08 10:00"), mql("B", "2027-03-08 12:00")])
    first = await check(engine, local("2027-03-08 15:30"))
    assert {s.facts.external_id: s.state for s in first.leads} == {"A": "breached", "B": "due_soon"}
    steady = await check(engine, local("2027-03-08 15:45"))
    assert steady.leads == [] and steady.changes == []
    async with AsyncSession(engine, expire_on_commit=False) as session:
        everything = await run_check(
            session, example(), at=local("2027-03-08 15:45"), list_all=True
        )
    assert {s.facts.external_id for s in everything.leads} == {"A", "B"}
    assert everything.changes == []
    later = await check(engine, local("2027-03-08 16:00"))
    assert [(s.facts.external_id, s.state) for s in later.leads] == [("B", "breached")]

"""The breach ladder end to end: checks at controlled instants, the outbox, the fake Slack."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.actions import acknowledge
from bot.blocks.alerts import read_alert
from bot.sandbox.slack import FakeSlack
from models.db import session_scope
from models.outbox import find
from tests.utils.ladder import (
    ALERTS,
    ANA,
    SALES_LEAD,
    alerted,
    cycle,
    dm,
    key_of,
    ladder_agreement,
    listed,
    posted,
    setup,
)
from tests.utils.store import local, mql, store_leads

MONDAY = "2027-03-08"


def at(clock: str, day: str = MONDAY):  # type: ignore[no-untyped-def]
    return local(f"{day} {clock}")


async def test_the_ladder_over_a_business_day(engine: AsyncEngine, fake_slack: FakeSlack) -> None:
    agreement = ladder_agreement()
    await setup(engine, agreement)
    await store_leads(engine, [mql(name, f"{MONDAY} 08:00") for name in ("A", "B", "C")])

    quiet, _ = await cycle(engine, fake_slack, agreement, at("10:59"))
    assert quiet.posts == [] and posted(fake_slack) == []

    # 11:00: one direct message to Ana listing her three leads due soon.
    soon, _ = await cycle(engine, fake_slack, agreement, at("11:00"))
    (dm_message,) = posted(fake_slack, "due_soon")
    assert dm_message.channel == dm(ANA)
    assert sorted(listed(dm_message)) == ["A", "B", "C"]
    assert [p.key for p in soon.posts] == [key_of(dm_message)]
    assert key_of(dm_message).startswith(f"due_soon:{ANA}:")
    assert (await cycle(engine, fake_slack, agreement, at("11:30")))[0].posts == []

    # 12:00: one message in the alerts channel, the three leads with their buttons.
    await cycle(engine, fake_slack, agreement, at("12:00"))
    (breach,) = posted(fake_slack, "breach")
    assert breach.channel == ALERTS and sorted(listed(breach)) == ["A", "B", "C"]
    assert f"<@{ANA}>" in breach.text
    actions = [b for b in breach.blocks if b["type"] == "actions"]
    assert len(actions) == 3
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        "lead_contacted",
        "lead_snooze",
        "lead_not_a_fit",
        "lead_reassign",
    ]
    ids = read_alert(breach.blocks)
    assert ids is not None and ids.owner == ANA and len(ids.leads) == 3

    # Reminders every hour: not before, then once.
    assert (await cycle(engine, fake_slack, agreement, at("12:59")))[0].posts == []
    await cycle(engine, fake_slack, agreement, at("13:00"))
    first_reminder = posted(fake_slack, "breach")[-1]
    assert (
        first_reminder.ts != breach.ts
        and "Reminder: " in first_reminder.blocks[2]["elements"][0]["text"]
    )
    assert (await cycle(engine, fake_slack, agreement, at("13:30")))[0].posts == []

    # 14:00: escalated; the message mentions the rule's escalate_to.
    await cycle(engine, fake_slack, agreement, at("14:00"))
    escalation = posted(fake_slack, "breach")[-1]
    assert escalation.text.startswith(f"<@{SALES_LEAD}> ")
    assert f"<@{SALES_LEAD}>" in escalation.blocks[2]["elements"][0]["text"]
    assert escalation.blocks[2]["block_id"] == f"note/{SALES_LEAD}"
    assert "Escalated: " in escalation.blocks[2]["elements"][0]["text"]
    assert len(posted(fake_slack)) == 4  # DM, breach, reminder, escalation

    # Ana contacts A at 14:10 (`/sla ack`): the next check edits every message listing it.
    async with session_scope(engine) as session:
        await acknowledge(session, lead="sheet:A", by=ANA, at=at("14:10"))
    resolved, delivery = await cycle(engine, fake_slack, agreement, at("14:15"))
    assert resolved.posts == []
    assert {e.key for e in resolved.edits} == {key_of(m) for m in posted(fake_slack)}
    assert delivery is not None and sorted(delivery.edited) == sorted(resolved.keys)
    breach_now = posted(fake_slack, "breach")[0]
    assert len(breach_now.edits) == 1  # edited once, in place
    line = next(
        b["text"]["text"]
        for b in breach_now.blocks
        if str(b.get("block_id")).startswith("lead/") and b["text"]["text"].startswith("*A*")
    )
    assert f"contacted by <@{ANA}> after 6h 10m business time (late)" in line
    entry = await find(engine, key_of(breach_now))
    assert entry is not None and entry.status == "sent"

    # 15:00: the hourly reminder lists B and C only; A is settled.
    await cycle(engine, fake_slack, agreement, at("15:00"))
    reminder = posted(fake_slack, "breach")[-1]
    assert sorted(listed(reminder)) == ["B", "C"]
    assert f"<@{SALES_LEAD}>" not in reminder.text  # a reminder calls no one in again

    # No reminders at night: the next is at Tuesday's opening.
    count = len(posted(fake_slack))
    for clock in ("17:30", "23:00"):
        assert (await cycle(engine, fake_slack, agreement, at(clock)))[0].posts == []
    assert (await cycle(engine, fake_slack, agreement, at("08:00", "2027-03-09")))[0].posts
    assert len(posted(fake_slack)) == count + 1


async def test_one_message_per_owner_and_check(engine: AsyncEngine, fake_slack: FakeSlack) -> None:
    agreement = ladder_agreement()
    await setup(engine, agreement)
    await store_leads(
        engine,
        [
            mql("A", f"{MONDAY} 08:00"),
            mql("B", f"{MONDAY} 08:00"),
            mql("C", f"{MONDAY} 08:00"),
            mql("D", f"{MONDAY} 08:00", owner="ben@example.com"),
        ],
    )
    await cycle(engine, fake_slack, agreement, at("12:00"))  # due soon and breached at once
    messages = posted(fake_slack, "breach")
    assert {m.channel for m in messages} == {ALERTS}
    assert sorted(sorted(listed(m)) for m in messages) == [["A", "B", "C"], ["D"]]
    assert sorted(key_of(m).split(":")[1] for m in messages) == [ANA, "U0BEN"]
    assert posted(fake_slack, "due_soon") == []  # never announced due soon: it is past that


async def test_away_and_unmatched_owners_go_to_the_team_lead(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    from bot.actions import set_away

    agreement = ladder_agreement()
    await setup(engine, agreement)
    await store_leads(
        engine,
        [mql("A", f"{MONDAY} 08:00"), mql("Z", f"{MONDAY} 08:00", owner="zoe@example.com")],
    )
    async with session_scope(engine) as session:
        await set_away(session, user=ANA, until=None, by=ANA, at=at("07:00"))
    await cycle(engine, fake_slack, agreement, at("11:00"))
    (message,) = posted(fake_slack, "due_soon")
    assert message.channel == dm(SALES_LEAD) and sorted(listed(message)) == ["A", "Z"]
    note = message.blocks[2]["elements"][0]["text"]
    assert "Sent to the team lead (owner away or owner not matched to a Slack user)" in note
    assert "owner zoe@example.com" in str(message.blocks)


async def test_a_stale_source_posts_one_notice_and_pauses_breaches(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    from models.tables import SourceState

    agreement = ladder_agreement()
    await setup(engine, agreement)
    await store_leads(engine, [mql("A", f"{MONDAY} 08:00")])

    async def synced(when: str) -> None:
        async with session_scope(engine) as session:
            state = await session.get(SourceState, "sheet")
            if state is None:
                state = SourceState(name="sheet", kind="leads_csv")
            state.last_success_at = at(when)
            state.last_attempt_at = at(when)
            session.add(state)

    await synced("11:00")  # sync_every 15m: stale after 11:30
    for clock in ("12:00", "12:05", "13:00", "14:00"):
        found, _ = await cycle(engine, fake_slack, agreement, at(clock))
        assert [age.name for age in found.paused] == ["sheet"]
    (notice,) = posted(fake_slack, "stale")
    assert notice.channel == ALERTS
    assert "Data from sheet is stale since Mon 08 Mar 11:00 CST" in notice.text
    assert posted(fake_slack, "breach") == [] and posted(fake_slack, "due_soon") == []
    assert (await alerted(engine)) == {1: (None, None)}

    await synced("14:20")  # fresh again: the escalated lead is announced once
    resumed, _ = await cycle(engine, fake_slack, agreement, at("14:25"))
    assert resumed.paused == []
    (breach,) = posted(fake_slack, "breach")
    assert listed(breach) == ["A"] and f"<@{SALES_LEAD}>" in breach.text

    await synced("14:20")
    found, _ = await cycle(engine, fake_slack, agreement, at("15:30"))  # a second episode
    assert [p.kind for p in found.posts] == ["stale"]
    assert len(posted(fake_slack, "stale")) == 2


async def test_the_dry_run_posts_nothing_and_writes_nothing(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    from tests.utils.ladder import lead_states

    agreement = ladder_agreement()
    await setup(engine, agreement)
    await store_leads(engine, [mql("A", f"{MONDAY} 08:00"), mql("B", f"{MONDAY} 10:00")])
    await cycle(engine, fake_slack, agreement, at("11:00"))
    before = (await lead_states(engine), await alerted(engine))
    calls = len(fake_slack.calls)

    dry, _ = await cycle(engine, fake_slack, agreement, at("12:00"), dry_run=True)
    assert [(p.kind, p.leads) for p in dry.posts] == [("breach", ("A",))]
    assert (await lead_states(engine), await alerted(engine)) == before
    assert await find(engine, dry.posts[0].key) is None
    assert len(fake_slack.calls) == calls

    real, _ = await cycle(engine, fake_slack, agreement, at("12:00"))
    assert [p.as_json() for p in real.posts] == [p.as_json() for p in dry.posts]


async def test_an_owner_with_many_breaches_gets_one_bounded_message(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    agreement = ladder_agreement()
    await setup(engine, agreement)
    await store_leads(engine, [mql(f"L{i:03d}", f"{MONDAY} 08:00") for i in range(150)])
    found, _ = await cycle(engine, fake_slack, agreement, at("12:00"))
    (message,) = posted(fake_slack, "breach")
    assert len(message.blocks) <= 50 and len(found.posts[0].leads) == 150
    shown = len(listed(message))
    assert 0 < shown < 150
    assert message.blocks[-1]["elements"][0]["text"].startswith(f"…and {150 - shown} more")
    levels = await alerted(engine)
    assert {level for level, _ in levels.values()} == {"breached"}  # all announced, once
    assert (await cycle(engine, fake_slack, agreement, at("12:30")))[0].posts == []

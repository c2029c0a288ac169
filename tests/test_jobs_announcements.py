"""Wins after each sync and the admins' lifecycle reminders: each said once, whoever runs it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.blocks.modals import OPEN_REVISE, OPENERS
from bot.sandbox.slack import FakeSlack
from bot.sandbox.slack_history import dm_channel
from tests.utils.scheduler import WINS, align, jobs_on, keys, posts
from tests.utils.store import local, store_agreement

SYNCED = local("2027-03-02 10:00")  # D-2004 (24 Feb) and D-2007 (1 Mar) won in the last week


async def test_wins_found_by_a_sync_are_announced_once(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await store_agreement(engine)
    align(fake_slack, SYNCED)
    first, second = jobs_on(engine, fake_slack, "a"), jobs_on(engine, fake_slack, "b")
    assert await first.sync(SYNCED) is True
    assert await second.sync(SYNCED + timedelta(minutes=1)) is False  # the same 15-minute slot

    announced = posts(fake_slack, WINS)
    assert keys(announced) == [
        "win:deal:deals:D-2004",
        "win:deal:deals:D-2007",
    ]  # visits passed 25% of their target on 15 February: old news, recorded quietly
    assert announced[0].text == (
        "Deal D-2004 won by ana@example.com: 30,000 USD; 8% of the 1,200,000 USD goal now."
    )
    assert "ana@example.com" in announced[1].text and "27,000 USD" in announced[1].text
    # older wins (3 and 10 February) were recorded quietly: nothing later announces them
    assert await second.sync(SYNCED + timedelta(minutes=15)) is True
    assert await first.sync(SYNCED + timedelta(days=1)) is True
    assert len(posts(fake_slack, WINS)) == 2


async def test_the_ending_reminder_reaches_each_admin_once(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await store_agreement(engine)
    at = local("2027-06-23 09:00")
    align(fake_slack, at)
    jobs = jobs_on(engine, fake_slack)
    assert await jobs.lifecycle(at) is True
    assert await jobs.lifecycle(at + timedelta(hours=2)) is False  # the same day
    assert await jobs.lifecycle(local("2027-06-24 08:59")) is False  # not before 09:00
    assert await jobs.lifecycle(at + timedelta(days=1)) is True  # still the 7-day reminder
    for admin in ("U01MKTLEAD", "U01SALESLEAD"):
        [reminder] = posts(fake_slack, dm_channel(admin))
        assert keys([reminder]) == [f"lifecycle:2027-01-01:ends-in-7d:{admin}"]
        assert reminder.text.startswith(":hourglass_flowing_sand: Sales & Marketing SLA 2027 H1")
    assert await jobs.lifecycle(local("2027-06-29 09:00")) is True  # then the 1-day one
    assert len(posts(fake_slack, dm_channel("U01MKTLEAD"))) == 2


async def test_the_review_prompt_carries_the_button_that_opens_the_revise_modal(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    await store_agreement(engine)
    at = local("2027-04-01 09:00")
    align(fake_slack, at)
    jobs = jobs_on(engine, fake_slack)
    await jobs.lifecycle(at)
    await jobs.lifecycle(at + timedelta(days=3))
    [prompt] = posts(fake_slack, dm_channel("U01SALESLEAD"))
    assert keys([prompt]) == ["lifecycle:2027-01-01:review:U01SALESLEAD"]
    assert "half way through" in prompt.text
    [buttons] = [block for block in prompt.blocks if block["type"] == "actions"]
    [button] = buttons["elements"]
    assert button["action_id"] == OPEN_REVISE and OPEN_REVISE in OPENERS


async def test_owners_without_a_slack_user_are_reported_to_the_admins_once(
    engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    from models.db import session_scope
    from models.tables import Owner

    def owner(number: int, **more: object) -> Owner:
        return Owner(
            source="crm", external_id=str(number), email=f"rep{number}@example.com", **more
        )

    await store_agreement(engine)
    align(fake_slack, SYNCED)
    async with session_scope(engine) as session:
        session.add(owner(1, name="Rep One"))
        session.add(owner(2, slack_user_id="U0REP2"))
        session.add(owner(3, archived=True))
    jobs = jobs_on(engine, fake_slack)
    assert await jobs.sync(SYNCED) is True
    assert await jobs.sync(SYNCED + timedelta(minutes=15)) is True
    for admin in ("U01MKTLEAD", "U01SALESLEAD"):
        [told] = posts(fake_slack, dm_channel(admin))
        assert told.text == "1 CRM owner not matched to Slack users"
        body = told.blocks[0]["text"]["text"]
        assert "rep1@example.com (Rep One)" in body and "Map owners" in body
        assert "rep2@" not in body and "rep3@" not in body
    async with session_scope(engine) as session:
        session.add(owner(4))
    assert await jobs.sync(SYNCED + timedelta(minutes=30)) is True
    later = posts(fake_slack, dm_channel("U01MKTLEAD"))
    assert len(later) == 2
    assert "rep4@example.com" in later[1].blocks[0]["text"]["text"]
    assert "rep1@" not in later[1].blocks[0]["text"]["text"]

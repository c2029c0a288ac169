"""The leader killed with SIGKILL in the middle of its work: two real `slabot run` replicas on
one PostgreSQL database and the fake Slack, in real time. The leader is caught at a known point
(the fake Slack stalls one of its calls, having done it) and killed; the other replica leads
within the leader check's five seconds. What the dead one recorded is delivered (by it before
it died, or by the new leader), and the call it died in (with any other it had under way),
whose row its attempt still holds, is found again once that lease ends (ten minutes: run here at that instant rather than waited
for). Every message and chart reaches Slack exactly once; nothing is lost.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.outbox import LEASE
from bot.sandbox.slack import TOKEN, FakeSlack
from bot.sandbox.slack_files import files_of
from bot.sandbox.slack_messages import Message
from models.agreement_loader import load_agreement
from models.db import create_engine, session_scope
from models.ingest import LeadStageRecord, upsert_leads
from models.outbox import SENDING, active, find
from models.outbox_files import UPLOADING
from models.outbox_files import files_of as file_rows
from models.tables import FollowupState, JobRun, Owner
from scheduler.timetable import weekly_slot
from tests.conftest import EXAMPLES
from tests.utils.ladder import ALERTS, listed, posted
from tests.utils.processes import child_env, free_port, start_run
from tests.utils.scheduler import PROGRESS, align, jobs_on, keys, posts, ran_before, shared
from tests.utils.slack_bot import SIGNING_SECRET
from tests.utils.waiting import until

pytestmark = pytest.mark.postgres

TAKEOVER = 5.0  # scheduler.leader.Leader.check_every: how often a follower asks for the lock
STALL = 60.0  # longer than the test: the leader never gets its answer


@dataclass
class Replica:
    """One `slabot run` process; its log (JSON lines) in a file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str
    led_at: float | None = field(default=None)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def leads(self) -> bool:
        return "starting the scheduler" in self.output()


@pytest.fixture
def agreement_file(tmp_path: Path) -> Path:
    """The example agreement over a period around today (no reminder due: before its midpoint,
    far from its end), with no sources: only what the test stores is there."""
    today = datetime.now(UTC).date()
    text = (EXAMPLES / "agreement.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "period: {start: 2027-01-01, end: 2027-06-30}", _period(today - timedelta(days=30))
    )
    text = text[: text.index("\nsources:")] + "\n"
    path = tmp_path / "agreement.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _period(start: date) -> str:
    return (
        f"period: {{start: {start.isoformat()}, end: {(start + timedelta(days=180)).isoformat()}}}"
    )


@pytest.fixture
def replicas(
    postgres_url: str, fake_slack: FakeSlack, agreement_file: Path, tmp_path: Path
) -> Iterator[Callable[[str], Replica]]:
    started: list[Replica] = []

    def start(name: str) -> Replica:
        port = free_port()
        env = child_env(
            SLABOT_DATABASE_URL=postgres_url,
            SLABOT_AGREEMENT=str(agreement_file),
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake_slack.url,
            SLABOT_PORT=str(port),
            SLABOT_LOG_FORMAT="json",
        )
        log = tmp_path / f"{name}.log"
        process = start_run(env, tmp_path, log)
        replica = Replica(name, process, log, f"http://127.0.0.1:{port}")
        started.append(replica)
        return replica

    try:
        yield start
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.kill()
            replica.process.wait(10)


def _serving(replica: Replica) -> bool:
    assert replica.process.poll() is None, replica.output()
    try:
        return httpx.get(f"{replica.url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


async def _leader_then_follower(
    start: Callable[[str], Replica], caught: Callable[[], bool]
) -> tuple[Replica, Replica]:
    """The first replica leads and is caught at the stalled call; the second serves, follows."""
    first = start("first")
    await until(first.leads, 60, explain=first.output)
    second = start("second")
    await until(lambda: _serving(second), 60, explain=second.output)
    await until(caught, 30, explain=lambda: first.output()[-4000:])
    assert not second.leads()
    return first, second


async def _kill_and_take_over(first: Replica, second: Replica) -> float:
    """SIGKILL the leader; the seconds until the other one leads."""
    first.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    assert first.process.wait(10) == -signal.SIGKILL
    await until(second.leads, 30, every=0.05, explain=second.output)
    return time.monotonic() - killed


def _stop(replica: Replica) -> None:
    replica.process.send_signal(signal.SIGTERM)
    assert replica.process.wait(20) == 0, replica.output()


async def _later(engine: AsyncEngine, fake: FakeSlack) -> None:
    """The new leader's delivery once the dead one's lease ran out (10 minutes on): the same
    job, run here at that instant rather than waited for."""
    await jobs_on(engine, fake, "the-new-leader").deliver(
        datetime.now(UTC) + LEASE + timedelta(minutes=1)
    )


# --- killed while posting the check's alerts -------------------------------------------------


async def test_a_leader_killed_while_posting_alerts_each_alert_is_posted_once(
    replicas: Callable[[str], Replica], fake_slack: FakeSlack, postgres_url: str
) -> None:
    engine = create_engine(postgres_url)
    try:
        await _breached_leads(engine)
        align(fake_slack, datetime.now(UTC))
        # The leader's first alert reaches Slack, but its answer never comes back.
        fake_slack.inject("stall", method="chat.postMessage", seconds=STALL)
        first, second = await _leader_then_follower(
            replicas, lambda: len(fake_slack.messages.get(ALERTS, [])) >= 1
        )
        took = await _kill_and_take_over(first, second)
        assert took < TAKEOVER + 3, f"took over after {took:.1f} s"
        # The other alert, recorded with the check, is delivered (by either leader).
        await until(lambda: len(fake_slack.messages.get(ALERTS, [])) == 2, 30)
        _stop(second)
        # The stalled alert's row is still held by the dead leader's attempt. The other may be
        # too: the leader's delivery job can post it beside the check's own delivery, and the
        # kill can fall between Slack taking it and the row being marked sent.
        unsure = [e.key for e in await active(engine) if e.status == SENDING]
        assert 1 <= len(unsure) <= 2, unsure
        await _later(engine, fake_slack)

        alerts = posted(fake_slack)
        assert sorted((key.split(":")[1], sorted(listed(m))) for key, m in _keyed(alerts)) == [
            ("U0ANA", ["A1", "A2"]),
            ("U0BEN", ["B1"]),
        ]
        assert all(m.channel == ALERTS for m in alerts)
        assert len(fake_slack.messages[ALERTS]) == 2  # each once: the stalled one found again
        # One look in the channel for each row left unsure, and no more.
        assert len(fake_slack.calls_to("conversations.history")) == len(unsure)
        for key, message in _keyed(alerts):
            entry = await find(engine, key)
            assert entry is not None and (entry.status, entry.ts) == ("sent", message.ts)
        async with session_scope(engine) as session:
            levels = (await session.exec(select(FollowupState.alerted_level))).all()
            claims = (
                await session.exec(
                    select(JobRun.slot, JobRun.status).where(col(JobRun.job) == "check")
                )
            ).all()
        assert sorted(str(level) for level in levels) == ["escalated"] * 3  # announced once each
        # The dead leader's check was over; only delivery was cut. (When the test crosses a check
        # slot's boundary, the new leader claims the next slot as well, and stopping it may cut
        # that check short: any later slot is the new leader's.)
        assert sorted(claims)[0][1] == "done", claims
    finally:
        await engine.dispose()


def _keyed(messages: list[Message]) -> list[tuple[str, Message]]:
    return [(str((m.metadata or {})["event_payload"]["key"]), m) for m in messages]


async def _breached_leads(engine: AsyncEngine) -> None:
    """Ana's two leads and Ben's one, handed off ten days ago: escalated long since."""
    handed_off = datetime.now(UTC) - timedelta(days=10)
    rows = [
        LeadStageRecord(lead_id=lead, stage="mqls", entered_at=handed_off, owner_email=owner)
        for lead, owner in (
            ("A1", "ana@example.com"),
            ("A2", "ana@example.com"),
            ("B1", "ben@example.com"),
        )
    ]
    async with session_scope(engine) as session:
        await upsert_leads(session=session, source="sheet", rows=rows, at=handed_off)
        for handle, user in (("ana", "U0ANA"), ("ben", "U0BEN")):
            email = f"{handle}@example.com"
            session.add(Owner(source="sheet", external_id=handle, email=email, slack_user_id=user))


# --- killed while sharing the digest's charts ------------------------------------------------


async def test_a_leader_killed_while_sharing_a_digests_charts_posts_it_and_each_chart_once(
    replicas: Callable[[str], Replica],
    fake_slack: FakeSlack,
    postgres_url: str,
    agreement_file: Path,
) -> None:
    engine = create_engine(postgres_url)
    try:
        now = datetime.now(UTC)
        due = weekly_slot(load_agreement(agreement_file), now)
        before = weekly_slot(load_agreement(agreement_file), due.due_at - timedelta(days=1))
        await ran_before(engine, "digest:weekly", before.name, before.due_at)  # posted then
        align(fake_slack, now)
        # The digest is posted; its first chart's upload URL is given, the answer never comes.
        fake_slack.inject("stall", method="files.getUploadURLExternal", seconds=STALL)
        first, second = await _leader_then_follower(
            replicas, lambda: len(files_of(fake_slack).by_id) >= 1
        )
        [digest] = posts(fake_slack)
        assert keys([digest]) == [f"digest:weekly:{due.name}"]
        took = await _kill_and_take_over(first, second)
        assert took < TAKEOVER + 3, f"took over after {took:.1f} s"
        # The chart not stalled is shared (by the dead leader already, or by the new one).
        await until(lambda: len(shared(fake_slack)) == 1, 30)
        _stop(second)
        key = f"digest:weekly:{due.name}"
        # The stalled chart's row is still held by the dead leader's attempt; the other one may
        # be too, if the kill fell between Slack sharing it and the row being marked done.
        unsure = [r.filename for r in await file_rows(engine, key) if r.status == UPLOADING]
        assert 1 <= len(unsure) <= 2, unsure
        await _later(engine, fake_slack)

        assert posts(fake_slack) == [digest] and set(fake_slack.messages) == {PROGRESS}
        names = [f"funnel-{due.name}.png", f"revenue-{due.name}.png"]
        assert sorted((f.filename, f.thread_ts) for f in shared(fake_slack)) == [
            (name, digest.ts) for name in names
        ]
        # One look in the channel for each row left unsure (found there: not shared again).
        assert len(fake_slack.calls_to("files.list")) == len(unsure)
        entry = await find(engine, key)
        assert entry is not None and (entry.status, entry.ts) == ("sent", digest.ts)
        assert [r.status for r in await file_rows(engine, key)] == ["done", "done"]
        async with session_scope(engine) as session:
            claims = (
                await session.exec(
                    select(JobRun.slot, JobRun.status).where(col(JobRun.job) == "digest:weekly")
                )
            ).all()
        assert sorted(claims) == [(before.name, "done"), (due.name, "done")]
    finally:
        await engine.dispose()

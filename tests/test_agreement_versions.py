"""Agreement versions in the store: teams per version, the version in force, run's preflight."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from models.agreement_loader import load_agreement, parse_agreement
from models.agreements import agreement_of, apply_agreement, history, version_in_force
from models.db import session_scope
from models.tables import Team
from tests.conftest import CLI, EXAMPLES

TEXT = (EXAMPLES / "agreement.yaml").read_text()
H2 = TEXT.replace("2027 H1", "2027 H2").replace(
    "{start: 2027-01-01, end: 2027-06-30}", "{start: 2027-07-01, end: 2027-12-31}"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_versions_keep_their_teams_and_round_trip(engine: AsyncEngine) -> None:
    agreement = load_agreement(EXAMPLES / "agreement.yaml")
    async with session_scope(engine) as session:
        applied = await apply_agreement(
            session,
            agreement=agreement,
            source_text=TEXT,
            file="a.yaml",
            by="U1",
            at=at("2026-12-01T00:00:00+00:00"),
        )
    assert applied.created and applied.version.version == 1
    async with session_scope(engine) as session:
        teams = (await session.exec(select(Team).order_by(Team.key))).all()
        assert [(t.key, t.lead, t.channel) for t in teams] == [
            ("customer_success", "U01CSLEAD", "C01CS"),
            ("marketing", "U01MKTLEAD", "C01MKT"),
            ("sales", "U01SALESLEAD", "C01SALES"),
        ]
        stored = (await history(session))[0]
        assert stored.applied_at == at("2026-12-01T00:00:00+00:00")
        assert stored.applied_at.tzinfo is not None
        assert agreement_of(stored) == agreement


async def test_version_in_force_follows_periods_and_apply_times(engine: AsyncEngine) -> None:
    h1, h2 = parse_agreement(TEXT), parse_agreement(H2)
    async with session_scope(engine) as session:
        await apply_agreement(
            session,
            agreement=h1,
            source_text=TEXT,
            file="h1",
            by="a",
            at=at("2026-12-01T00:00:00+00:00"),
        )
        await apply_agreement(
            session,
            agreement=h2,
            source_text=H2,
            file="h2",
            by="b",
            at=at("2027-05-01T00:00:00+00:00"),
        )
    cases = {
        "2026-06-01T00:00:00+00:00": 1,  # before anything was applied: the first version
        "2027-03-01T00:00:00+00:00": 1,  # before H2 was applied
        "2027-05-15T00:00:00+00:00": 1,  # H2 applied, but its period has not started
        # Midnight UTC on July 1 is still June 30 in Chicago: H1 governs until local midnight.
        "2027-07-01T00:00:00+00:00": 1,
        "2027-07-01T05:00:00+00:00": 2,
        "2028-02-01T00:00:00+00:00": 2,  # past every period: the latest applied
    }
    async with session_scope(engine) as session:
        for instant, expected in cases.items():
            version = await version_in_force(session, at(instant))
            assert version is not None and version.version == expected, instant


async def test_empty_store_has_no_version_in_force(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        assert await version_in_force(session, datetime.now(UTC)) is None


async def test_a_failed_apply_writes_nothing(engine: AsyncEngine) -> None:
    agreement = parse_agreement(TEXT)
    with pytest.raises(RuntimeError):  # noqa: PT012  (a crash inside the transaction)
        async with session_scope(engine) as session:
            await apply_agreement(
                session,
                agreement=agreement,
                source_text=TEXT,
                file="x",
                by="a",
                at=datetime.now(UTC),
            )
            raise RuntimeError("crash after the rows were flushed")
    async with session_scope(engine) as session:
        assert await history(session) == []
        assert (await session.exec(select(Team))).all() == []


def test_run_refuses_a_bad_agreement_with_exit_2(
    cli: CLI, cli_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEXT.replace("rate: 0.25", "rate: 2.5"))
    cli_env.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    cli_env.setenv("SLACK_APP_TOKEN", "xapp-test-token")
    cli_env.setenv("SLABOT_AGREEMENT", str(bad))
    result = cli("run")
    assert result.code == 2
    assert "SLABOT_AGREEMENT" in result.err and "funnel[2].rate" in result.err


async def test_a_stored_version_is_parsed_once_and_the_one_in_force_is_found(
    engine: AsyncEngine,
) -> None:
    from models.agreements import agreement_of, version_in_force
    from tests.utils.store import example, store_agreement

    await store_agreement(engine)
    async with session_scope(engine) as session:
        one = await version_in_force(session, datetime(2027, 3, 1, tzinfo=UTC))
        two = await version_in_force(session, datetime(2027, 3, 2, tzinfo=UTC))
        assert one is not None and two is not None
        assert agreement_of(one) is agreement_of(two)
        assert agreement_of(one) == example()

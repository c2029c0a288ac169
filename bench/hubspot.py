"""HubSpot sync benchmark: N contacts from the fake portal (real HTTP, real limits) into a store.

By default time runs at its real pace, so the share of the rate-limit bound is honest (our own
processing counts in full); `--speed N` runs the client and the fake N times faster for a quick
look, at the cost of making our processing look N times slower. `python -m bench` runs it as
rows of its table (`--only hubspot`); alone, into SQLite, with
`python -m bench.hubspot --contacts 100000` (`--speed 20` for a million contacts' memory).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.sandbox.hubspot import FakeHubSpot
from models.agreement import HubspotSource
from models.db import create_engine, upgrade
from scheduler.sources.hubspot_client import HubSpotConfig, Limits, SystemClock
from scheduler.sync import sync_sources
from tests.utils.store import example

SPEED = 1.0
PAGE = 200
T0 = datetime(2027, 1, 4, 15, tzinfo=UTC)
STAGES = {"leads": "lead", "mqls": "marketingqualifiedlead"}


@dataclass(frozen=True)
class HubspotFigures:
    contacts: int
    requests: int
    searches: int
    portal_seconds: float
    wall_seconds: float
    peak_mb: float

    @property
    def requests_per_record(self) -> float:
        return self.requests / self.contacts

    @property
    def pages(self) -> int:
        return -(-self.contacts // PAGE)

    @property
    def share_of_bound(self) -> float:
        """Records per portal second over the most the search limit allows (4 pages a second)."""
        bound = Limits().search_per_second * PAGE
        return (self.contacts / self.portal_seconds) / bound if self.portal_seconds else 0.0


def _fill(fake: FakeHubSpot, contacts: int) -> None:
    fake.add_owner("7", "ana@example.com", "Ana", "Lopez")
    for n in range(contacts):
        entered = T0 + timedelta(seconds=n)
        properties = {"hubspot_owner_id": "7", "hs_lifecyclestage_lead_date": entered}
        if n % 2:
            properties["hs_lifecyclestage_marketingqualifiedlead_date"] = entered + timedelta(
                hours=1
            )
        fake.add_contact(**properties)


async def run(contacts: int, url: str, speed: float = SPEED) -> HubspotFigures:
    """Sync `contacts` contacts once into the fresh store at `url` and measure it."""
    with FakeHubSpot(speed=speed) as fake:
        _fill(fake, contacts)
        engine = create_engine(url)
        await upgrade(engine)
        crm = HubspotSource(name="crm", kind="hubspot", stages=STAGES)
        agreement = example().model_copy(update={"sources": [crm]})
        config = HubSpotConfig(token=fake.token, base_url=fake.url, clock=SystemClock(speed))
        tracemalloc.start()
        started = time.perf_counter()
        (result,) = await sync_sources(
            engine, agreement, at=T0 + timedelta(days=60), hubspot=config
        )
        wall = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        await engine.dispose()
        if result.status != "ok" or result.fetched != contacts:
            raise RuntimeError(f"the sync did not complete: {result.status} {result.error}")
        return HubspotFigures(
            contacts=contacts,
            requests=len(fake.requests),
            searches=len(fake.searches("contacts")) + len(fake.searches("deals")),
            portal_seconds=wall * speed,
            wall_seconds=wall,
            peak_mb=peak / 2**20,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--speed", type=float, default=SPEED)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'hubspot.db'}"
        figures = asyncio.run(run(args.contacts, url, args.speed))
    print(
        f"contacts {figures.contacts:,}; requests {figures.requests:,} "
        f"({figures.requests_per_record:.4f} per record, optimum {1 / PAGE:.4f}); "
        f"throughput {figures.share_of_bound:.0%} of the search-limit bound; "
        f"{figures.portal_seconds:,.0f} s portal time ({figures.wall_seconds:,.1f} s wall at x{args.speed:g}); "
        f"peak Python memory {figures.peak_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()

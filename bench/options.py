"""What a bench run measures: the benchmarks, the stores and the sizes (full, or scaled down)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

BENCHMARKS = ("deadlines", "check", "status", "slack", "burst", "storm", "hubspot")
STORES = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Sizes:
    """The full sizes of the issue; `scaled` shrinks the data, never the number of runs or of
    concurrent requests."""

    deadlines: int = 1_000_000
    check_leads: int = 1_000_000
    check_open: int = 100_000
    status_leads: int = 100_000  # also the store of `/sla status` and of the `/sla` burst
    status_open: int = 10_000
    status_runs: int = 50
    slack_runs: int = 200  # `/sla status` through the HTTP listener; p99 is the 2nd slowest
    burst_requests: int = 200  # `/sla` commands sent at once to one replica
    storm_leads: int = 100_000
    storm_open: int = 50_000  # untouched past their deadline: all announced by one check
    storm_owners: int = 50  # the breach messages are one per owner (unmatched: their lead's)
    hubspot_contacts: int = 100_000
    hubspot_speed: float = 1.0  # the HubSpot clock's pace (1: real time, the honest figure)
    steady_runs: int = 3
    days: int = 730

    def scaled(self, factor: float) -> Sizes:
        if factor <= 0:
            raise ValueError("the scale must be positive")

        def n(value: int) -> int:
            return max(1, round(value * factor))

        return replace(
            self,
            deadlines=n(self.deadlines),
            check_leads=max(2, n(self.check_leads)),
            check_open=n(self.check_open),
            status_leads=max(2, n(self.status_leads)),
            status_open=n(self.status_open),
            storm_leads=max(2, n(self.storm_leads)),
            storm_open=n(self.storm_open),
            storm_owners=max(2, n(self.storm_owners)),
            hubspot_contacts=n(self.hubspot_contacts),
        )


@dataclass(frozen=True)
class Options:
    sizes: Sizes = field(default_factory=Sizes)
    only: tuple[str, ...] = BENCHMARKS
    stores: tuple[str, ...] = STORES
    postgres_url: str = DEFAULT_POSTGRES_URL
    isolate: bool = True  # one process per measurement (RSS per benchmark)
    folder: Path | None = None  # where the SQLite files go (a temp folder by default)

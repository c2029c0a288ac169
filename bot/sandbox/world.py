"""The world of `slabot demo` and `slabot sandbox`: the fake Slack and HubSpot, seeded with six
months of sample data, a sample agreement beside them, and the settings that point the bot there.

One implementation with the tests: the fakes are the ones the test suite runs against, and the
bot is pointed at them only through its ordinary settings (`SLACK_API_URL`, `HUBSPOT_API_URL`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.sandbox.hubspot import FakeHubSpot
from bot.sandbox.sample_data import (
    DEMO_AT,
    SampleSummary,
    demo_agreement_yaml,
    seed_hubspot,
    seed_slack,
    write_metrics_csv,
)
from bot.sandbox.slack import TOKEN, FakeSlack
from bot.settings import Settings

AGREEMENT_FILE = "agreement.yaml"
METRICS_FILE = "visits.csv"
DATABASE_FILE = "slabot.db"
DEMO_PERIOD = (date(2027, 1, 1), date(2027, 6, 30))  # the sample agreement's own
_PERIOD = re.compile(r"^period: \{start: [0-9-]+, end: [0-9-]+\}", re.MULTILINE)


@dataclass(frozen=True)
class World:
    """The running fakes and the files beside them."""

    folder: Path
    slack: FakeSlack
    hubspot: FakeHubSpot
    names: dict[str, str]  # Slack ids (people and channels) -> names, to render messages
    summary: SampleSummary
    signing_secret: str

    @property
    def agreement_file(self) -> Path:
        return self.folder / AGREEMENT_FILE

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / DATABASE_FILE}"

    def environment(self) -> dict[str, str]:
        """The bot's settings for this world, as environment variables."""
        return {
            "SLABOT_DATABASE_URL": self.database_url,
            "SLABOT_AGREEMENT": str(self.agreement_file),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.slack.url,
            "HUBSPOT_TOKEN": self.hubspot.token,
            "HUBSPOT_API_URL": self.hubspot.url,
        }

    def settings(self) -> Settings:
        values: dict[str, Any] = self.environment()  # by the variables' names (aliases)
        return Settings(_env_file=None, **values)


def agreement_text(at: datetime, *, fixed: bool) -> str:
    """The sample agreement; unless `fixed` (the demo's own period), its period is moved so
    that `at` stands where the demo's instant stands in its own: the same length and the same
    day of it, so the sample data's pace matches the plan's."""
    text = demo_agreement_yaml()
    if fixed:
        return text
    start = at.date() - (DEMO_AT.date() - DEMO_PERIOD[0])
    end = start + (DEMO_PERIOD[1] - DEMO_PERIOD[0])
    moved, found = _PERIOD.subn(
        f"period: {{start: {start.isoformat()}, end: {end.isoformat()}}}", text
    )
    if found != 1:  # the sample agreement's layout changed: fail here, not with odd figures
        raise ValueError("the sample agreement has no one-line `period: {start: …, end: …}`")
    return moved


@contextmanager
def open_world(
    folder: Path,
    *,
    at: datetime,
    fixed_period: bool = True,
    slack_port: int = 0,
    hubspot_port: int = 0,
    seed: int = 2027,
) -> Iterator[World]:
    """Write the agreement and the metrics file into `folder`, seed and start the fakes."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / AGREEMENT_FILE).write_text(agreement_text(at, fixed=fixed_period), encoding="utf-8")
    write_metrics_csv(folder / METRICS_FILE, until=at, seed=seed)
    slack = FakeSlack()
    names = seed_slack(slack)
    hubspot = FakeHubSpot(now=at)
    summary = seed_hubspot(hubspot, until=at, seed=seed)
    slack.start(slack_port)
    try:
        hubspot.start(hubspot_port)
        try:
            yield World(folder, slack, hubspot, names, summary, secrets.token_hex(16))
        finally:
            hubspot.stop()
    finally:
        slack.stop()

"""CRM owners to Slack users, by email through `users.lookupByEmail`, remembered in the store.

An owner's Slack user is looked up once and kept (`Owner.slack_user_id`; the HubSpot sync clears
it when the owner's email changes). An email with no Slack user is asked again only after
`RECHECK_AFTER` (`Owner.slack_checked_at`), so a sync every few minutes does not ask Slack about
the same people each time. A failure of Slack (a refused token, a missing scope, limits that
outlast the retries, an outage) stops the lookups and is reported; what was found is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.slack import is_call_failure, slack_error
from models.tables import Owner

RECHECK_AFTER = timedelta(hours=24)
LOOKUP = "users.lookupByEmail"
NOT_FOUND = "users_not_found"


@dataclass
class MatchResult:
    """What one run of `match_owners` did."""

    looked_up: int = 0  # emails asked of Slack
    matched: int = 0  # owners given a Slack user
    not_found: int = 0  # owners whose email has no Slack user (asked again after RECHECK_AFTER)
    left: int = 0  # owners not looked up because Slack failed
    error: str | None = None  # why the lookups stopped

    def summary(self) -> str | None:
        """One line for the sync's report, or None when nothing was asked."""
        if self.error is not None:
            return (
                f"Slack users not matched: {self.error} "
                f"({_owners(self.left)} left for the next sync)"
            )
        if not self.looked_up and not self.matched:
            return None
        return (
            f"Slack: {_owners(self.matched)} matched, {self.not_found} with no Slack user"
            if self.not_found
            else f"Slack: {_owners(self.matched)} matched"
        )


def _owners(n: int) -> str:
    return f"{n} owner{'s' if n != 1 else ''}"


def _email(owner: Owner) -> str:
    return (owner.email or "").strip().lower()


async def match_owners(
    session: AsyncSession,
    client: AsyncWebClient,
    *,
    at: datetime,
    recheck_after: timedelta = RECHECK_AFTER,
) -> MatchResult:
    """Give each active owner with an email but no Slack user the one Slack has for its email.

    Each email is asked at most once (owners may share one, or be matched already under another
    source). Changes are added to `session`; the caller commits them.
    """
    due = await session.exec(
        select(Owner)
        .where(
            col(Owner.archived).is_(False),
            col(Owner.email).is_not(None),
            col(Owner.email) != "",
            col(Owner.slack_user_id).is_(None),
            or_(
                col(Owner.slack_checked_at).is_(None),
                col(Owner.slack_checked_at) <= at - recheck_after,
            ),
        )
        .order_by(col(Owner.id))
    )
    owners = list(due.all())
    result = MatchResult()
    if not owners:
        return result
    known: dict[str, str | None] = await _matched_emails(session)
    for n, owner in enumerate(owners):
        email = _email(owner)
        if email not in known:
            try:
                known[email] = await lookup_user(client, email)
            except Exception as exc:
                if not is_call_failure(exc):
                    raise
                result.error, result.left = slack_error(exc, LOOKUP), len(owners) - n
                break
            result.looked_up += 1
        owner.slack_user_id = known[email]
        owner.slack_checked_at = at
        session.add(owner)
        if owner.slack_user_id is None:
            result.not_found += 1
        else:
            result.matched += 1
    return result


async def lookup_user(client: AsyncWebClient, email: str) -> str | None:
    """The id of the active Slack member with this email, or None when there is none."""
    try:
        response = await client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        data = exc.response.data
        if isinstance(data, dict) and data.get("error") == NOT_FOUND:
            return None
        raise
    user = response.get("user") or {}
    if user.get("deleted") or user.get("is_bot") or not user.get("id"):
        return None  # a deactivated member or an app cannot be pinged about leads
    return str(user["id"])


async def _matched_emails(session: AsyncSession) -> dict[str, str | None]:
    """Email -> Slack user of owners already matched (under any source)."""
    rows = await session.exec(
        select(Owner.email, Owner.slack_user_id).where(
            col(Owner.email).is_not(None), col(Owner.slack_user_id).is_not(None)
        )
    )
    return {(email or "").strip().lower(): user for email, user in rows.all()}


async def unmatched_owners(session: AsyncSession) -> list[Owner]:
    """Active owners with an email and no Slack user (alerts cannot mention them)."""
    rows = await session.exec(
        select(Owner)
        .where(
            col(Owner.archived).is_(False),
            col(Owner.email).is_not(None),
            col(Owner.email) != "",
            col(Owner.slack_user_id).is_(None),
        )
        .order_by(col(Owner.email), col(Owner.id))
    )
    return list(rows.all())

"""The store's tables: agreement versions, synced records, people's actions and the bot's memory."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Numeric, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime

# SQLModel's metadata, with constraint names that migrations can refer to on every dialect.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _instant(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, index=index, nullable=nullable)


class AgreementVersion(SQLModel, table=True):
    """One applied version of the agreement; the document is the validated, canonical content."""

    __tablename__ = "agreement_version"
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    name: str
    content_hash: str = Field(index=True, max_length=64)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    source_text: str = Field(sa_type=Text)
    file: str
    period_start: date
    period_end: date
    timezone: str
    applied_at: datetime = Field(sa_type=UTCDateTime, index=True)
    applied_by: str
    diff: str = Field(default="", sa_type=Text)


class Team(SQLModel, table=True):
    """A party to one agreement version, with its lead and channel."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("agreement_version_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    agreement_version_id: int = Field(foreign_key="agreement_version.id", ondelete="CASCADE")
    key: str
    lead: str
    channel: str | None = None


class SourceState(SQLModel, table=True):
    """A KPI source's sync cursor and health."""

    __tablename__ = "source_state"
    name: str = Field(primary_key=True)
    kind: str
    cursor: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    last_attempt_at: datetime | None = _instant()
    last_success_at: datetime | None = _instant()
    last_error_at: datetime | None = _instant()
    last_error: str | None = Field(default=None, sa_type=Text)
    fetched: int = 0
    stored: int = 0
    bad: int = 0


class Owner(SQLModel, table=True):
    """A CRM record owner and the Slack user it maps to (found by email, see scheduler.owners)."""

    __tablename__ = "owner"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    external_id: str
    email: str | None = Field(default=None, index=True)
    name: str | None = None
    slack_user_id: str | None = None
    slack_checked_at: datetime | None = _instant()  # last `users.lookupByEmail` for this email
    unmatched_reported_at: datetime | None = _instant()  # when the admins heard it has no match
    archived: bool = False


class Lead(SQLModel, table=True):
    """A lead (contact) as the sources see it, plus what people did about its follow-up."""

    __tablename__ = "lead"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    external_id: str
    owner_email: str | None = Field(default=None, index=True)
    owner_external_id: str | None = None
    stage: str | None = Field(default=None, index=True)
    first_touch_at: datetime | None = _instant(index=True)
    first_touch_by: str | None = None
    disqualified_at: datetime | None = _instant()
    disqualify_reason: str | None = None
    disqualified_by: str | None = None
    updated_at: datetime | None = _instant()


class LeadStage(SQLModel, table=True):
    """When a lead entered a funnel stage (the hand-off instant for follow-up rules)."""

    __tablename__ = "lead_stage"
    __table_args__ = (
        Index("ix_lead_stage_stage_entered_at", "stage", "entered_at"),
        Index("ix_lead_stage_stage_changed_at", "stage", "changed_at", "lead_id"),
    )
    lead_id: int = Field(foreign_key="lead.id", primary_key=True, ondelete="CASCADE")
    stage: str = Field(primary_key=True)
    entered_at: datetime = Field(sa_type=UTCDateTime)
    # When sync stored or moved the entry, never earlier than an entry stored before it, so
    # `check` computes deadlines only for entries changed since its watermark (FollowupCursor).
    changed_at: datetime = Field(sa_type=UTCDateTime)


class Deal(SQLModel, table=True):
    """A deal; closed-won deals are revenue at their close instant."""

    __tablename__ = "deal"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    external_id: str
    owner_email: str | None = None
    amount: Decimal = Field(default=Decimal(0), sa_type=Numeric(20, 4))
    stage: str | None = None
    created_at: datetime | None = _instant()
    closed_won_at: datetime | None = _instant(index=True)


class MetricValue(SQLModel, table=True):
    """The current value of a daily metric (one per source, metric, day and team)."""

    __tablename__ = "metric_value"
    __table_args__ = (
        UniqueConstraint("source", "metric", "day", "team"),
        Index("ix_metric_value_metric_day", "metric", "day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str
    metric: str
    day: date
    team: str = ""
    value: float
    entered_by: str | None = None
    entered_at: datetime = Field(sa_type=UTCDateTime)


class MetricValueHistory(SQLModel, table=True):
    """A daily metric value that a later one replaced, kept for the record."""

    __tablename__ = "metric_value_history"
    id: int | None = Field(default=None, primary_key=True)
    source: str
    metric: str = Field(index=True)
    day: date
    team: str = ""
    value: float
    entered_by: str | None = None
    entered_at: datetime = Field(sa_type=UTCDateTime)
    replaced_at: datetime = Field(sa_type=UTCDateTime)


_OPEN_COLUMNS = (
    "rule",
    "handed_off_at",
    "deadline",
    "warn_at",
    "escalate_at",
    "snoozed_until",
    "state",
    "closed_at",
)


class FollowupState(SQLModel, table=True):
    """A lead's hand-off on one follow-up rule: its deadlines, last known state, people's actions.

    The instants are computed once per hand-off (business time) and kept, so candidates are
    selected in SQL by deadline; `rule_key` says which rule and business hours they came from,
    and a row whose key or hand-off no longer matches is computed again.

    `first_touch_at` and `closed_at` (the earlier of the first touch and the disqualification)
    are the lead's, copied here by every writer of those facts (`models.lead_closure`), so that
    compliance and open counts are read from this table alone, the open rows through a partial
    index.
    """

    __tablename__ = "followup_state"
    __table_args__ = (
        UniqueConstraint("rule", "lead_id"),
        Index("ix_followup_state_rule_warn_at", "rule", "warn_at"),
        Index("ix_followup_state_rule_deadline", "rule", "deadline"),
        Index("ix_followup_state_rule_handed_off_at", "rule", "handed_off_at"),
        Index("ix_followup_state_rule_closed_at", "rule", "closed_at"),
        # The rows still open, with every column their state at an instant depends on (and
        # `closed_at`, without which SQLite does not read it as covering).
        Index(
            "ix_followup_state_open",
            *_OPEN_COLUMNS,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    rule: str
    lead_id: int = Field(foreign_key="lead.id", ondelete="CASCADE")
    rule_key: str = Field(max_length=64)
    handed_off_at: datetime = Field(sa_type=UTCDateTime)
    warn_at: datetime = Field(sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    escalate_at: datetime | None = _instant()
    state: str = Field(index=True)
    # The alert level last announced for the lead (`bot.alerting`) and when: a lead is claimed
    # for a message by a conditional update of these two, so it is announced once per level.
    alerted_level: str | None = None
    alerted_at: datetime | None = _instant()
    snoozed_until: datetime | None = _instant()
    snoozed_by: str | None = None
    reassigned_to: str | None = None
    updated_at: datetime = Field(sa_type=UTCDateTime)
    first_touch_at: datetime | None = _instant()
    closed_at: datetime | None = _instant()


class FollowupCursor(SQLModel, table=True):
    """How far `check` has kept a rule's deadlines: every entry into `stage` changed before
    `changed_since` has them, for this `rule_key` (another stage or key: all are looked at)."""

    __tablename__ = "followup_cursor"
    rule: str = Field(primary_key=True)
    stage: str
    rule_key: str = Field(max_length=64)
    changed_since: datetime = Field(sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A Slack message the bot means to post: recorded first, then sent, then marked with its ts."""

    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    channel: str
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)
    ts: str | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = _instant()


class OutboxFile(SQLModel, table=True):
    """A file to share in the thread of an outbox message (a digest's chart), uploaded once."""

    __tablename__ = "outbox_file"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    message_key: str = Field(index=True)  # the outbox message whose thread it goes to
    filename: str
    title: str
    content: bytes = Field(sa_type=LargeBinary)
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    file_id: str | None = None
    retry_at: datetime | None = _instant()  # the next attempt, or the lease of one in flight
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    uploaded_at: datetime | None = _instant()


class JobRun(SQLModel, table=True):
    """A claimed run of a scheduled job for one slot; the unique pair makes each slot run once."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "slot"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str
    slot: str
    claimed_by: str
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = _instant()
    status: str = "running"


class Win(SQLModel, table=True):
    """Something worth celebrating (a won deal, a milestone, a streak), recorded once by key."""

    __tablename__ = "win"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str
    title: str
    amount: Decimal | None = Field(default=None, sa_type=Numeric(20, 4))
    user: str | None = None
    at: datetime = Field(sa_type=UTCDateTime, index=True)


class Kudos(SQLModel, table=True):
    """Thanks from one person to another (`/sla kudos`)."""

    __tablename__ = "kudos"
    id: int | None = Field(default=None, primary_key=True)
    from_user: str
    to_user: str = Field(index=True)
    text: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime)


class AwayPeriod(SQLModel, table=True):
    """A person away (alerts for their leads go to their team lead meanwhile)."""

    __tablename__ = "away_period"
    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(index=True)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime | None = _instant()
    created_by: str
    created_at: datetime = Field(sa_type=UTCDateTime)


class SlackRequest(SQLModel, table=True):
    """A Slack request already handled (event id, or the action's identity), claimed once.

    Slack delivers events again (`X-Slack-Retry-Num`); the unique key lets every replica see
    that a delivery was already applied, so an action never happens twice.
    """

    __tablename__ = "slack_request"
    key: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=40)
    at: datetime = Field(sa_type=UTCDateTime, index=True)

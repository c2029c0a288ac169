"""followup closure and deadline watermark

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The lead's first touch and closure (the earlier of first touch and disqualification), as
# `models.lead_closure` computes them; written out here so this revision never changes.
_LEAD = "FROM lead WHERE lead.id = followup_state.lead_id"
_BACKFILL_CLOSURE = f"""
UPDATE followup_state SET
    first_touch_at = (SELECT lead.first_touch_at {_LEAD}),
    closed_at = (
        SELECT CASE
            WHEN lead.first_touch_at IS NULL THEN lead.disqualified_at
            WHEN lead.disqualified_at IS NULL THEN lead.first_touch_at
            WHEN lead.first_touch_at <= lead.disqualified_at THEN lead.first_touch_at
            ELSE lead.disqualified_at
        END {_LEAD}
    )
"""


def upgrade() -> None:
    # When sync stored or moved each stage entry: `check` computes deadlines only for entries
    # changed since its per-rule watermark. Existing entries take their entry instant; no rule
    # has a watermark yet, so the first check after this revision looks at all of them once.
    with op.batch_alter_table("lead_stage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE lead_stage SET changed_at = entered_at")
    with op.batch_alter_table("lead_stage", schema=None) as batch_op:
        batch_op.alter_column(
            "changed_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index(
            "ix_lead_stage_stage_changed_at", ["stage", "changed_at", "lead_id"], unique=False
        )

    # The lead's first touch and closure on each follow-up row, so counts need no join.
    with op.batch_alter_table("followup_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_touch_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(_BACKFILL_CLOSURE)
    with op.batch_alter_table("followup_state", schema=None) as batch_op:
        batch_op.create_index(
            "ix_followup_state_rule_closed_at", ["rule", "closed_at"], unique=False
        )
        batch_op.create_index(
            "ix_followup_state_open",
            [
                "rule",
                "handed_off_at",
                "deadline",
                "warn_at",
                "escalate_at",
                "snoozed_until",
                "state",
                "closed_at",
            ],
            unique=False,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )

    op.create_table(
        "followup_cursor",
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("rule_key", sa.String(length=64), nullable=False),
        sa.Column("changed_since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rule", name=op.f("pk_followup_cursor")),
    )


def downgrade() -> None:
    op.drop_table("followup_cursor")
    with op.batch_alter_table("followup_state", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_followup_state_open",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index("ix_followup_state_rule_closed_at")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("first_touch_at")
    with op.batch_alter_table("lead_stage", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_stage_stage_changed_at")
        batch_op.drop_column("changed_at")

"""followup deadlines

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:13:19.936560
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The rows are a cache of computed deadlines plus state that nothing wrote before this
    # revision; clearing them lets the new columns be NOT NULL on every database.
    op.execute("DELETE FROM followup_state")
    with op.batch_alter_table("followup_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule_key", sa.String(length=64), nullable=False))
        batch_op.add_column(sa.Column("handed_off_at", sa.DateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column("warn_at", sa.DateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column("deadline", sa.DateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_followup_state_rule_deadline", ["rule", "deadline"], unique=False)
        batch_op.create_index(
            "ix_followup_state_rule_handed_off_at", ["rule", "handed_off_at"], unique=False
        )
        batch_op.create_index("ix_followup_state_rule_warn_at", ["rule", "warn_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("followup_state", schema=None) as batch_op:
        batch_op.drop_index("ix_followup_state_rule_warn_at")
        batch_op.drop_index("ix_followup_state_rule_handed_off_at")
        batch_op.drop_index("ix_followup_state_rule_deadline")
        batch_op.drop_column("escalate_at")
        batch_op.drop_column("deadline")
        batch_op.drop_column("warn_at")
        batch_op.drop_column("handed_off_at")
        batch_op.drop_column("rule_key")

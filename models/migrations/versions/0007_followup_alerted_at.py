"""followup alerted_at: when a lead was last announced

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # With `alerted_level` (the level last announced), when it was announced: the check claims
    # a lead for a message with a conditional update of both, and a reminder is due when
    # `alerted_at` is older than the rule's `remind_every`. Nothing was announced before this.
    with op.batch_alter_table("followup_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followup_state", schema=None) as batch_op:
        batch_op.drop_column("alerted_at")

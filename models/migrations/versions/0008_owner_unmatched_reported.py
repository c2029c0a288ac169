"""owner unmatched reported

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 04:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # When the admins were told that an owner has no Slack user, so each is reported once.
    with op.batch_alter_table("owner", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unmatched_reported_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("owner", schema=None) as batch_op:
        batch_op.drop_column("unmatched_reported_at")

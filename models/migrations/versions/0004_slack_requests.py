"""slack requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Slack requests already handled, so a redelivered event or a retried action applies once.
    op.create_table(
        "slack_request",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_slack_request")),
    )
    op.create_index(op.f("ix_slack_request_at"), "slack_request", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_request_at"), table_name="slack_request")
    op.drop_table("slack_request")

"""outbox files

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Files shared in the thread of an outbox message (a digest's charts): recorded with the
    # message, uploaded once it is posted.
    op.create_table(
        "outbox_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("message_key", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_file")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_file_key")),
    )
    op.create_index(
        op.f("ix_outbox_file_message_key"), "outbox_file", ["message_key"], unique=False
    )
    op.create_index(op.f("ix_outbox_file_status"), "outbox_file", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_file_status"), table_name="outbox_file")
    op.drop_index(op.f("ix_outbox_file_message_key"), table_name="outbox_file")
    op.drop_table("outbox_file")

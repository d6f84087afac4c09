"""Drafts of a step's answers, kept as they are typed (a long assessment survives a closed tab or an
ended session)

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "task_draft",
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id"), primary_key=True),
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("task_draft")

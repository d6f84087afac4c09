"""A marker's circulation list: who was told, when, by which step, with what wording and why

Revision ID: 0022
Revises: 0021b
"""
from alembic import op
import sqlalchemy as sa

revision = "0022"
down_revision = "0021b"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "circulation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alert.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("workflow_case.id"), nullable=True),
        sa.Column("element", sa.String(200), nullable=False),
        sa.Column("notice", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("wording", sa.Text(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("told_by", sa.String(80), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_circulation_alert_id", "circulation", ["alert_id"])
    op.create_index("ix_circulation_unsent", "circulation", ["id"], postgresql_where=sa.text("sent_at IS NULL"),
                    sqlite_where=sa.text("sent_at IS NULL"))


def downgrade():
    op.drop_index("ix_circulation_unsent", table_name="circulation")
    op.drop_index("ix_circulation_alert_id", table_name="circulation")
    op.drop_table("circulation")

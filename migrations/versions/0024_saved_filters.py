"""Saved inbox filters: a person's own, or shared with everyone holding one of their roles

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("role", sa.String(80), nullable=True),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_saved_filter_owner", "saved_filter", ["owner"])
    op.create_index("ix_saved_filter_role", "saved_filter", ["role"])


def downgrade():
    op.drop_index("ix_saved_filter_role", table_name="saved_filter")
    op.drop_index("ix_saved_filter_owner", table_name="saved_filter")
    op.drop_table("saved_filter")

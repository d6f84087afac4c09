"""Marker fields of the pack's own, carried across a marker's cases: their values as set, beside
the labels staff read (marker_details)

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("alert", sa.Column("marker_values", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("alert", "marker_values")

"""The active pack chosen in the database (one row, audited): `alertflow pack use` and the packs
page name it; with no row, ALERTFLOW_PACK does (a new install)

Revision ID: 0028a
Revises: 0027f
"""
from alembic import op
import sqlalchemy as sa

revision = "0028a"
down_revision = "0027f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "active_pack",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pack", sa.String(40), nullable=False),
        sa.Column("chosen_by", sa.String(80), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_active_pack_one_row"),
    )


def downgrade():
    op.drop_table("active_pack")

"""Failed sign-ins by network address, for throttling an address that tries many accounts

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failure_address_at", "sign_in_failure", ["address", "at"])
    op.create_index("ix_sign_in_failure_at", "sign_in_failure", ["at"])


def downgrade():
    op.drop_table("sign_in_failure")

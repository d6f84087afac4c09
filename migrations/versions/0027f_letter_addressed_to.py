"""A letter keeps the name and address it was sent to: a copy printed after the tenant moves is
still the letter that was sent (letters issued before keep being drawn at the current address)

Revision ID: 0027f
Revises: 0027d
"""
from alembic import op
import sqlalchemy as sa

revision = "0027f"
down_revision = "0027d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letter") as batch:
        batch.add_column(sa.Column("addressed_to", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("letter") as batch:
        batch.drop_column("addressed_to")

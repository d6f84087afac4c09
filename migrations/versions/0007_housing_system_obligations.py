"""Housing system obligations: a human_task row may be a step of a diagram or an obligation the
register creates to keep the landlord's housing system in step with a marker

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("human_task") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="step"))
        batch_op.add_column(sa.Column("instructions", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("human_task") as batch_op:
        batch_op.drop_column("instructions")
        batch_op.drop_column("kind")

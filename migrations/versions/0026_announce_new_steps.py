"""A person may ask to be e-mailed when a step arrives in their inbox; each step records that its
arrival was announced (the steps already waiting count as announced)

Revision ID: 0026
Revises: 0025
"""
from alembic import op
import sqlalchemy as sa

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("announce_new_steps", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE human_task SET announced_at = created_at")


def downgrade():
    with op.batch_alter_table("human_task") as batch:
        batch.drop_column("announced_at")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("announce_new_steps")

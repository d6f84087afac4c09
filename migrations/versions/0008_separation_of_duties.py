"""Nobody decides on their own incident: the member of staff involved on an alert, and the people
each open step excludes (reporter, staff involved, must-differ, must-outrank)

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("staff_involved", sa.String(80), nullable=True))
    op.create_table(
        "human_task_exclusion",
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id"), primary_key=True),
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("reason", sa.String(160), nullable=False),
    )
    op.create_index("ix_human_task_exclusion_username", "human_task_exclusion", ["username", "task_id"])
    # open steps that already shut out an original decider keep doing so in the inbox
    op.execute("INSERT INTO human_task_exclusion (task_id, username, reason) "
               "SELECT id, outrank_user, 'mustOutrank' FROM human_task "
               "WHERE outrank_user IS NOT NULL AND status IN ('ready', 'claimed')")


def downgrade():
    op.drop_table("human_task_exclusion")
    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_column("staff_involved")

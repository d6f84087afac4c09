"""Each step carries its case's alert, so the inbox joins a step to its alert in one probe

Every inbox list and count applies need to know on the step's alert. It went from the step to its
case and from the case to its alert: two probes a step, the first reading the case's row. A case's
alert never changes, so the step keeps it (nothing to keep in sync), and the open steps of the
few restricted alerts are found from one index of open steps by alert (benchmarks/inbox_plans.py,
benchmarks/seed.py's 100,000 alerts: a Head of Service's header counts of hidden steps 16,848 to
4,496 buffers; an ASB Manager's list narrowed to one category 35,500 to 5,339).

Revision ID: 0029
Revises: 0028c
"""
import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028c"
branch_labels = None
depends_on = None

OPEN = "status IN ('ready', 'claimed')"


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("human_task", sa.Column("alert_id", sa.Integer(), nullable=True))
    op.execute("UPDATE human_task SET alert_id = "
               "(SELECT workflow_case.alert_id FROM workflow_case WHERE workflow_case.id = human_task.case_id)")
    if postgres:  # SQLite cannot add a constraint to a table that exists without copying it
        op.alter_column("human_task", "alert_id", nullable=False)
        op.create_foreign_key("fk_human_task_alert_id_alert", "human_task", "alert", ["alert_id"], ["id"])
    op.create_index("ix_human_task_open_alert_cover", "human_task",
                    ["alert_id", "status", "role", "assignee", "due_at", "id"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade():
    op.drop_index("ix_human_task_open_alert_cover", table_name="human_task")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_human_task_alert_id_alert", "human_task", type_="foreignkey")
    op.drop_column("human_task", "alert_id")

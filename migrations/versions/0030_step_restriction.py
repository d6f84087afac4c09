"""Each step carries its alert's restriction, and a role's or a person's open steps are read from
covering indexes

Need to know on an inbox list or count was judged on the step's alert_id against every restricted
alert: a probe of the open steps for each of them, so the header's count of steps a Head of
Service may not see grew with the register's restricted alerts (1,986 probes, 4,264 buffers, on
benchmarks/seed.py's 100,000 alerts) though only a few of them have open work. The step now keeps
its alert's restriction (copied when the step opens, and onto the alert's steps when the alert is
restricted), so the open steps on restricted records are one small index of their own. The role's
and the person's open-step indexes carry the step's id, alert and restriction, so an inbox's
candidates and its count of steps excluding the reader are read from them alone (they were read
from the open steps by alert, with no use of its leading column).

Revision ID: 0030
Revises: 0029a
"""
import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029a"
branch_labels = None
depends_on = None

OPEN = "status IN ('ready', 'claimed')"


def upgrade():
    op.add_column("human_task", sa.Column("restriction", sa.String(40), nullable=True))
    op.execute("UPDATE human_task SET restriction = (SELECT alert.restriction FROM alert WHERE alert.id = human_task.alert_id) "
               "WHERE alert_id IN (SELECT id FROM alert WHERE restriction IS NOT NULL)")
    op.create_index("ix_human_task_open_restricted", "human_task",
                    ["restriction", "status", "role", "assignee", "due_at", "id"],
                    postgresql_where=sa.text(f"{OPEN} AND restriction IS NOT NULL"),
                    sqlite_where=sa.text(f"{OPEN} AND restriction IS NOT NULL"))
    _covering("ix_human_task_open_role", ["status", "role", "due_at", "id"], ["assignee", "alert_id", "restriction"])
    _covering("ix_human_task_open_assignee", ["status", "assignee", "due_at", "id"], ["role", "alert_id", "restriction"])


def _covering(name, columns, included):
    op.drop_index(name, table_name="human_task")
    op.create_index(name, "human_task", columns, postgresql_include=included)


def downgrade():
    op.drop_index("ix_human_task_open_assignee", table_name="human_task")
    op.create_index("ix_human_task_open_assignee", "human_task", ["status", "assignee", "due_at"])
    op.drop_index("ix_human_task_open_role", table_name="human_task")
    op.create_index("ix_human_task_open_role", "human_task", ["status", "role", "due_at"])
    op.drop_index("ix_human_task_open_restricted", table_name="human_task")
    op.drop_column("human_task", "restriction")

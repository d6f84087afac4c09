"""Indexes for the compliance dashboard: closed steps by when they closed, running cases by kind,
and interim markers awaiting their assessment

The dashboard's week-by-week chart counts the steps open at some moment of the last twelve weeks:
with closed steps indexed by completed_at (and a cancelled step, which has none, at its NULL) it
reads those weeks' steps instead of every step of ten years. "Appeals past deadline" starts from
the running appeals, and "interim alerts awaiting assessment" from the few active markers with no
decision yet, rather than from every running case or every alert.

Revision ID: 0027c
Revises: 0026
"""
from alembic import op
import sqlalchemy as sa

revision = "0027c"
down_revision = "0026"
branch_labels = None
depends_on = None

CLOSED = sa.text("status NOT IN ('ready', 'claimed')")
RUNNING = sa.text("status = 'running'")
INTERIM = sa.text("status = 'active' AND decision_no = 0")


def upgrade():
    op.create_index("ix_human_task_closed", "human_task", ["completed_at"], postgresql_where=CLOSED, sqlite_where=CLOSED)
    op.create_index("ix_workflow_case_running_kind", "workflow_case", ["kind"], postgresql_where=RUNNING,
                    sqlite_where=RUNNING)
    op.create_index("ix_alert_interim", "alert", ["placed_at", "id"], postgresql_where=INTERIM, sqlite_where=INTERIM)


def downgrade():
    op.drop_index("ix_alert_interim", table_name="alert")
    op.drop_index("ix_workflow_case_running_kind", table_name="workflow_case")
    op.drop_index("ix_human_task_closed", table_name="human_task")

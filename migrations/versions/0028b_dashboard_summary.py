"""The compliance dashboard at a big landlord's size: its charts counted by the background round
(dashboard_summary), and "appeals past deadline" from two indexes

The week-by-week chart counts every step open at some moment of the last twelve weeks (about
91,000 at 100,000 alerts), the markers' chart every active marker (about 60,000): the background
round counts both for each set of restricted records readers may see, and the page shows that
count with the moment it was made. The appeals late are counted
and paged from the open steps of the diagrams by due date and the running cases by kind, each
with its ids, instead of every open step's row.

Revision ID: 0028b
Revises: 0027f
"""
from alembic import op
import sqlalchemy as sa

revision = "0028b"
down_revision = "0027f"
branch_labels = None
depends_on = None

OPEN_STEP = sa.text("status IN ('ready', 'claimed') AND kind = 'step'")
RUNNING = sa.text("status = 'running'")


def upgrade():
    op.create_table(
        "dashboard_summary",
        sa.Column("pack", sa.String(80), primary_key=True),
        sa.Column("seen", sa.String(400), primary_key=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("weeks", sa.JSON(), nullable=False),
        sa.Column("markers", sa.JSON(), nullable=False),
    )
    op.create_index("ix_human_task_open_step_due", "human_task", ["due_at", "id", "case_id"],
                    postgresql_where=OPEN_STEP, sqlite_where=OPEN_STEP)
    op.create_index("ix_workflow_case_running_kind_ids", "workflow_case", ["kind", "id", "alert_id"],
                    postgresql_where=RUNNING, sqlite_where=RUNNING)


def downgrade():
    op.drop_index("ix_workflow_case_running_kind_ids", table_name="workflow_case")
    op.drop_index("ix_human_task_open_step_due", table_name="human_task")
    op.drop_table("dashboard_summary")

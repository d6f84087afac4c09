"""The compliance dashboard at a big landlord's size: its charts counted by the background round
(dashboard_summary), the open steps' tally for its overdue counts (open_step_change, filled from
the open steps), and "appeals past deadline" from two indexes

The week-by-week chart counts every step open at some moment of the last twelve weeks (about
91,000 at 100,000 alerts), the markers' chart every active marker (about 60,000): the background
round counts both for each set of restricted records readers may see, and the page shows that
count with the moment it was made. The overdue counts are sums of the open steps' tally (by role,
person and due day) over the days before today, kept by each flush that changes a step. The appeals late are counted
and paged from the open steps of the diagrams by due date and the running cases by kind, each
with its ids, instead of every open step's row; the reviews overdue and due soon from the
active markers' review dates with their restriction and id.

Revision ID: 0028b
Revises: 0028a
"""
from datetime import timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

revision = "0028b"
down_revision = "0028a"
branch_labels = None
depends_on = None

OPEN_STEP = sa.text("status IN ('ready', 'claimed') AND kind = 'step'")
RUNNING = sa.text("status = 'running'")
ACTIVE = sa.text("status = 'active'")


ORGANISATION_TZ = ZoneInfo("Europe/London")  # workflows.platform.clock's: a due day is the organisation's day


def upgrade():
    op.create_table(
        "dashboard_summary",
        sa.Column("pack", sa.String(80), primary_key=True),
        sa.Column("seen", sa.String(400), primary_key=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("weeks", sa.JSON(), nullable=False),
        sa.Column("markers", sa.JSON(), nullable=False),
    )
    changes = op.create_table(
        "open_step_change",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("role", sa.String(80), nullable=False),
        sa.Column("assignee", sa.String(80), nullable=False),
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
    )
    op.create_index("ix_open_step_change_due", "open_step_change", ["due_day", "role", "assignee", "change"])
    steps = sa.table("human_task", sa.column("role"), sa.column("assignee"), sa.column("status"),
                     sa.column("due_at", sa.DateTime(timezone=True)))
    totals = {}
    for role, assignee, due_at in op.get_bind().execute(
            sa.select(steps.c.role, steps.c.assignee, steps.c.due_at)
            .where(steps.c.status.in_(("ready", "claimed")), steps.c.due_at.is_not(None))):
        if due_at.tzinfo is None:  # SQLite hands a moment back without its zone: it was stored in UTC
            due_at = due_at.replace(tzinfo=timezone.utc)
        k = (role, assignee or "", due_at.astimezone(ORGANISATION_TZ).date())
        totals[k] = totals.get(k, 0) + 1
    if totals:
        op.bulk_insert(changes, [{"role": r, "assignee": a, "due_day": d, "change": n}
                                 for (r, a, d), n in sorted(totals.items())])
    op.create_index("ix_human_task_open_step_due", "human_task", ["due_at", "id", "case_id"],
                    postgresql_where=OPEN_STEP, sqlite_where=OPEN_STEP)
    op.create_index("ix_alert_active_review", "alert", ["next_review_at", "restriction", "id"],
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_index("ix_workflow_case_running_kind_ids", "workflow_case", ["kind", "id", "alert_id"],
                    postgresql_where=RUNNING, sqlite_where=RUNNING)


def downgrade():
    op.drop_index("ix_alert_active_review", table_name="alert")
    op.drop_index("ix_workflow_case_running_kind_ids", table_name="workflow_case")
    op.drop_index("ix_human_task_open_step_due", table_name="human_task")
    op.drop_table("dashboard_summary")
    op.drop_index("ix_open_step_change_due", table_name="open_step_change")
    op.drop_table("open_step_change")

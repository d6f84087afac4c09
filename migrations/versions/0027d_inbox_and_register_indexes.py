"""Indexes for the inbox, the register list and their counts at the size of a big landlord

Measured on benchmarks/inbox.py's register (100,000 alerts, 1,000,000 completed steps, 2%
restricted), EXPLAIN ANALYZE:
- the "hidden" count (open steps on restricted records a role may not see) goes from the few
  restricted alerts to their cases and their open steps: with (restriction, id), (alert_id, id)
  and the open steps' (case_id, status, role, assignee, due_at, id) every probe is read from an
  index alone, never the table (19,293 buffers to about 8,000 for a Head of Service);
- a filtered inbox's count reaches each candidate step's alert through (id, alert_id) of its case,
  from the index alone: without it the planner hashed every case (100,000 rows) for 4,740 steps
  (81-148 ms to 16-51 ms on a machine shared with other work);
- the inbox sorted by age walks a role's open steps in the order shown and stops at the page
  ((status, role, created_at, id), status first as in ix_human_task_open_role: with the role
  first the planner preferred it, ANDed with every ready step, to count a role's steps);
- the register is counted from (status, restriction, category) alone (70,000 active alerts:
  61 index pages instead of 2,326 table pages), and walked in the order shown by (next_review_at,
  id) or (reported_at, id), stopping at the page, instead of sorting every alert; a search goes
  from the customers matching (their trigram index) to their alerts by (customer_id, status,
  restriction, category, id) from the index alone, instead of hashing every alert (50 ms to 3 ms
  for the count of a search for "Smith");
- on PostgreSQL: the marker's words searched through a trigram index (as the customers' and
  properties' in 0003 and 0021), and statistics on (status, role) of the steps, whose columns
  are far from independent (nearly all steps are completed, spread unevenly over roles): without
  them the planner guessed three times the open steps of a role and hashed whole tables.

Revision ID: 0027d
Revises: 0027c
"""
from alembic import op
import sqlalchemy as sa

revision = "0027d"
down_revision = "0027c"
branch_labels = None
depends_on = None

RESTRICTED = sa.text("restriction IS NOT NULL")
OPEN = sa.text("status IN ('ready', 'claimed')")


def upgrade():
    op.create_index("ix_alert_restricted_ids", "alert", ["restriction", "id"],
                    postgresql_where=RESTRICTED, sqlite_where=RESTRICTED)
    op.create_index("ix_alert_register_count", "alert", ["status", "restriction", "category"])
    op.create_index("ix_alert_review_order", "alert", ["next_review_at", "id"])
    op.create_index("ix_alert_reported", "alert", ["reported_at", "id"])
    op.create_index("ix_alert_customer_ids", "alert", ["customer_id", "status", "restriction", "category", "id"])
    op.create_index("ix_workflow_case_alert_ids", "workflow_case", ["alert_id", "id"])
    op.create_index("ix_workflow_case_id_alert", "workflow_case", ["id", "alert_id"])
    op.create_index("ix_human_task_open_case_cover", "human_task",
                    ["case_id", "status", "role", "assignee", "due_at", "id"],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index("ix_human_task_open_role_age", "human_task", ["status", "role", "created_at", "id"],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index("ix_alert_marker_text_trgm", "alert", ["marker_text"], postgresql_using="gin",
                        postgresql_ops={"marker_text": "gin_trgm_ops"})
        op.execute("CREATE STATISTICS IF NOT EXISTS st_human_task_status_role (mcv) ON status, role FROM human_task")
        op.execute("ANALYZE human_task")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_human_task_status_role")
        op.drop_index("ix_alert_marker_text_trgm", table_name="alert")
    op.drop_index("ix_human_task_open_role_age", table_name="human_task")
    op.drop_index("ix_human_task_open_case_cover", table_name="human_task")
    op.drop_index("ix_workflow_case_id_alert", table_name="workflow_case")
    op.drop_index("ix_workflow_case_alert_ids", table_name="workflow_case")
    op.drop_index("ix_alert_customer_ids", table_name="alert")
    op.drop_index("ix_alert_reported", table_name="alert")
    op.drop_index("ix_alert_review_order", table_name="alert")
    op.drop_index("ix_alert_register_count", table_name="alert")
    op.drop_index("ix_alert_restricted_ids", table_name="alert")

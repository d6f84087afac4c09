"""The open steps' tally counts every open step, those with no due date too (on 9999-12-31, after
every real day), and is indexed by role: every page's header counts a role's unclaimed steps as a
sum over its days instead of counting the steps (5,462 index entries for one role at
benchmarks/seed.py's 100,000 alerts, 1.5 ms of the header's 3.4).

Revision ID: 0030c
Revises: 0030b
"""
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0030c"
down_revision = "0030b"
branch_labels = None
depends_on = None

NO_DUE_DAY = sa.bindparam("day", value=date(9999, 12, 31), type_=sa.Date)  # open_step_tally.NO_DUE_DAY


def upgrade():
    op.create_index("ix_open_step_change_role", "open_step_change", ["role", "assignee", "due_day", "change"])
    op.execute(sa.text(
        "INSERT INTO open_step_change (role, assignee, due_day, change) "
        "SELECT role, COALESCE(assignee, ''), :day, count(*) FROM human_task "
        "WHERE status IN ('ready', 'claimed') AND due_at IS NULL "
        "GROUP BY role, COALESCE(assignee, '')").bindparams(NO_DUE_DAY))


def downgrade():
    op.execute(sa.text("DELETE FROM open_step_change WHERE due_day = :day").bindparams(NO_DUE_DAY))
    op.drop_index("ix_open_step_change_role", table_name="open_step_change")


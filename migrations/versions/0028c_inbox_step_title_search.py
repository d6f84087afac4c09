"""The inbox's search finds the open steps by their title through a trigram index (PostgreSQL)

A search of the inbox matches the step's title or its customer's name or reference. The title was
matched by reading every candidate step's row (a Head of Service's 5,500 open steps: 4,800 table
pages on benchmarks/seed.py's 100,000 alerts) for the one column no index held; with the open
steps' titles in a trigram index (as the customers' names in 0003 and the markers' words in 0027d)
the steps whose title matches are found from it and the candidates counted from the task indexes
alone (benchmarks/inbox_plans.py: the count of a search for "Smith", 50,366 to 33,476 buffers).

Revision ID: 0028c
Revises: 0028b
"""
from alembic import op

revision = "0028c"
down_revision = "0028b"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_human_task_open_title_trgm ON human_task USING gin (title gin_trgm_ops) "
                   "WHERE status IN ('ready', 'claimed')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_human_task_open_title_trgm")

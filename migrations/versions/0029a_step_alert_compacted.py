"""The steps' table compacted after 0029 filled in every step's alert (PostgreSQL)

0029's backfill wrote a new version of every row of human_task: on PostgreSQL the table and its
indexes were left twice their size, the old versions dead, until the space was reused. The inbox's
index-only counts read the larger table (a role's open steps: 38 buffers before the backfill,
2,305 after it, on benchmarks/seed.py's 100,000 alerts), so the inbox was slower after the upgrade
than before it. VACUUM FULL rewrites the table and its indexes, and a plain VACUUM marks it
all-visible again (about 10 seconds at 1.3 million steps, the table locked meanwhile, as for the
rest of the upgrade). Neither can run inside a transaction, so this is a revision of its own:
interrupted, it runs again on the next upgrade. SQLite rewrites a row in place and needs nothing.

Revision ID: 0029a
Revises: 0029
"""
from alembic import op

revision = "0029a"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("VACUUM FULL human_task")
            # a rewritten table is marked all-visible only by a plain VACUUM: until then every
            # index-only count reads the table too
            op.execute("VACUUM (ANALYZE) human_task")


def downgrade():
    pass

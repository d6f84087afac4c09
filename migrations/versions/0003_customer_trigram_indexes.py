"""Trigram indexes for the substring search of customers (check before visiting, report a concern)

On PostgreSQL only: `ILIKE '%...%'` on name, reference, address and postcode otherwise scans
every customer. SQLite (one machine, small registers) searches without them.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("name", "reference", "address", "postcode")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.create_index(f"ix_customer_{column}_trgm", "customer", [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.drop_index(f"ix_customer_{column}_trgm", table_name="customer")

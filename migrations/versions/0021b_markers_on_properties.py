"""Markers on properties: an alert is on a customer or on a property (its pack's category says
which), so its customer may be empty and it may name a property instead

Revision ID: 0021b
Revises: 0021
"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

revision = "0021b"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with _copying_alert_table() as batch_op:
        batch_op.add_column(sa.Column("property_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_alert_property", "property", ["property_id"], ["id"])
        batch_op.create_index("ix_alert_property_id", ["property_id"])
        batch_op.alter_column("customer_id", existing_type=sa.Integer(), nullable=True)


@contextmanager
def _copying_alert_table():
    """SQLite changes a column by copying the table, dropping the old one and renaming the copy;
    the rows of other tables refer to the alert table meanwhile, so foreign keys are off while it
    copies (SQLite's DDL runs outside a transaction here), checked afterwards, and on again."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys = OFF")
    try:
        with op.batch_alter_table("alert") as batch_op:
            yield batch_op
        if sqlite and op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").first():
            raise RuntimeError("after copying the alert table, a row refers to a marker that is not there")
    finally:
        if sqlite:
            op.execute("PRAGMA foreign_keys = ON")


def downgrade():
    if op.get_bind().execute(sa.text("SELECT count(*) FROM alert WHERE customer_id IS NULL")).scalar():
        raise RuntimeError("the register holds markers on properties, which revision 0021 cannot hold: "
                           "nothing was downgraded")
    with _copying_alert_table() as batch_op:
        batch_op.alter_column("customer_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index("ix_alert_property_id")
        batch_op.drop_constraint("fk_alert_property", type_="foreignkey")
        batch_op.drop_column("property_id")

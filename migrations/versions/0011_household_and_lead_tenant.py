"""A customer may be a member of a lead tenant's household, and an alert may be linked to the
household member a report was about while the marker goes on the lead tenant (a pack's
`markers_on_lead_tenant`)

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customer") as batch_op:
        batch_op.add_column(sa.Column("household_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_customer_household_of", "customer", ["household_of_id"], ["id"])
    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("about_customer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_alert_about_customer", "customer", ["about_customer_id"], ["id"])


def downgrade():
    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_constraint("fk_alert_about_customer", type_="foreignkey")
        batch_op.drop_column("about_customer_id")
    with op.batch_alter_table("customer") as batch_op:
        batch_op.drop_constraint("fk_customer_household_of", type_="foreignkey")
        batch_op.drop_column("household_of_id")

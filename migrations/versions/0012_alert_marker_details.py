"""The answers a pack carries on its markers beside the instruction ([marker_fields] in pack.toml,
e.g. Dover's contact restrictions), so check before visiting, the visit list and the API show them

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("marker_details", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_column("marker_details")

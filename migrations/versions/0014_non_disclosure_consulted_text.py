"""Who was consulted about not telling the tenant is whatever the form allows (up to 5,000
characters of a free-text answer), not 200

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("non_disclosure") as batch_op:
        batch_op.alter_column("consulted", existing_type=sa.String(200), type_=sa.Text(), existing_nullable=True)


def downgrade():
    with op.batch_alter_table("non_disclosure") as batch_op:
        batch_op.alter_column("consulted", existing_type=sa.Text(), type_=sa.String(200), existing_nullable=True)

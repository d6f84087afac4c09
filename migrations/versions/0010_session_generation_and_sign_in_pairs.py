"""Sessions a user's sign-out, password or role change can end (a per-user session generation),
and failed sign-ins counted per network address and username rather than per account

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_column("failed_sign_ins")
        batch_op.drop_column("last_failed_sign_in_at")
    with op.batch_alter_table("sign_in_failure") as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table("sign_in_failure") as batch_op:
        batch_op.drop_column("username")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("last_failed_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_column("session_generation")

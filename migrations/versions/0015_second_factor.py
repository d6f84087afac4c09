"""Two-step sign-in for local accounts: each user's TOTP secret (encrypted with a key the database
does not hold), when it was confirmed and the last time step used (a code works once), their
recovery codes (hashed, each used once), and which factor a failed sign-in was of

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("mfa_secret", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("mfa_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mfa_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "mfa_recovery_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False, index=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("sign_in_failure") as batch_op:
        batch_op.add_column(sa.Column("factor", sa.String(20), nullable=False, server_default="password"))


def downgrade():
    with op.batch_alter_table("sign_in_failure") as batch_op:
        batch_op.drop_column("factor")
    op.drop_table("mfa_recovery_code")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("mfa_last_step")
        batch_op.drop_column("mfa_enabled_at")
        batch_op.drop_column("mfa_secret")

"""An account made by single sign-on (OpenID Connect) remembers the identity provider's issuer
and subject, so the same person is found at their next sign-in and nobody else's account is
taken over by a matching username

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("sso_subject", sa.String(600), nullable=True))
        batch_op.create_unique_constraint("uq_user_account_sso_subject", ["sso_subject"])


def downgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_constraint("uq_user_account_sso_subject", type_="unique")
        batch_op.drop_column("sso_subject")

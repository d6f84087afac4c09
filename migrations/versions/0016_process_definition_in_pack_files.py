"""Whether the pack's files hold a deployed version (it was deployed from them by `alertflow pack
deploy`, or exported to them by `alertflow pack export`): `pack deploy` refuses to replace a newest
version they do not hold (a web change) without --force.

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # plain ALTER TABLEs, on SQLite too: a batch copy of the table would trip the foreign keys of the
    # cases that point at it
    op.add_column("process_definition",
                  sa.Column("in_pack_files", sa.Boolean(), nullable=False, server_default=sa.false()))
    # versions deployed before this by the command line's default user or the demo came from the files;
    # any other may have been a web change, so `pack deploy` asks for --force before replacing it
    op.execute("UPDATE process_definition SET in_pack_files = TRUE WHERE deployed_by IN ('system', 'demo')")


def downgrade():
    op.drop_column("process_definition", "in_pack_files")

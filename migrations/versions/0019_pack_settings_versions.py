"""pack.toml and the letter templates versioned in the database like the diagrams (the newest
version is what runs), and a change note on every deployed version, diagrams too.

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pack_settings_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pack", sa.String(40), nullable=False, index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pack_toml", sa.Text(), nullable=False),
        sa.Column("letters", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("deployed_by", sa.String(80), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("in_pack_files", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("pack", "version"),
    )
    # a plain ALTER TABLE, on SQLite too (see 0016)
    op.add_column("process_definition", sa.Column("change_note", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("process_definition", "change_note")
    op.drop_table("pack_settings_version")

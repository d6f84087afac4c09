"""Linked incidents: a later concern about a customer recorded against the active marker already
on them, rather than as a second alert

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "linked_incident",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alert.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("workflow_case.id"), nullable=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.String(80), nullable=False),
        sa.Column("staff_involved", sa.String(80), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_linked_incident_alert_id", "linked_incident", ["alert_id"])


def downgrade():
    op.drop_index("ix_linked_incident_alert_id", table_name="linked_incident")
    op.drop_table("linked_incident")

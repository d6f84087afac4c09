"""The lookups by alert or case that had no index: an alert's notes, a case's letters, a linked
household member's alerts

Every alert page and task page reads the alert's notes: with no index on note.alert_id that was a
scan of every note (4.5 ms at benchmarks/seed.py's 55,000 notes, growing with the register).
Recording a letter's delivery finds the case's latest letter (letter.case_id), and a subject
access request finds the alerts about a household member (alert.about_customer_id): both scans too.

Revision ID: 0030b
Revises: 0030a
"""
from alembic import op

revision = "0030b"
down_revision = "0030a"
branch_labels = None
depends_on = None

INDEXES = [("ix_note_alert_id", "note", "alert_id"), ("ix_letter_case_id", "letter", "case_id"),
           ("ix_alert_about_customer_id", "alert", "about_customer_id")]


def upgrade():
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade():
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)

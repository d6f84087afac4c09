"""Each letter knows which decision it told the tenant of, so an appeal window runs from the
delivery of that letter and not from any later one

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("letter") as batch_op:
        batch_op.add_column(sa.Column("decision_no", sa.Integer(), nullable=True))
    _backfill()


def _backfill():
    """A letter already issued told of the latest decision its own case had recorded by then."""
    bind = op.get_bind()
    events = sa.table("audit_event", sa.column("case_id", sa.Integer), sa.column("action", sa.String),
                      sa.column("at", sa.DateTime), sa.column("id", sa.Integer), sa.column("detail", sa.JSON))
    letters = sa.table("letter", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                       sa.column("issued_at", sa.DateTime), sa.column("decision_no", sa.Integer))
    decisions: dict[int, list] = {}
    for case_id, at, detail in bind.execute(sa.select(events.c.case_id, events.c.at, events.c.detail)
                                            .where(events.c.action == "decision").order_by(events.c.id)):
        if case_id is not None and (detail or {}).get("decision_no") is not None:
            decisions.setdefault(case_id, []).append((at, detail["decision_no"]))
    for letter_id, case_id, issued_at in bind.execute(sa.select(letters.c.id, letters.c.case_id,
                                                                letters.c.issued_at)):
        told = [no for at, no in decisions.get(case_id, []) if at <= issued_at]
        if told:
            bind.execute(letters.update().where(letters.c.id == letter_id).values(decision_no=told[-1]))


def downgrade():
    with op.batch_alter_table("letter") as batch_op:
        batch_op.drop_column("decision_no")

"""Each alert's latest decision and whether its tenant was told of it, kept on the alert

The dashboard's "Tenants not told" found each alert's latest decision by grouping every
decision event in the audit log (1.1-1.3 s at 90,000 events): it grew with history. The engine
now keeps the deciding case (`decision_case_id`) and `tenant_told` ("letter", "reason" or none)
on the alert in the step's own transaction; this back-fills them from the log, the letters and
the reasons recorded, as the old query read them.

Two partial indexes go with them: the active markers not yet told (by decision), and open steps
by due date (the overdue dashboard pages them in that order).

Whether a letter told the tenant depends on the pack (`to_tenant = false` letters are notices
to someone else): the packs whose diagrams are deployed here say which templates those are.

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

NOT_TOLD = sa.text("tenant_told IS NULL AND status = 'active'")
OPEN = sa.text("status IN ('ready', 'claimed')")


def _notices(bind) -> list[str]:
    """The letter templates of the deployed packs that are not written to the tenant."""
    from workflows.definitions.pack import PackError, load_pack
    notices = set()
    for (key,) in bind.execute(sa.text("SELECT DISTINCT pack FROM process_definition")):
        try:
            notices.update(load_pack(key).notices())
        except PackError:
            pass  # a pack no longer on disk: its letters count as the tenant's, as the old query had it
    return sorted(notices)


def upgrade():
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("decision_case_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tenant_told", sa.String(20), nullable=True))
    op.create_index("ix_alert_not_told", "alert", ["decided_at"], postgresql_where=NOT_TOLD, sqlite_where=NOT_TOLD)
    # the overdue steps paged by due date (50 of 22,907 open: 257 ms to 7 ms at 100,000 alerts)
    op.create_index("ix_human_task_open_due", "human_task", ["due_at", "id"], postgresql_where=OPEN, sqlite_where=OPEN)
    bind = op.get_bind()
    # the case of each alert's latest decision event
    op.execute("""
        UPDATE alert SET decision_case_id = (
            SELECT e.case_id FROM audit_event e WHERE e.id = (
                SELECT max(d.id) FROM audit_event d WHERE d.action = 'decision' AND d.alert_id = alert.id))
        WHERE EXISTS (SELECT 1 FROM audit_event d WHERE d.action = 'decision' AND d.alert_id = alert.id)""")
    notices = _notices(bind)
    to_tenant = ""
    params = {}
    if notices:
        names = ", ".join(f":n{i}" for i in range(len(notices)))
        to_tenant = f" AND l.template NOT IN ({names})"
        params = {f"n{i}": n for i, n in enumerate(notices)}
    bind.execute(sa.text(f"""
        UPDATE alert SET tenant_told = CASE
            WHEN EXISTS (SELECT 1 FROM letter l WHERE l.alert_id = alert.id AND l.case_id = alert.decision_case_id
                         AND l.delivered_at IS NOT NULL{to_tenant}) THEN 'letter'
            WHEN EXISTS (SELECT 1 FROM non_disclosure n WHERE n.alert_id = alert.id
                         AND n.case_id = alert.decision_case_id) THEN 'reason' END
        WHERE decision_case_id IS NOT NULL"""), params)


def downgrade():
    op.drop_index("ix_human_task_open_due", table_name="human_task")
    op.drop_index("ix_alert_not_told", table_name="alert")
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("tenant_told")
        batch.drop_column("decision_case_id")

"""Migration 0023 back-fills each alert's deciding case and whether its tenant was told, on a
database made at revision 0018 (before the engine kept them), as the dashboard's old query read
them from the audit log, the letters and the reasons for not telling."""
import pytest
from sqlalchemy import text

from tests.conftest import alembic
from workflows.platform import config
from workflows.platform.db import engine_for

DAY = "2026-03-0{}T10:00:00+00:00"


@pytest.fixture
def database_at_0018(unmigrated_url, monkeypatch):
    alembic(unmigrated_url, monkeypatch, "upgrade", "0018")
    return unmigrated_url


def test_the_migration_back_fills_the_latest_decision_and_whether_the_tenant_was_told(database_at_0018, monkeypatch):
    # a Karbon register: its out-of-hours notice is written to the call handlers, not the tenant
    rows = {
        "customer": [dict(id=1, reference="C1", name="Ann Lee", address="1 Road", postcode="KA1 1AA")],
        "process_definition": [dict(id=1, pack="karbon", process_id="assess", version=1, name="Assess",
                                    filename="assess.bpmn", bpmn_xml="<x/>", content_hash="h", deployed_by="system",
                                    deployed_at=DAY.format(1))],
        "alert": [dict(id=i, customer_id=1, category="violence", status="active", reported_by="sam",
                       reported_at=DAY.format(1), decided_at=DAY.format(2), decision_no=1, review_count=0) for i in range(1, 7)],
        # alert 2 has an assessment (case 2) and a review (case 3) that decided after it
        "workflow_case": [dict(id=i, alert_id=min(i, 2) if i <= 3 else i - 1, definition_id=1, kind=kind,
                               status="completed", workflow_state="{}", started_by="sam", created_at=DAY.format(1),
                               updated_at=DAY.format(2), lock_version=1)
                          for i, kind in [(1, "assessment"), (2, "assessment"), (3, "review"), (4, "assessment"),
                                          (5, "assessment"), (6, "assessment"), (7, "assessment")]],
        "audit_event": [dict(id=n, at=DAY.format(2), actor="anna", action=action, case_id=case, alert_id=alert,
                             detail="{}") for n, (action, case, alert) in enumerate([
                                 ("decision", 1, 1), ("decision", 2, 2), ("letter_issued", 2, 2), ("decision", 3, 2),
                                 ("decision", 4, 3), ("decision", 5, 4), ("decision", 6, 5)], start=1)],
        # 1: told by a delivered letter; 2: its letter told of the assessment, not the review after it;
        # 3: a reason recorded; 4: only a notice to the call handlers delivered; 5: a letter not delivered;
        # 6: imported (no decision event)
        "letter": [dict(id=1, alert_id=1, case_id=1, template="marker_placed", title="t", body="b", issued_by="anna",
                        issued_at=DAY.format(2), delivered_at=DAY.format(3)),
                   dict(id=2, alert_id=2, case_id=2, template="marker_placed", title="t", body="b", issued_by="anna",
                        issued_at=DAY.format(2), delivered_at=DAY.format(3)),
                   dict(id=3, alert_id=4, case_id=5, template="out_of_hours_notice", title="t", body="b",
                        issued_by="anna", issued_at=DAY.format(2), delivered_at=DAY.format(3)),
                   dict(id=4, alert_id=5, case_id=6, template="marker_placed", title="t", body="b", issued_by="anna",
                        issued_at=DAY.format(2), delivered_at=None)],
        "non_disclosure": [dict(id=1, alert_id=3, case_id=4, reason="Police advice", decided_by="anna",
                                decided_at=DAY.format(2))],
    }
    engine = engine_for(config.database_url())
    with engine.begin() as conn:
        for table, values in rows.items():
            for row in values:
                conn.execute(text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"),
                             row)
    engine.dispose()
    alembic(database_at_0018, monkeypatch, "upgrade", "head")
    with engine_for(config.database_url()).connect() as conn:
        got = {r.id: (r.decision_case_id, r.tenant_told) for r in
               conn.execute(text("SELECT id, decision_case_id, tenant_told FROM alert ORDER BY id"))}
    assert got == {1: (1, "letter"), 2: (3, None), 3: (4, "reason"), 4: (5, None), 5: (6, None), 6: (None, None)}

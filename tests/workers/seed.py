"""Many Derby markers whose review falls due at the same moment, made quickly.

One review case is started by the engine (derby_review, waiting on its six-month timer, as
`schedule_review` starts them); the others are copies of it on their own alerts, each with
fresh task ids, inserted in bulk (starting 10,000 through the engine would take minutes).
Used by the worker tests and benchmarks/sweep.py.
"""
import json
import re
import uuid

from sqlalchemy import insert, select

from workflows.platform import clock, db as database
from workflows.cases import engine
from workflows.platform.models import Alert, Case, Customer

START = "2026-01-05T09:00"   # the markers are placed then
DUE = "2026-07-05T09:00"     # ... so their reviews (P6M) fall due then
AFTER = "2026-07-06T09:00"   # a moment when all are due
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _alert_row(customer_id, now):
    return dict(customer_id=customer_id, category="rpo", status="active", reported_by="sam", reported_at=now,
                marker_text="Visit in pairs", decided_by="anna", decided_role="asb_manager", decided_at=now,
                decision_no=1, placed_by="tina", placed_at=now, review_count=0)


def _with_alert_id(value, alert_id):
    if isinstance(value, dict):
        return {k: (alert_id if k == "alert_id" else _with_alert_id(v, alert_id)) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_alert_id(v, alert_id) for v in value]
    return value


def seed_due_reviews(pack, count: int, *, batch: int = 1000, customer_ref: str = "C1") -> list[int]:
    """`count` active markers on one customer, each with a review case waiting on its timer.
    Returns the review cases' ids."""
    now = clock.parse_moment(START)
    with clock.frozen_at(now), database.transaction() as db:
        customer_id = db.scalar(select(Customer.id).where(Customer.reference == customer_ref))
        alert = Alert(**_alert_row(customer_id, now))
        db.add(alert)
        db.flush()
        template = engine.start_case(db, pack=pack, process_id="derby_review", alert=alert, kind="review",
                                     actor="system", data={"review_no": 1})
        alert.next_review_at = template.next_timer_at
        ids = [template.id]
        state_text = json.dumps(template.workflow_state)
        due_at, definition_id = template.next_timer_at, template.definition_id
    done = 1
    while done < count:
        n = min(batch, count - done)
        with database.transaction() as db:
            rows = [{**_alert_row(customer_id, now), "next_review_at": due_at} for _ in range(n)]
            alert_ids = list(db.scalars(insert(Alert).returning(Alert.id, sort_by_parameter_order=True), rows))
            cases = []
            for alert_id in alert_ids:
                fresh = {}
                text = UUID.sub(lambda m: fresh.setdefault(m.group(0), str(uuid.uuid4())), state_text)
                cases.append(dict(alert_id=alert_id, definition_id=definition_id, kind="review", status="running",
                                  workflow_state=_with_alert_id(json.loads(text), alert_id), next_timer_at=due_at,
                                  started_by="system", created_at=now, updated_at=now, lock_version=1))
            ids += list(db.scalars(insert(Case).returning(Case.id, sort_by_parameter_order=True), cases))
        done += n
    return ids

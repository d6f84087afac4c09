"""Many open steps at once for the inbox's and the register's filters, sorting and paging: copies
of a real open step (its case and alert are real), each with its own title, due date and age.
Filling 300 steps through the engine would take a minute; what the lists read is the step's row."""
import uuid
from datetime import timedelta

from sqlalchemy import select

from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.models import Alert, Case, HumanTask, TaskStatus


def copy_steps(alert_id: int, role: str, count: int, *, title="Paging step", first_due_in_days=-10,
               assignee=None) -> list[int]:
    """`count` open steps for `role` on the alert's running case: step i is due (first_due_in_days + i)
    days from today at noon and was created i hours ago; claimed by `assignee` if given."""
    now = clock.now()
    noon = clock.start_of_day(clock.local_day(now)) + timedelta(hours=12)
    with transaction() as db:
        case_id = db.scalar(select(Case.id).where(Case.alert_id == alert_id).order_by(Case.id.desc()).limit(1))
        restriction = db.scalar(select(Alert.restriction).where(Alert.id == alert_id))
        rows = [HumanTask(case_id=case_id, alert_id=alert_id, restriction=restriction, task_uuid=str(uuid.uuid4()), bpmn_id="copied_step",
                          title=f"{title} {i:03}", role=role, assignee=assignee,
                          status=TaskStatus.CLAIMED if assignee else TaskStatus.READY,
                          due_at=noon + timedelta(days=first_due_in_days + i), created_at=now - timedelta(hours=i))
                for i in range(count)]
        db.add_all(rows)
        db.flush()
        return [r.id for r in rows]

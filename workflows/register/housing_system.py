"""Keeping the landlord's housing system in step with the register.

The register is where an instruction to staff is live from the moment it is decided. The
landlord's own housing system (Derby's red triangle, Port of Leith's QL) must then be told of
every change to a marker. That obligation is generated here, for every change, never by a
diagram remembering to: a step for the role pack.toml's [housing_system] names, saying what to
enter, with a due date. It is a `human_task` row of kind "housing_system" on the case that made
the change, so the inbox, claiming, reminders, escalation and the overdue dashboard treat it as
any other step; completing it records the reference on the housing system and does not touch
the case's workflow (the case may be finished, or cancelled by the removal that caused it).

With a [feed] in pack.toml, every change also goes into the feed's outbox here, in the same
transaction (workflows/register/feed.py): the event's acknowledged delivery completes the step.
"""
from uuid import uuid4

from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows.cases import forms
from workflows.platform.errors import FormInvalid, StepFailed
from workflows.platform.models import Alert, Case, HumanTask, TaskStatus
from workflows.definitions.pack import Pack
from workflows.register import feed
from workflows.register.markers import code_labels, instruction_to_staff

KIND = "housing_system"
REFERENCE = "housing_system_reference"

# what changed -> what the step asks for
CHANGES = {
    "place": "place the marker",
    "confirm": "confirm the interim marker as decided",
    "interim_on": "place an interim marker",
    "amend": "change the marker",
    "remove": "remove the marker",
}


def marker_changed(db: Session, *, pack: Pack, case: Case, alert: Alert, change: str, actor: str) -> HumanTask | None:
    """The register changed this alert's marker: give the housing system's keeper a step to enter
    the change there (None when the pack keeps no housing system in step), and, with a [feed],
    put the change in the feed's outbox in this same transaction (workflows/register/feed.py):
    its acknowledged delivery completes the step."""
    task = _step(db, pack=pack, case=case, alert=alert, change=change, actor=actor)
    feed.record(db, pack=pack, alert=alert, change=change, task=task)
    return task


def _step(db: Session, *, pack: Pack, case: Case, alert: Alert, change: str, actor: str) -> HumanTask | None:
    settings = pack.housing_system
    if settings is None:
        return None
    role = pack.housing_system_role(alert.restriction)
    rule = pack.restrictions.get(alert.restriction or "")
    if rule is not None and role not in rule.visible_to:
        raise StepFailed(f"the {role} role keeps {settings.name} in step but may not see {rule.key} records; "
                         f"set housing_system_role in [restrictions.{rule.key}] of pack.toml to one of "
                         f"{sorted(rule.visible_to)}")
    now = clock.now()
    text = instructions(pack, alert, change, labels=code_labels(db, pack))  # "Level 2: medium risk (L2)"
    title = f"Update {settings.name}: {CHANGES[change]}"
    if pack.feed is not None:  # done by the feed when delivered; by hand only if the feed cannot
        title = f"{title} (sent by the {pack.feed.name} feed)"[:200]
    task = HumanTask(case=case, alert=case.alert, restriction=case.alert.restriction, task_uuid=str(uuid4()),
                     bpmn_id=KIND, kind=KIND, role=role, status=TaskStatus.READY, title=title, instructions=text,
                     due_at=clock.duration_after(now, settings.due_within, pack.calendar), created_at=now)
    db.add(task)
    audit.record(db, actor=actor, action="housing_system_update_due", case=case, alert_id=alert.id,
                 task_uuid=task.task_uuid, change=change, role=role, due_at=task.due_at, instructions=text)
    return task


def instructions(pack: Pack, alert: Alert, change: str, *, labels: dict | None = None) -> str:
    """What to enter: the customer, the change, and the marker as staff must now read it. A
    restricted record gives its instruction to staff only, never the reasons or measures."""
    customer = alert.subject
    who = f"{customer.name} ({customer.reference})"
    if change == "remove":
        return f"Remove the marker from {who}'s record: it is no longer in force."
    shown = instruction_to_staff(pack, alert)  # what staff are shown, and nothing more
    lines = [f"{CHANGES[change].capitalize()} on {who}'s record.", f"Instruction to staff: {shown['instruction']}"]
    if shown["control_measures"]:
        lines.append("Measures: " + wording.and_list(shown["control_measures"]))
    lines += shown["details"]  # the pack's [marker_fields], e.g. "Contact restrictions: ..."
    labels = labels or {}
    for key, name, heading in (("code", "marker_code", "Code"), ("level", "level", "Level")):
        if shown[key]:  # the housing system is keyed by the code: the label says what it means
            label = labels.get(name, {}).get(shown[key])
            lines.append(f"{heading}: {label} ({shown[key]})" if label and label != shown[key]
                         else f"{heading}: {shown[key]}")
    return "\n".join(lines)


def fields() -> list[forms.Field]:
    """The one field completing the step asks for: where the change now is on the housing system."""
    return [forms.Field(id=REFERENCE, label="Reference of the entry on the housing system", type="string",
                        required=True, required_when=None, multiple=False, options=(), default=None)]


def complete(db: Session, *, task: HumanTask, actor: str, values: dict) -> HumanTask:
    """Record that the change is on the housing system, with its reference there."""
    unknown = sorted(set(values) - {REFERENCE})
    errors = {name: f"this step has no field '{name}' (fields: {REFERENCE})" for name in unknown}
    reference = str(values.get(REFERENCE) or "").strip()
    if not reference:
        errors[REFERENCE] = "the reference of the entry on the housing system is required"
    if errors:
        raise FormInvalid(errors)
    now = clock.now()
    task.status, task.completed_by, task.completed_at = TaskStatus.COMPLETED, actor, now
    task.form_data = {REFERENCE: reference}
    audit.record(db, actor=actor, action="housing_system_updated", case_id=task.case_id,
                 alert_id=task.case.alert_id, task_id=task.id, title=task.title, reference=reference)
    return task

"""Reading the register: inboxes, markers, a case's story, and the check before a visit.
Restricted records are filtered here, in the query, so they never reach a list or a count."""
from dataclasses import dataclass

from sqlalchemy import and_, case as sql_case, exists, or_, select
from sqlalchemy.orm import Session

from . import audit, clock, forms, permissions
from .assignment import Actor
from .errors import NotFound
from .models import (Alert, AuditEvent, Case, Customer, HumanTask, HumanTaskExclusion, Letter, NonDisclosure, Note,
                     RiskAssessment)
from .pack import Pack
from .permissions import visible


def _day(moment):
    return clock.as_utc(moment).date().isoformat() if moment else None


def instruction_to_staff(pack: Pack, alert: Alert) -> dict:
    """What staff, contractors and other systems are shown of an active marker: the instruction,
    never the reasons; a restricted marker shows only the pack's instruction for it."""
    rule = pack.restrictions.get(alert.restriction or "")
    return {
        "alert": alert.id, "category": None if rule else alert.category,
        "code": None if rule else alert.marker_code, "level": None if rule else alert.level,
        "instruction": rule.staff_instruction if rule else alert.marker_text,
        "control_measures": list(rule.control_measures) if rule else list(alert.control_measures or []),
        "since": _day(alert.placed_at), "next_review": None if rule else _day(alert.next_review_at),
    }


def not_excluded(username: str):
    """SQL condition: the step does not exclude this person (one primary-key probe per step)."""
    return ~exists().where(HumanTaskExclusion.task_id == HumanTask.id, HumanTaskExclusion.username == username)


def inbox(db: Session, *, pack: Pack, actor: Actor, limit: int = 200) -> list[HumanTask]:
    """Open tasks for this actor: assigned to them, or unclaimed for one of their roles."""
    mine = and_(HumanTask.status == "claimed", HumanTask.assignee == actor.username)
    roles = and_(HumanTask.status == "ready", HumanTask.role.in_(actor.acting_roles), not_excluded(actor.username))
    overdue_last = sql_case((HumanTask.due_at.is_(None), 1), else_=0)
    query = (select(HumanTask).join(Case, HumanTask.case_id == Case.id).join(Alert, Case.alert_id == Alert.id)
             .where(or_(mine, roles), visible(pack, actor))
             .order_by(overdue_last, HumanTask.due_at, HumanTask.id).limit(limit))
    return list(db.scalars(query))


def alerts(db: Session, *, pack: Pack, actor: Actor, status: str | None = "active") -> list[Alert]:
    """The register as this actor needs to know it: the alerts whose stories they may read."""
    query = select(Alert).where(permissions.story_readable(pack, actor)).order_by(Alert.id)
    if status:
        query = query.where(Alert.status == status)
    return list(db.scalars(query))


@dataclass
class VisitCheck:
    customer: Customer
    markers: list[dict]


def check_before_visit(db: Session, *, pack: Pack, actor: Actor, text: str) -> list[VisitCheck]:
    """Any staff: does this customer carry an active marker, and what must staff do?

    Shows the instruction to staff only, never the reasons; a restricted marker shows the
    pack's instruction for it (e.g. "contact the relevant manager") to everyone."""
    like = f"%{text.strip()}%"
    customers = db.scalars(select(Customer).where(or_(
        Customer.name.ilike(like), Customer.reference.ilike(like), Customer.address.ilike(like),
        Customer.postcode.ilike(like))).order_by(Customer.name).limit(20))
    customers = list(customers)
    # one query for all their active markers, not one per customer
    by_customer = {}
    for alert in db.scalars(select(Alert).where(Alert.customer_id.in_([c.id for c in customers]),
                                                Alert.status == "active").order_by(Alert.id)):
        by_customer.setdefault(alert.customer_id, []).append(alert)
    results = []
    for customer in customers:
        markers = []
        markers = [instruction_to_staff(pack, alert) for alert in by_customer.get(customer.id, [])]
        results.append(VisitCheck(customer, markers))
    return results


def visit_list(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """Every customer with an active marker and what staff must do: the list handed to
    out-of-hours call handlers and maintenance staff who cannot see the housing system.
    Instructions only, never reasons; a restricted marker shows the pack's instruction for it."""
    rows = db.execute(select(Alert, Customer).join(Customer, Alert.customer_id == Customer.id)
                      .where(Alert.status == "active").order_by(Customer.name, Alert.id))
    result = []
    for alert, customer in rows:
        shown = instruction_to_staff(pack, alert)
        result.append({
            "customer": customer.reference, "name": customer.name, "address": customer.address,
            "postcode": customer.postcode, "code": shown["code"], "instruction": shown["instruction"],
            "control_measures": shown["control_measures"], "next_review": shown["next_review"],
        })
    audit.record(db, actor=actor.username, action="visit_list_produced", markers=len(result))
    return result


def alert_story(db: Session, *, pack: Pack, actor: Actor, alert_id: int) -> dict:
    """Everything about one alert in order: cases, steps, assessments, letters, events, for
    someone with a need to know it (permissions.require_story); the reasons for not telling the
    tenant only for the roles of the non-disclosure register.

    Viewing a restricted record is itself audited."""
    alert = permissions.known_alert(db, pack=pack, actor=actor, alert_id=alert_id)
    permissions.open_story(db, pack=pack, actor=actor, alert=alert)
    cases = list(db.scalars(select(Case).where(Case.alert_id == alert.id).order_by(Case.id)))
    case_ids = [c.id for c in cases]
    tasks = list(db.scalars(select(HumanTask).where(HumanTask.case_id.in_(case_ids)).order_by(HumanTask.id)))
    story = {
        "alert": alert,
        "cases": cases,
        "tasks": tasks,
        "assessments": list(db.scalars(select(RiskAssessment).where(RiskAssessment.alert_id == alert.id))),
        "letters": list(db.scalars(select(Letter).where(Letter.alert_id == alert.id).order_by(Letter.id))),
        "non_disclosures": list(db.scalars(select(NonDisclosure).where(NonDisclosure.alert_id == alert.id))),
        "notes": list(db.scalars(select(Note).where(Note.alert_id == alert.id).order_by(Note.id))),
        # in chain order: ids can be changed without breaking a hash, the chain's sequence cannot
        "events": list(db.scalars(select(AuditEvent).where(AuditEvent.alert_id == alert.id)
                                  .order_by(AuditEvent.seq.is_(None), AuditEvent.seq, AuditEvent.id))),
        "non_disclosures_withheld": False,
    }
    if not permissions.may_read_non_disclosures(pack, actor):
        _withhold_non_disclosures(db, story)
    return story


def _withhold_non_disclosures(db: Session, story: dict) -> None:
    """Take the reasons for not telling the tenant out of a story, without changing the records:
    the objects are detached first, so what is shown can never be flushed back."""
    fields = _non_disclosure_fields(story["cases"])
    story["non_disclosures_withheld"] = bool(story["non_disclosures"])
    story["non_disclosures"] = []
    for key, attribute in (("tasks", "form_data"), ("assessments", "content"), ("events", "detail")):
        for row in story[key]:
            if any(permissions.is_non_disclosure_field(k, fields) for k in _keys(getattr(row, attribute))):
                db.expunge(row)
                setattr(row, attribute, permissions.withhold_non_disclosure(getattr(row, attribute), fields))


def _keys(value) -> set[str]:
    if not isinstance(value, dict):
        return set()
    return set(value) | {k for v in value.values() for k in _keys(v)}


def _non_disclosure_fields(cases) -> frozenset[str]:
    """The form fields the alert's processes record as a reason for not telling the tenant."""
    from . import definitions
    fields = set()
    for definition in {c.definition_id: c.definition for c in cases}.values():
        spec, subprocesses = definitions.spec_for(definition)
        for process in (spec, *subprocesses.values()):
            for task_spec in process.task_specs.values():
                if getattr(task_spec, "action", None) == "record_non_disclosure":
                    fields.add((task_spec.extensions or {}).get("reason_field") or "non_disclosure_reason")
    return frozenset(fields)


def task_view(db: Session, *, pack: Pack, actor: Actor, task_id: int) -> dict:
    """A task with its form, for someone who may see its case."""
    from . import definitions, housing_system
    task = db.get(HumanTask, task_id)
    if task is None or not pack.may_see(task.case.alert.restriction, actor.roles):
        raise NotFound(f"there is no task {task_id}")
    overdue = task.due_at is not None and clock.as_utc(task.due_at) < clock.now() and task.status in ("ready", "claimed")
    if task.kind == housing_system.KIND:  # no diagram behind it: what to enter is on the row
        return {"task": task, "fields": housing_system.fields(), "overdue": overdue,
                "documentation": None, "instructions": task.instructions}
    spec, _ = definitions.spec_for(task.case.definition)
    task_spec = spec.task_specs[task.bpmn_id]
    return {"task": task, "fields": forms.fields_of(task_spec), "overdue": overdue,
            "documentation": getattr(task_spec, "documentation", None), "instructions": None}

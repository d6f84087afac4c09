"""A marker's incidents: the concern that led to it and each later concern reported as linked to
it (instead of a second alert on the same person), in order; which active markers a report about a
customer may be linked to; and what the case assessing a linked incident starts knowing of its marker."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.assignment import Actor
from workflows.definitions import deployment
from workflows.definitions.pack import Pack
from workflows.platform import clock
from workflows.platform.models import Alert, AlertStatus, AuditEvent, Case, CaseStatus, Customer, LinkedIncident
from workflows.register import markers

# the case-data names a linked incident's case starts with, beside the alert's facts every case has
# (category, level, marker_text, control_measures, ...); `description`, `reported_by` and
# `staff_involved` are the new incident's, so nobody decides on their own report
# (the lint knows them as deployment.INCIDENT_VARIABLES)


def linkable_markers(db: Session, *, pack: Pack, actor: Actor, customer: Customer) -> list[dict]:
    """The active markers a new concern about this customer may be linked to, each as staff are shown
    it (the instruction, never the reasons): none if the pack has no incident process. A restricted
    marker the reporter may not see is not offered: they must not learn it exists."""
    if pack.incident_process is None:
        return []
    flagged = marker_holder(db, pack, customer)
    alerts = db.scalars(select(Alert).where(Alert.customer_id == flagged.id, Alert.status == AlertStatus.ACTIVE)
                        .order_by(Alert.id))
    return [markers.instruction_to_staff(pack, a) for a in alerts if pack.may_see(a.restriction, actor.roles)]


def customer_named(db: Session, reference: str) -> Customer | None:
    return db.scalar(select(Customer).where(Customer.reference == (reference or "").strip()))


def marker_holder(db: Session, pack: Pack, customer: Customer) -> Customer:
    """Whose record a concern about this customer flags: theirs, or their lead tenant's where the
    pack puts markers on the lead tenant (`markers_on_lead_tenant`)."""
    if pack.markers_on_lead_tenant and customer.household_of_id is not None:
        return db.get(Customer, customer.household_of_id)
    return customer


def incidents(db: Session, alert: Alert) -> list[dict]:
    """The marker's incidents in order: the concern first reported, then each one linked to it."""
    first = db.scalar(select(AuditEvent).where(AuditEvent.alert_id == alert.id,
                                                AuditEvent.action == "concern_reported").order_by(AuditEvent.id).limit(1))
    story = [{"no": 1, "reported_at": alert.reported_at, "reported_by": alert.reported_by,
              "staff_involved": alert.staff_involved, "category": alert.category, "linked": False,
              "description": (first.detail or {}).get("description", "") if first else "", "case": None}]
    for no, row in enumerate(linked(db, alert.id), start=2):
        story.append({"no": no, "reported_at": row.reported_at, "reported_by": row.reported_by,
                      "staff_involved": row.staff_involved, "category": row.category, "linked": True,
                      "description": row.description, "case": row.case_id})
    return story


def linked(db: Session, alert_id: int) -> list[LinkedIncident]:
    return list(db.scalars(select(LinkedIncident).where(LinkedIncident.alert_id == alert_id)
                           .order_by(LinkedIncident.reported_at, LinkedIncident.id)))


def last_review_at(db: Session, alert: Alert):
    """When the marker was last reviewed: the latest review case that ran to its end (None: never)."""
    return db.scalar(select(Case.updated_at).where(Case.alert_id == alert.id, Case.kind == "review",
                                                   Case.status == CaseStatus.COMPLETED)
                     .order_by(Case.updated_at.desc()).limit(1))


def case_data(db: Session, *, alert: Alert, incident: LinkedIncident) -> dict:
    """What the case assessing a linked incident starts knowing, beyond the alert's facts: the new
    incident, and the marker it is linked to (its last and next review, the incidents linked before)."""
    earlier = [row for row in linked(db, alert.id) if row.id != incident.id]
    return {
        "linked_incident": True, "incident_category": incident.category, "description": incident.description,
        "reported_by": incident.reported_by, "staff_involved": incident.staff_involved,
        "marker_placed_at": _date(alert.placed_at), "last_review_at": _date(last_review_at(db, alert)),
        "next_review_at": _date(markers.next_review_date(alert)),
        "linked_incidents": [{"reported_at": _date(row.reported_at), "reported_by": row.reported_by,
                              "category": row.category, "description": row.description} for row in earlier],
        "linked_incident_count": len(earlier),
    }


def marker_summary(db: Session, *, pack: Pack, alert: Alert) -> dict:
    """The marker a linked incident is assessed against, for the assessor's task page: category,
    level, wording, measures, placed, last and next review, and its incidents in order."""
    category = pack.categories.get(alert.category)
    return {
        "alert": alert.id, "category": category.label if category else alert.category,
        "level": alert.level, "marker_code": alert.marker_code, "marker_text": alert.marker_text,
        # as the pack's forms call it ("Level 2: medium risk"), for the assessor to read
        "level_label": deployment.option_labels(db, pack=pack.key, field_id="level").get(alert.level, alert.level),
        "control_measures": list(alert.control_measures or []), "details": markers.marker_details(pack, alert, readers=True),
        "placed_at": alert.placed_at, "last_review_at": last_review_at(db, alert),
        "next_review": markers.next_review_date(alert), "incidents": incidents(db, alert),
    }


def _date(value):
    if value is None:
        return None
    return value.isoformat() if not hasattr(value, "hour") else clock.local_day(value).isoformat()

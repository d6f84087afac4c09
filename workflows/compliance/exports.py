"""What the exports hold: the columns of the registers and the out-of-hours list, a marker's
dossier, and a subject access export (everything held about one person, with what a decision
not to tell them covers withheld). workflows/drawing/ draws them as CSV and PDF.

Each export is audited; rows the actor may not see are never read (`permissions.visible`).
"""

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflows.register.story import alert_story
from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows.tasks import task_view
from workflows import permissions
from workflows.drawing import pdf
from workflows.register import circulation, markers
from workflows.cases.assignment import Actor
from workflows.permissions import may_export_subject_access, may_read_registers, require
from workflows.platform.errors import NotFound
from workflows.platform.models import (Alert, AuditEvent, Case, Circulation, Customer, HumanTask, Letter, NonDisclosure,
                                       Note, RiskAssessment)
from workflows.definitions.pack import Pack

REGISTER_COLUMNS = ("alert", "customer", "name", "address", "postcode", "category_label", "restriction", "level",
                    "code", "instruction", "control_measures", "placed_by", "placed_at", "decided_by",
                    "next_review")
NON_DISCLOSURE_COLUMNS = ("id", "alert", "customer", "name", "category", "alert_status", "stage", "reason",
                          "consulted", "decided_by", "decided_at")
OUT_OF_HOURS_COLUMNS = ("property", "address", "postcode", "applies_to", "customer", "name", "code", "kind", "instruction",
                        "control_measures", "details")


def out_of_hours(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """Addresses and instructions of active markers only, never the reasons (for out-of-hours
    call handlers and contractors); a restricted marker shows the pack's instruction for it."""
    rows = markers.visit_list(db, pack=pack, actor=actor)
    return [{c: r.get(c) for c in OUT_OF_HOURS_COLUMNS} for r in rows]


def _iso(moment):
    return clock.as_utc(moment).isoformat() if moment else None


_ENGINE_DETAIL = ("values", "answers", "task_uuid", "element", "fields", "process_id", "version", "task_id")


def _detail_in_words(pack: Pack, detail) -> list[dict]:
    """An audit event's detail as a person reads it: roles and categories by their names, moments
    and lists in words; a step's answers are left out (its task, above, gives them by their labels)."""
    from datetime import datetime
    out = []
    for key, value in (detail or {}).items():
        # the engine's own bookkeeping (diagram element and field ids, versions) is for the JSON
        if value in (None, "", []) or key in _ENGINE_DETAIL or isinstance(value, dict):
            continue
        if key == "role" or key.endswith("_role"):
            value = wording.labelled(pack.roles, value)
        elif key == "category":
            value = wording.labelled(pack.categories, value)
        elif key.endswith("_at") and isinstance(value, str):
            try:
                value = wording.moment(datetime.fromisoformat(value))
            except ValueError:
                pass
        else:
            value = wording.value(value)
        out.append({"question": key.replace("_", " ").capitalize(), "answer": str(value)})
    return out


def _in_words(fields, answers) -> list[dict]:
    """Answers as a person reads them, next to the raw ones: the question's and the option's labels."""
    data = {k: v for k, v in (answers or {}).items() if not k.endswith("_labels")}
    return [{"question": q, "answer": a} for q, a in wording.answers(fields, data)]


# --- subject access -----------------------------------------------------------------------

def subject_access(db: Session, *, pack: Pack, actor: Actor, customer_ref: str) -> dict:
    """Everything held about one person, with what a decision not to tell them covers (the
    pack's `withheld_when_not_told`) marked as withheld, its content left out. The decision
    covers the alert while it stands: a letter to the tenant issued after the latest one lifts it."""
    require(may_export_subject_access(pack, actor), "a subject access export", pack.registers.subject_access, pack=pack)
    customer = db.scalar(select(Customer).where(Customer.reference == customer_ref))
    if customer is None:
        raise NotFound(f"there is no customer with reference '{customer_ref}'")
    about = or_(Alert.customer_id == customer.id, Alert.about_customer_id == customer.id)  # their own, or linked
    alerts = list(db.scalars(select(Alert).where(about, permissions.visible(pack, actor))
                             .order_by(Alert.id)))
    ids = [a.id for a in alerts]

    def by_alert(model, order):
        grouped = {i: [] for i in ids}
        if ids:
            for row in db.scalars(select(model).where(model.alert_id.in_(ids)).order_by(order)):
                grouped[row.alert_id].append(row)
        return grouped

    assessments = by_alert(RiskAssessment, RiskAssessment.id)
    letters = by_alert(Letter, Letter.id)
    non_disclosures = by_alert(NonDisclosure, NonDisclosure.id)
    events = by_alert(AuditEvent, AuditEvent.id)
    circulation_rows = by_alert(Circulation, Circulation.id)
    notes = {i: [] for i in ids}
    loose_notes = []
    for note in db.scalars(select(Note).where(Note.customer_id == customer.id).order_by(Note.id)):
        if note.alert_id in notes:
            notes[note.alert_id].append(note)
        elif note.alert_id is None:
            loose_notes.append(note)
    tasks = {i: [] for i in ids}
    if ids:
        for task, alert_id in db.execute(select(HumanTask, Case.alert_id).join(Case, HumanTask.case_id == Case.id)
                                         .where(Case.alert_id.in_(ids)).order_by(HumanTask.id)):
            tasks[alert_id].append(task)
    withheld_sections = set(pack.registers.withheld_when_not_told)
    reason = "withheld: covered by a decision not to tell the customer"

    def section(name, rows, describe, covered):
        if covered and name in withheld_sections:
            return [{"id": r.id, "withheld": True, "reason": reason} for r in rows]
        return [describe(r) for r in rows]

    def to_tenant(letter):
        template = pack.letters.get(letter.template)
        return template is None or template.to_tenant

    def letter_rows(rows, covered):
        if covered and "notices" in withheld_sections and "letters" not in withheld_sections:
            return [{"id": lt.id, "withheld": True, "reason": reason} if not to_tenant(lt) else describe_letter(lt)
                    for lt in rows]
        return section("letters", rows, describe_letter, covered)

    def describe_letter(lt):
        return {"id": lt.id, "title": lt.title, "body": lt.body, "issued_at": _iso(lt.issued_at),
                "delivery_method": lt.delivery_method, "delivered_at": _iso(lt.delivered_at)}

    def not_told(alert_id):
        """A decision not to tell stands unless a letter to the tenant was issued after the latest one."""
        latest = max(non_disclosures[alert_id], key=lambda n: (clock.as_utc(n.decided_at), n.id), default=None)
        if latest is None:
            return False
        since = (clock.as_utc(latest.decided_at), latest.case_id)
        return not any(to_tenant(lt) and (clock.as_utc(lt.issued_at), lt.case_id) > since for lt in letters[alert_id])

    out_alerts = []
    for alert in alerts:
        covered = not_told(alert.id)
        marker = {
            "status": alert.status, "category": alert.category,
            "category_label": pack.categories[alert.category].label if alert.category in pack.categories else None,
            "marker_text": alert.marker_text, "control_measures": alert.control_measures, "level": alert.level,
            "code": alert.marker_code, "reported_at": _iso(alert.reported_at), "placed_at": _iso(alert.placed_at),
            "decided_by": alert.decided_by, "decided_at": _iso(alert.decided_at),
            "next_review_at": _iso(alert.next_review_at), "removed_at": _iso(alert.removed_at),
            "removed_reason": alert.removed_reason, "review_count": alert.review_count,
        }
        if covered and "marker" in withheld_sections:
            marker = {"withheld": True, "reason": reason}
        out_alerts.append({
            "alert": alert.id, "withheld_sections": sorted(withheld_sections) if covered else [],
            "marker": marker,
            "risk_assessments": section("risk_assessments", assessments[alert.id], lambda r: {
                "id": r.id, "assessed_by": r.assessed_by, "assessed_at": _iso(r.assessed_at), "content": r.content,
                "content_in_words": _in_words(task_view.case_fields(db.get(Case, r.case_id)), r.content)},
                covered),
            "notes": section("notes", notes[alert.id], lambda n: {
                "id": n.id, "notebook": n.notebook, "text": n.text, "author": n.author,
                "created_at": _iso(n.created_at)}, covered),
            "non_disclosures": section("non_disclosures", non_disclosures[alert.id], lambda n: {
                "id": n.id, "reason": n.reason, "consulted": n.consulted, "decided_by": n.decided_by,
                "decided_at": _iso(n.decided_at)}, covered),
            "tasks": section("tasks", tasks[alert.id], lambda t: {
                "id": t.id, "title": t.title, "role": t.role, "role_name": wording.labelled(pack.roles, t.role),
                "status": t.status, "due_at": _iso(t.due_at),
                "completed_by": t.completed_by, "completed_at": _iso(t.completed_at), "answers": t.form_data,
                "answers_in_words": _in_words(task_view.form_fields(t), t.form_data)},
                covered),
            "letters": letter_rows(letters[alert.id], covered),
            # who was told of the marker, with the wording they were sent (circulation.py)
            "circulation": section("circulation", circulation_rows[alert.id], lambda r: circulation.described(pack, r),
                                   covered),
            "events": section("events", events[alert.id], lambda e: {
                "id": e.id, "at": _iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail,
                "detail_in_words": _detail_in_words(pack, e.detail)}, covered),
        })
    about_customer = list(db.scalars(select(AuditEvent).where(
        AuditEvent.alert_id.is_(None), AuditEvent.detail["customer"].as_string() == customer.reference)
        .order_by(AuditEvent.id)))
    restricted = [a.id for a in alerts if a.restriction]
    left_out = _restricted_left_out(db, pack=pack, actor=actor, customer=customer)
    audit.record(db, actor=actor.username, action="subject_access_exported", customer=customer.reference,
                 alerts=ids, restricted_alerts=restricted, incomplete=bool(left_out))
    return {
        "complete": not left_out,
        "restricted_records": left_out,
        "subject": {"reference": customer.reference, "name": customer.name, "address": customer.address,
                    "postcode": customer.postcode, "tenancy_ref": customer.tenancy_ref,
                    "tenancy_ended_at": _iso(customer.tenancy_ended_at),
                    # where they have lived, as the register holds it (oldest first)
                    "tenancies": [{"property": t.property.reference, "address": t.property.address,
                                   "postcode": t.property.postcode, "uprn": t.property.uprn,
                                   "reference": t.reference, "started_at": _iso(t.started_at),
                                   "ended_at": _iso(t.ended_at)} for t in customer.tenancies]},
        "produced_at": clock.now().isoformat(), "produced_by": actor.username, "organisation": pack.name,
        "alerts": out_alerts,
        "notes": [{"id": n.id, "notebook": n.notebook, "text": n.text, "author": n.author,
                   "created_at": _iso(n.created_at)} for n in loose_notes],
        "events": [{"id": e.id, "at": _iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail,
                    "detail_in_words": _detail_in_words(pack, e.detail)} for e in about_customer],
    }


def _restricted_left_out(db: Session, *, pack: Pack, actor: Actor, customer: Customer) -> dict | None:
    """Whether records about this person are restricted beyond this actor, and who must complete
    the export: never a silently empty answer to a subject access request. It says neither how
    many there are nor what restriction they carry."""
    hidden = set(db.scalars(select(Alert.restriction).where(or_(Alert.customer_id == customer.id,
                                                                Alert.about_customer_id == customer.id),
                                                            ~permissions.visible(pack, actor)).distinct()))
    if not hidden:
        return None
    admitted = frozenset.intersection(*(pack.restrictions[r].visible_to for r in hidden if r in pack.restrictions))
    roles = (pack.registers.subject_access & admitted) or admitted
    names = sorted(pack.roles[r].name for r in roles if r in pack.roles)
    return {"exist": True, "complete_with_roles": names,
            "message": (f"This export is not complete: records about {customer.reference} are restricted and not "
                        f"in it. Someone with the role {' or '.join(names) or 'named by the restriction'} must "
                        f"complete the export.")}


# --- the dossier -------------------------------------------------------------------------

def dossier(db: Session, *, pack: Pack, actor: Actor, alert_id: int) -> dict:
    """One marker's whole history, in the order the dossier prints it."""
    require(may_read_registers(pack, actor), "a marker dossier", pack.registers.readers, pack=pack)
    story = alert_story(db, pack=pack, actor=actor, alert_id=alert_id)  # audits a restricted view
    alert = story["alert"]
    events = story["events"]
    cases = {c.id: c for c in story["cases"]}
    audit.record(db, actor=actor.username, action="dossier_produced", alert_id=alert.id)
    return {"story": story, "alert": alert, "cases": cases, "circulation_words": circulation.NOTICE_WORDS,
            "assessment_words": {ra.id: wording.answers(task_view.case_fields(cases[ra.case_id]), ra.content or {})
                                 for ra in story["assessments"] if ra.case_id in cases},
            "report": next((e for e in events if e.action == "concern_reported"), None),
            "decisions": [e for e in events if e.action == "decision"],
            "appeals": [e for e in events if e.action in ("appeal_lodged", "appeal_decided")],
            "sharing": [e for e in events if any(w in e.action for w in ("shar", "agenc", "notif", "out_of_hours"))]
                       + [e for e in events if e.action == "letter_issued"
                          and any(w in str(e.detail.get("template", "")) for w in ("agenc", "out_of_hours", "notice"))]}


def dossier_pdf(db: Session, *, pack: Pack, actor: Actor, alert_id: int) -> bytes:
    """The marker dossier as one printable PDF (workflows/drawing/pdf.py draws it)."""
    return pdf.dossier(dossier(db, pack=pack, actor=actor, alert_id=alert_id), pack=pack, produced_by=actor.username)

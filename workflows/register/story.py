"""An alert's story: everything about it in order, for someone with a need to know it, with the
reasons for not telling the tenant taken out for the roles of the non-disclosure register."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, distinct, func, select, true
from sqlalchemy.orm import Session, immediateload

from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.definitions import deployment
from workflows.definitions.pack import Pack
from workflows.tasks import task_view
from workflows.register import circulation, incidents
from workflows.platform.models import AuditEvent, Case, HumanTask, Letter, NonDisclosure, Note, RiskAssessment


@dataclass(frozen=True)
class Views:
    """How often a restricted record has been viewed, and by how many people, between two moments."""
    count: int
    people: int
    first: datetime | None
    last: datetime | None


def alert_story(db: Session, *, pack: Pack, actor: Actor, alert_id: int, every_view: bool = True) -> dict:
    """Everything about one alert in order: cases, steps, assessments, letters, events, for
    someone with a need to know it (permissions.require_story); the reasons for not telling the
    tenant only for the roles of the non-disclosure register.

    Viewing a restricted record is itself audited. `every_view` False (the pages people work
    from): the events leave the views out and `views` counts them, since a restricted marker
    viewed every week for years would otherwise fill its page with them; the command line and the
    exports list every one."""
    alert = permissions.known_alert(db, pack=pack, actor=actor, alert_id=alert_id)
    permissions.open_story(db, pack=pack, actor=actor, alert=alert)
    # the alert and the cases are in the session already: found there by their keys, not joined in
    # again (each join of the alert brings its customer's tenancies in one more round trip)
    cases = list(db.scalars(select(Case).where(Case.alert_id == alert.id).order_by(Case.id)
                            .options(immediateload(Case.alert))))
    case_ids = [c.id for c in cases]
    tasks = list(db.scalars(select(HumanTask).where(HumanTask.case_id.in_(case_ids)).order_by(HumanTask.id)
                            .options(immediateload(HumanTask.case))))
    story = {
        "alert": alert,
        "cases": cases,
        "tasks": tasks,
        "assessments": list(db.scalars(select(RiskAssessment).where(RiskAssessment.alert_id == alert.id)
                                           .order_by(RiskAssessment.id))),
        "letters": list(db.scalars(select(Letter).where(Letter.alert_id == alert.id).order_by(Letter.id))),
        "non_disclosures": list(db.scalars(select(NonDisclosure).where(NonDisclosure.alert_id == alert.id)
                                               .order_by(NonDisclosure.id))),
        "notes": list(db.scalars(select(Note).where(Note.alert_id == alert.id).order_by(Note.id))),
        # in chain order: ids can be changed without breaking a hash, the chain's sequence cannot
        "events": list(db.scalars(select(AuditEvent).where(
            AuditEvent.alert_id == alert.id, true() if every_view else AuditEvent.action != permissions.RECORD_VIEWED)
            .order_by(AuditEvent.seq.is_(None), AuditEvent.seq, AuditEvent.id))),
        "views": None if every_view else _views(db, alert.id),
        "non_disclosures_withheld": False,
        "incidents": incidents.incidents(db, alert),  # the concern first reported, then each one linked to it
        # who was told of the marker, when, by which step, with what wording (and why, beyond the default)
        "circulation": circulation.circulation_list(db, alert.id),
    }
    if not permissions.may_read_non_disclosures(pack, actor):
        _withhold_non_disclosures(db, story)
    # what each completed step answered, by the form's labels (the raw answers stay on the rows)
    story["answers"] = {t.id: task_view.answers_in_words(t) for t in tasks if t.form_data}
    return story


def _views(db: Session, alert_id: int) -> Views:
    viewed = and_(AuditEvent.alert_id == alert_id, AuditEvent.action == permissions.RECORD_VIEWED)
    row = db.execute(select(func.count(), func.count(distinct(AuditEvent.actor)), func.min(AuditEvent.at),
                            func.max(AuditEvent.at)).where(viewed)).one()
    return Views(*row)


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
    fields = set()
    for definition in {c.definition_id: c.definition for c in cases}.values():
        spec, subprocesses = deployment.spec_for(definition)
        for process in (spec, *subprocesses.values()):
            for task_spec in process.task_specs.values():
                if getattr(task_spec, "action", None) == "record_non_disclosure":
                    fields.add((task_spec.extensions or {}).get("reason_field") or "non_disclosure_reason")
    return frozenset(fields)

"""Running cases. Every function here is one engine step inside the caller's transaction:
load the case under a lock, advance it, save state, projections and audit events. The
caller commits; if anything fails, the caller rolls back and nothing is half-saved.
"""
from datetime import datetime
from functools import lru_cache
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, lazyload, object_session, undefer
from sqlalchemy.orm.exc import StaleDataError

from workflows.compliance import audit
from workflows.platform import clock, text, wording
from workflows.platform.db import reading
from workflows.definitions import deployment, spiff
from workflows.cases import forms
from workflows.register import appeals, housing_system, incidents, letters
from workflows.register import tenancy as tenancies
from workflows import permissions
from workflows.cases.actions import ACTIONS, ActionContext
from workflows.cases.assignment import Actor, actor_of, check_may_act, check_not_excluded, role_clear_of, route
from workflows.tasks import drafts
from workflows.platform.errors import Conflict, FormInvalid, NotAllowed, NotFound, StepFailed, WorkflowError
from workflows.platform.models import (Alert, AlertStatus, Case, CaseStatus, Customer, HumanTask, HumanTaskExclusion, Letter, LinkedIncident, OPEN_TASK, TaskStatus, User, UserRole)
from workflows.definitions.pack import Pack

SYSTEM = "system"


def actor_for(db: Session, pack: Pack, username: str) -> Actor:
    """The active user with this username, as the engine sees them (roles and seniority)."""
    rows = db.execute(_ACTOR, {"username": username}).all()
    if not rows:
        raise NotFound(f"there is no active user '{username}'")
    return actor_of(db, pack, rows[0].username, (row.role for row in rows if row.role))


def report_concern(db: Session, *, pack: Pack, actor: Actor, customer_ref: str | None = None, category: str,
                   description: str, staff_involved: str | None = None, link_to: int | None = None,
                   property_ref: str | None = None) -> Case:
    """A member of staff reports a concern: a new alert, and its assessment case. The member of
    staff involved (if named), like the reporter, never decides on it.

    link_to: the id of an active marker already on the customer; the concern is recorded as one of
    that marker's incidents and assessed by the pack's incident process, not as a second alert.
    property_ref: the property, for a category the pack puts on properties (`on = "property"`)."""
    customer_ref = text.clean_text(customer_ref, field="customer", max_length=text.CUSTOMER_REFERENCE)
    category = text.clean_text(category, field="category", max_length=text.CATEGORY)
    description = text.clean_text(description, field="description", max_length=text.LONG_TEXT)
    staff_involved = text.clean_text(staff_involved, field="staff_involved", max_length=text.USERNAME,
                                     label="the member of staff involved")
    kind = pack.require_category(category)
    property_ref = text.clean_text(property_ref, field="property", max_length=text.CUSTOMER_REFERENCE,
                                   label="property reference")
    if kind.on == "property" and customer_ref:
        raise FormInvalid({"customer": f"{kind.label} is a marker on a property, not on a person: name the "
                                       f"property (its reference), not customer {customer_ref}"})
    if kind.on != "property" and property_ref:
        raise FormInvalid({"property": f"{kind.label} is a marker on a person, not on a property: name the "
                                       f"customer, not property {property_ref}"})
    if not description:
        raise WorkflowError("describe what happened: the description is empty")
    if kind.on == "property":
        return _report_about_property(db, pack=pack, actor=actor, property_ref=property_ref, category=category,
                                      description=description, staff_involved=staff_involved, link_to=link_to)
    if not customer_ref:
        raise FormInvalid({"customer": "name the customer the concern is about (their reference)"})
    customer = db.scalar(select(Customer).where(Customer.reference == customer_ref))
    if customer is None:
        raise NotFound(f"there is no customer with reference '{customer_ref}'")
    staff_involved = _staff_involved(db, staff_involved)
    if link_to is not None:
        return _report_linked_incident(db, pack=pack, actor=actor, customer=customer, alert_id=link_to,
                                       category=category, description=description, staff_involved=staff_involved)
    about = None
    if pack.markers_on_lead_tenant and customer.household_of_id is not None:
        # the marker goes on the household's lead tenant; the member's own record is linked, not flagged
        about, customer = customer, db.get(Customer, customer.household_of_id)
    alert = Alert(customer_id=customer.id, category=category, status=AlertStatus.UNDER_ASSESSMENT,
                  reported_by=actor.username, staff_involved=staff_involved, reported_at=clock.now(),
                  about_customer_id=about.id if about else None)
    db.add(alert)
    db.flush()
    audit.record(db, actor=actor.username, action="concern_reported", alert_id=alert.id,
                 category=category, customer=customer.reference, description=description,
                 **({"staff_involved": staff_involved} if staff_involved else {}),
                 **({"about_customer": about.reference} if about else {}))
    return start_case(db, pack=pack, process_id=pack.assessment_process_for(category), alert=alert,
                      kind="assessment", actor=actor.username, data={"description": description.strip()})


def _staff_involved(db: Session, username: str | None) -> str | None:
    """The member of staff a concern names as involved (they never decide it): an active user, or none."""
    username = (username or "").strip() or None
    if username and db.scalar(select(User.id).where(User.username == username, User.active.is_(True))) is None:
        raise FormInvalid({"staff_involved": f"there is no active user '{username}': name the member "
                                             f"of staff involved by their username"})
    return username


def _report_about_property(db: Session, *, pack: Pack, actor: Actor, property_ref: str, category: str,
                           description: str, staff_involved: str | None, link_to: int | None) -> Case:
    """A concern about a place (a dangerous animal, needles, structural danger): a new alert on the
    property, assessed by the category's process; whoever lives there is shown it."""
    if not property_ref:
        raise FormInvalid({"property": f"name the property the {pack.categories[category].label.lower()} is at "
                                       f"(its reference, shown by check before visiting)"})
    if link_to is not None:
        raise FormInvalid({"link_to": "a concern about a property is reported as a new concern, not linked"})
    place = tenancies.property_named(db, property_ref)
    if place is None:
        raise NotFound(f"there is no property with reference '{property_ref}'")
    staff_involved = _staff_involved(db, staff_involved)
    alert = Alert(property_id=place.id, category=category, status=AlertStatus.UNDER_ASSESSMENT,
                  reported_by=actor.username, staff_involved=staff_involved, reported_at=clock.now())
    db.add(alert)
    db.flush()
    audit.record(db, actor=actor.username, action="concern_reported", alert_id=alert.id, category=category,
                 property=place.reference, description=description,
                 **({"staff_involved": staff_involved} if staff_involved else {}))
    return start_case(db, pack=pack, process_id=pack.assessment_process_for(category), alert=alert,
                      kind="assessment", actor=actor.username, data={"description": description.strip()})


def _report_linked_incident(db: Session, *, pack: Pack, actor: Actor, customer: Customer, alert_id: int,
                            category: str, description: str, staff_involved: str | None) -> Case:
    """A concern about a customer recorded against the active marker already on them: one of the
    marker's incidents, assessed by the pack's incident process knowing the marker."""
    alert = permissions.known_alert(db, pack=pack, actor=actor, alert_id=alert_id)
    holder = incidents.marker_holder(db, pack, customer)
    if alert.customer_id != holder.id:
        raise NotAllowed(f"alert {alert.id} is not a marker on {customer.name} ({customer.reference}), so this "
                         f"concern cannot be linked to it")
    if alert.status != AlertStatus.ACTIVE:
        when = f" on {wording.day(alert.removed_at)}" if alert.removed_at else ""
        state = f"was removed{when}" if alert.status == AlertStatus.REMOVED else f"is {alert.status.replace('_', ' ')}"
        raise NotAllowed(f"alert {alert.id} {state}: a concern can be linked only to an active marker; report it "
                         f"as a new concern (without linking it)")
    if pack.incident_process is None:
        raise NotAllowed(f"the {pack.name} pack does not link concerns to a marker already on the customer "
                         f"([pack] incident_process names no process); report it as a new concern")
    incident = LinkedIncident(alert_id=alert.id, category=category, description=description.strip(),
                              reported_by=actor.username, staff_involved=staff_involved, reported_at=clock.now())
    db.add(incident)
    db.flush()
    audit.record(db, actor=actor.username, action="incident_linked", alert_id=alert.id, incident=incident.id,
                 category=category, customer=customer.reference, description=description,
                 **({"staff_involved": staff_involved} if staff_involved else {}))
    case = start_case(db, pack=pack, process_id=pack.incident_process, alert=alert, kind="incident",
                      actor=actor.username, data=incidents.case_data(db, alert=alert, incident=incident))
    incident.case_id = case.id
    return case


def start_appeal(db: Session, *, pack: Pack, actor: Actor, alert_id: int, grounds: str) -> Case:
    """The tenant appeals the latest decision on their marker, within the pack's time limit
    (workflows/register/appeals.py). The only way an appeal case starts."""
    alert = permissions.known_alert(db, pack=pack, actor=actor, alert_id=alert_id)
    closed = appeals.closed_on(db, pack=pack, alert=alert)
    if closed is None or not pack.late_appeals:
        appeals.check_window(db, pack=pack, alert=alert)
    if pack.appeal_process is None:
        raise NotAllowed(f"the {pack.name} pack has no appeal process")
    if alert.status != AlertStatus.ACTIVE:
        raise NotAllowed(f"alert {alert.id} is {alert.status.replace('_', ' ')}; only an active marker can be appealed")
    if not alert.decision_no:  # an interim marker, on pending the decision: nothing decided to appeal yet
        raise NotAllowed(f"alert {alert.id} carries an interim marker, put on while the assessment is under way; "
                         f"nothing has been decided yet, so there is nothing to appeal: it can be appealed once "
                         f"the assessment decides")
    grounds = text.clean_text(grounds, field="grounds", max_length=text.LONG_TEXT, label="the grounds")
    if not grounds:
        raise WorkflowError("record the tenant's grounds for appeal: the grounds are empty")
    if db.scalar(select(Case.id).where(Case.alert_id == alert.id, Case.kind == "appeal",
                                       Case.status == CaseStatus.RUNNING)):
        raise NotAllowed(f"alert {alert.id} already has an appeal under way")
    if pack.appeal_outcome_final and alert.appealed_decision_no == alert.decision_no:
        raise NotAllowed(f"decision {alert.decision_no} on alert {alert.id} has been appealed already, "
                         f"and the outcome of an appeal is final")
    late = closed is not None  # and the pack hears late appeals: its late_appeals process decides whether to
    audit.record(db, actor=actor.username, action="appeal_lodged", alert_id=alert.id,
                 decision_no=alert.decision_no, grounds=grounds,
                 **({"late": True, "window_closed_on": wording.day(closed)} if late else {}))
    case = _start_case(db, pack=pack, process_id=pack.late_appeals if late else pack.appeal_process, alert=alert,
                       kind="appeal", actor=actor.username, data={
                           "original_decider": alert.decided_by, "original_decider_role": alert.decided_role,
                           "appeal_grounds": grounds.strip(), "appealed_decision_no": alert.decision_no,
                           "late_appeal": late, "appeal_window_closed": wording.day(closed) if late else ""})
    db.flush()
    return case


def start_case(db: Session, *, pack: Pack, process_id: str, alert: Alert, kind: str, actor: str,
               data: dict, timers_due_at: datetime | None = None, flush: bool = True,
               definition=None) -> Case:
    """Start a case of the newest version of a process and run it until it waits. Appeals start
    only through start_appeal, which applies the time limit.

    timers_due_at: the duration timers the new case first waits on fall due at this moment
    instead of after their duration (a review imported with its next review date).
    flush=False: the case is inserted at the caller's next flush (many cases started at once);
    definition: the process's newest version, when the caller has looked it up once for them all."""
    if kind == "appeal":
        raise NotAllowed("an appeal is lodged with its grounds (alertflow appeal), which checks the time to appeal")
    case = _start_case(db, pack=pack, process_id=process_id, alert=alert, kind=kind, actor=actor, data=data,
                       timers_due_at=timers_due_at, definition=definition)
    if flush:
        db.flush()  # the caller gets the case with its id
    return case


def _start_case(db: Session, *, pack: Pack, process_id: str, alert: Alert, kind: str, actor: str,
                data: dict, timers_from: datetime | None = None, timers_due_at: datetime | None = None,
                definition=None, besides: int | None = None) -> Case:
    """start_case without the flush: a case started inside another case's step (continue-as-new)
    is inserted by that step's one flush, already holding the state it waits in.

    timers_from: the duration timers the new case first waits on count from this moment, not
    from now (the next review period from the previous review's due date).
    besides: the case starting it (a review scheduling the next as it ends), not counted as waiting."""
    definition = definition or deployment.latest(db, pack=pack.key, process_id=process_id)
    if definition is None:
        raise NotFound(f"process '{process_id}' is not deployed (run: alertflow pack deploy)")
    if kind == "review":
        _refuse_second_review(db, alert, besides)
    spec, subprocess_specs = deployment.spec_for(definition)
    # read before the case joins the session: its query's autoflush would insert the case still empty,
    # and the step would then write it a second time with its state
    known = alert_data(alert, pack)
    case = Case(alert=alert, definition=definition, kind=kind, status=CaseStatus.RUNNING, workflow_state={},
                started_by=actor, created_at=clock.now(), updated_at=clock.now())
    db.add(case)
    step = _Step(db, pack, case, actor)
    step.timers_from, step.timers_due_at = timers_from, timers_due_at
    workflow = spiff.new_workflow(spec, subprocess_specs, step.script_engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(known, **data)
    step.advance(workflow)
    audit.record(db, actor=actor, action="case_started", case=case, alert_id=alert.id,
                 process_id=process_id, version=definition.version, kind=kind)
    return case


def waiting_reviews(db: Session, alert_id: int, besides: int | None = None) -> list[Case]:
    """The marker's running review cases (there is at most one), other than `besides`."""
    with db.no_autoflush:  # a step's pending changes cannot start a review: only this function's callers do
        return list(db.scalars(_WAITING_REVIEWS, {"alert_id": alert_id, "besides": NO_CASE if besides is None else besides}))


def _refuse_second_review(db: Session, alert: Alert, besides: int | None) -> None:
    """A marker has exactly one review case waiting: never a second one started beside it."""
    if alert.id is None:
        return  # a new alert (an import) has none yet
    waiting = waiting_reviews(db, alert.id, besides)
    if waiting and besides is not None:
        _refuse_if_stale(db, besides)  # a race for the step that scheduled it: the other one won
    if waiting:
        due = f", due {wording.day(waiting[0].next_timer_at)}" if waiting[0].next_timer_at else ", under way"
        raise StepFailed(f"alert {alert.id} already has a review waiting (case {waiting[0].id}{due}); a marker has "
                         f"one waiting review: move it with reschedule_review or start_review_now instead of "
                         f"scheduling another")


def _refuse_if_stale(db: Session, case_id: int) -> None:
    """The step's own case changed since this step read it (someone completed the same step at the same
    moment, and what they did is what this step now sees): the ordinary lost race, nothing saved."""
    held = db.get(Case, case_id)
    with db.no_autoflush:
        stored = db.scalar(select(Case.lock_version).where(Case.id == case_id))
    if held is not None and stored is not None and stored != held.lock_version:
        raise Conflict(f"case {case_id} was changed by someone else at the same moment; "
                       f"nothing you entered was saved, please try again")


def retime_review(db: Session, *, pack: Pack, alert: Alert, due: datetime, actor: str, besides: int | None,
                  later: bool = True) -> dict:
    """Move the marker's one waiting review case to fall due at `due` (now or earlier: it opens at once).
    The same case is retimed, so no second review is ever left beside it. later=False: a review already
    due sooner keeps its date. Returns what happened: {"case", "moved", "from", "to", "under_way"}."""
    waiting = waiting_reviews(db, alert.id, besides)
    if not waiting:
        raise StepFailed(f"alert {alert.id} has no review waiting to be moved (its marker is "
                         f"{alert.status.replace('_', ' ')}); a review is scheduled by schedule_review")
    case = _lock(db, waiting[0].id)
    before = clock.as_utc(case.next_timer_at) if case.next_timer_at else None
    step = _Step(db, pack, case, SYSTEM)
    workflow = step.restore()
    timers = [t for t in workflow.get_tasks(state=TaskState.WAITING)
              if isinstance(getattr(t.task_spec, "event_definition", None), DurationTimerEventDefinition)]
    if not timers or before is None:  # its timer has fired: the review is with people now
        return {"case": case, "moved": False, "from": before, "to": before, "under_way": True}
    if not later and due >= before:
        return {"case": case, "moved": False, "from": before, "to": before, "under_way": False}
    for task in timers:
        _retime_to(workflow, task, due)
    step.advance(workflow)  # due already: the timer fires now and the review opens
    alert.next_review_at = due
    return {"case": case, "moved": True, "from": before, "to": due, "under_way": False}


def alert_data(alert: Alert, pack: Pack | None = None) -> dict:
    """What every case of an alert starts knowing about it."""
    return {
        "alert_id": alert.id, "category": alert.category, "customer_ref": alert.subject.reference,
        "customer_name": alert.subject.name, "on_property": alert.property_id is not None, "restriction": alert.restriction,
        "marker_text": alert.marker_text, "control_measures": alert.control_measures,
        "level": alert.level, "marker_code": alert.marker_code, "decided_by": alert.decided_by,
        "decided_role": alert.decided_role, "review_no": alert.review_count or 0,
        "reported_by": alert.reported_by, "staff_involved": alert.staff_involved,
        "about_customer_ref": alert.about_customer.reference if alert.about_customer_id else None,
        # as the register holds them when the case starts, for a form to compare its answers with
        "current_level": alert.level, "current_marker_code": alert.marker_code,
        # so that a marker action puts back only what its own case changed (actions._apply_marker_fields)
        "marker_at_start": {"marker_text": alert.marker_text, "control_measures": alert.control_measures,
                            "level": alert.level, "marker_code": alert.marker_code},
        "tenant_told": _tenant_told(alert, pack),
        **marker_field_values(alert, pack),
    }


def marker_field_values(alert: Alert, pack: Pack | None) -> dict:
    """The pack's [marker_fields] as the marker holds them (None where not set, so a condition may
    ask), an enum's option labels as `<name>_labels`: every case of the marker starts with them."""
    if pack is None:
        return {}
    values, details = alert.marker_values or {}, alert.marker_details or {}
    # as the case found them: a marker action puts back only what this case changed or answered,
    # never a value carried from a year ago over one another case has set since
    known = {"marker_fields_at_start": {n: values.get(n) for n in pack.marker_fields}} if pack.marker_fields else {}
    for name, spec in pack.marker_fields.items():
        known[name] = values.get(name)
        if spec.type in (None, "enum"):
            known[f"{name}_labels"] = details.get(name)
    return known


def _tenant_told(alert: Alert, pack: Pack | None) -> bool:
    """Whether a letter has told the tenant of a decision on this alert (a review may be the first); a
    notice to someone else (`to_tenant = false`) tells the tenant nothing."""
    db = object_session(alert)
    if db is None or alert.id is None:
        return False
    with reading(db, Letter):  # with a letter this step has just issued
        return db.scalar(_told_query(pack.notices() if pack is not None else None), {"alert_id": alert.id}) is not None


@lru_cache(maxsize=None)
def _told_query(notices: tuple[str, ...] | None):
    """_tenant_told's statement, built once per pack's notices (None: any letter counts)."""
    query = select(Letter.id).where(Letter.alert_id == bindparam("alert_id"), Letter.decision_no.is_not(None))
    if notices is not None:
        query = query.where(letters.not_a_notice(notices))
    return query.limit(1)


def complete_task(db: Session, *, pack: Pack, actor: Actor, task_id: int, values: dict) -> HumanTask:
    """Complete a human step with form values; the case runs on to its next wait."""
    case, human_task = _lock_for_task(db, pack, actor, task_id)
    check_may_act(pack, human_task, actor)
    drafts.discard(db, [human_task.id])  # undone by the rollback if the step does not go through
    if human_task.kind == housing_system.KIND:  # not a step of the diagram: the workflow is not touched
        housing_system.complete(db, task=human_task, actor=actor.username, values=values)
        _touch(db, case)
        return human_task
    step = _Step(db, pack, case, actor.username)
    workflow = step.restore()
    step.settled.add(human_task.task_uuid)  # its row is marked completed below
    task = workflow.get_task_from_id(UUID(human_task.task_uuid))
    if task is None or task.state != TaskState.READY:
        raise Conflict(f"task {task_id} is no longer waiting; someone else has completed it")
    clean = forms.validate(db, task.task_spec, values, task.data)
    task.data.update(clean)
    task.data.update(forms.option_labels(task.task_spec, clean))
    task.data["form_answers"] = clean
    if (task.task_spec.extensions or {}).get("decision") == "true":
        task.data.update(last_decision_by=actor.username, last_decision_at=clock.now().isoformat(),
                         last_decision_role=_acting_role(pack, human_task, actor))
    human_task.status, human_task.completed_by = TaskStatus.COMPLETED, actor.username
    human_task.completed_at, human_task.form_data = clock.now(), clean
    audit.record(db, actor=actor.username, action="task_completed", case_id=case.id,
                 alert_id=case.alert_id, task_id=human_task.id, element=human_task.bpmn_id,
                 title=human_task.title, values=clean)
    step.run_task(workflow, task)
    return human_task


def claim_task(db: Session, *, pack: Pack, actor: Actor, task_id: int) -> HumanTask:
    """Take a role's task as one's own."""
    _, task = _lock_for_task(db, pack, actor, task_id, with_state=False)
    check_may_act(pack, task, actor)
    task.assignee, task.status = actor.username, TaskStatus.CLAIMED
    audit.record(db, actor=actor.username, action="task_claimed", case_id=task.case_id,
                 alert_id=task.case.alert_id, task_id=task.id)
    _touch(db, task.case)
    return task


def release_task(db: Session, *, pack: Pack, actor: Actor, task_id: int) -> HumanTask:
    """Give a claimed task back to its role."""
    _, task = _lock_for_task(db, pack, actor, task_id, with_state=False)
    if task.status != TaskStatus.CLAIMED or task.assignee != actor.username:
        raise NotAllowed(f"task {task.id} is not claimed by {actor.username}")
    task.assignee, task.status = None, TaskStatus.READY
    audit.record(db, actor=actor.username, action="task_released", case_id=task.case_id,
                 alert_id=task.case.alert_id, task_id=task.id)
    _touch(db, task.case)
    return task


def reassign_task(db: Session, *, pack: Pack, actor: Actor, task_id: int, to_username: str) -> HumanTask:
    """A manager of the task's role (ranked above it, or an administrator) gives it to someone
    who may do it; the must-outrank rule still holds for the new assignee."""
    from workflows.cases.assignment import _check_outranks

    _, task = _lock_for_task(db, pack, actor, task_id, with_state=False)
    role = pack.roles.get(task.role)
    if not permissions.is_administrator(pack, actor) and (role is None or actor.rank <= role.rank):
        raise NotAllowed(f"only a manager ranked above the {role.name if role else task.role} role "
                         f"or an administrator may reassign task {task.id}")
    if task.status not in OPEN_TASK:
        raise Conflict(f"task {task.id} ('{task.title}') is {task.status}; it can no longer be reassigned")
    target = actor_for(db, pack, to_username)
    if not pack.may_see(task.case.alert.restriction, target.roles):
        raise NotAllowed(f"{target.username} may not see this record, so cannot be given task {task.id}")
    if task.outrank_rank is not None:
        _check_outranks(pack, task, target)
    elif task.role not in target.acting_roles:
        raise NotAllowed(f"{target.username} does not hold the {role.name if role else task.role} role")
    check_not_excluded(pack, task, target.username, doing="be given to")
    previous = task.assignee
    task.assignee, task.status = target.username, TaskStatus.CLAIMED
    audit.record(db, actor=actor.username, action="task_reassigned", case_id=task.case_id,
                 alert_id=task.case.alert_id, task_id=task.id, from_user=previous, to_user=target.username)
    _touch(db, task.case)
    return task


def nominate_task(db: Session, *, pack: Pack, actor: Actor, task_id: int, to_username: str) -> HumanTask:
    """A holder of the step's role hands it to someone they nominate, of the role its `nominee`
    property names (e.g. a Head of Service's nominated Service Manager). The step's other rules
    (who may see the record, nobody on their own incident, must-outrank) hold for the nominee."""
    from workflows.cases.assignment import _check_outranks

    _, task = _lock_for_task(db, pack, actor, task_id, with_state=False)
    check_may_act(pack, task, actor)
    spec = deployment.spec_for(task.case.definition)[0].task_specs.get(task.bpmn_id) if task.kind != \
        housing_system.KIND else None
    nominee = ((getattr(spec, "extensions", None) or {}).get("nominee") or "") if spec else ""
    role = pack.roles[task.role].name if task.role in pack.roles else task.role
    if not nominee:
        raise NotAllowed(f"task {task.id} ('{task.title}') cannot be handed to a nominee: its step names no "
                         f"nominee role")
    nominee_name = pack.roles[nominee].name if nominee in pack.roles else nominee
    if task.role not in actor.acting_roles:
        raise NotAllowed(f"only a holder of the {role} role may nominate someone for task {task.id}")
    target = actor_for(db, pack, to_username)
    if nominee not in target.roles:
        raise NotAllowed(f"{target.username} does not hold the {nominee_name} role, so cannot be nominated "
                         f"for task {task.id}")
    if not pack.may_see(task.case.alert.restriction, target.roles):
        raise NotAllowed(f"{target.username} may not see this record, so cannot be given task {task.id}")
    if task.outrank_rank is not None:
        _check_outranks(pack, task, target)
    check_not_excluded(pack, task, target.username, doing="be given to")
    task.assignee, task.status = target.username, TaskStatus.CLAIMED
    audit.record(db, actor=actor.username, action="task_nominated", case_id=task.case_id,
                 alert_id=task.case.alert_id, task_id=task.id, to_user=target.username, role=nominee)
    _touch(db, task.case)
    return task


def due_case_ids(db: Session, *, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Running cases whose next timer has passed, oldest first."""
    # strictly before now, as SpiffWorkflow's timers compare: a timer due this instant fires next tick
    query = (select(Case.id).where(Case.status == CaseStatus.RUNNING, Case.next_timer_at < (now or clock.now()))
             .order_by(Case.next_timer_at))
    return list(db.scalars(query.limit(limit) if limit else query))


def advance_timers(db: Session, *, pack: Pack, case_id: int) -> bool:
    """Fire the due timers of one case; False if another worker already did."""
    case = _lock(db, case_id)
    if (case.status != CaseStatus.RUNNING or case.next_timer_at is None
            or clock.as_utc(case.next_timer_at) >= clock.now()):
        return False
    step = _Step(db, pack, case, SYSTEM)
    workflow = step.restore()
    audit.record(db, actor=SYSTEM, action="timer_fired", case_id=case.id, alert_id=case.alert_id,
                 due_at=case.next_timer_at)
    step.advance(workflow)
    return True


def cancel_case(db: Session, *, case: Case, actor: str, reason: str) -> None:
    """Stop a running case: its timers and open steps go with it. Its housing system obligations
    stay: a removal that cancels a review must still reach the housing system."""
    _lock(db, case.id)
    case.status, case.next_timer_at = CaseStatus.CANCELLED, None
    for task in _open_tasks(db, case.id):
        task.status = TaskStatus.CANCELLED
        drafts.discard(db, [task.id])
    audit.record(db, actor=actor, action="case_cancelled", case_id=case.id, alert_id=case.alert_id,
                 reason=reason)
    _touch(db, case)


def migration_problem(case: Case, definition) -> str | None:
    """Why a case cannot move to another version of its process, or None if it can."""
    new_spec, _ = deployment.spec_for(definition)
    return _problem_moving(_restored(case), new_spec, f"version {definition.version}")


def case_data(case: Case) -> tuple[dict, set[str]]:
    """What a running case knows now, as its next step would read it (the data of its waiting and
    ready tasks), and the ids of the diagram elements it has done, worked out in memory: nothing is
    locked or written."""
    workflow, data = _restored(case), {}
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        data.update(task.data)
    return data, {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)}


def _restored(case: Case):
    """The case's workflow as saved, in memory only (nothing is locked or written)."""
    spec, subprocess_specs = deployment.spec_for(case.definition)
    return spiff.load_state(case.workflow_state, spec, subprocess_specs, spiff.ScriptEngine())


def _problem_moving(workflow, new_spec, target: str) -> str | None:
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.COMPLETED):
        if task.task_spec.name not in new_spec.task_specs:
            what = "step" if task.state == TaskState.COMPLETED else "waiting step"
            return f"its {what} '{task.task_spec.bpmn_id or task.task_spec.name}' is not in {target}"
    return None


def _onto(workflow, new_spec, new_subprocess_specs) -> None:
    """Put a restored workflow onto another version's spec, keeping where it waits: what follows
    each waiting step is predicted again from the new version, and a waiting duration timer keeps
    the moment it started and takes the new version's duration. One home for moving a case and
    for previewing the move (move_preview)."""
    timer_starts = {t.id: t._get_internal_data("timer_started_at") for t in workflow.get_tasks(state=TaskState.WAITING)}
    workflow.spec, workflow.subprocess_specs = new_spec, new_subprocess_specs
    for task in workflow.get_tasks():
        # predicted steps the new version lacks are dropped when their branch is re-predicted below
        task.task_spec = new_spec.task_specs.get(task.task_spec.name, task.task_spec)
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        task.reset_branch(None)  # re-predict what follows from the new version
        _retime(workflow, task, timer_starts.get(task.id))


def _timer_due(task) -> datetime | None:
    if not isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition):
        return None
    value = task._get_internal_data("event_value")
    try:
        return clock.parse_moment(value) if value else None
    except (TypeError, ValueError):
        return None


def _is_human(spec) -> bool:
    return bool(getattr(spec, "manual", False))


def _step_name(spec) -> str:
    return spec.bpmn_name or spec.bpmn_id or spec.name


def move_preview(case: Case, *, pack: Pack, new_spec, new_subprocess_specs, target: str) -> tuple[str | None, list[str]]:
    """What moving a waiting case onto another version (deployed or not yet) would change for it,
    worked out in memory with what move_case does, nothing saved: (why it cannot move or None, the
    changes in words: a timer or its next review falling due on another day, its open step renamed,
    moved to another role or asking for other fields, a field the new version asks for at a step
    it has passed but which it lacks)."""
    workflow = _restored(case)
    problem = _problem_moving(workflow, new_spec, target)
    if problem:
        return problem, []
    waiting = {t.id: (_timer_due(t), t.task_spec) for t in workflow.get_tasks(state=TaskState.WAITING)}
    ready = {t.id: t.task_spec for t in workflow.get_tasks(state=TaskState.READY) if _is_human(t.task_spec)}
    review_at = clock.as_utc(case.alert.next_review_at) if case.alert.next_review_at else None
    _onto(workflow, new_spec, new_subprocess_specs)
    lines = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        before, old_spec = waiting.get(task.id, (None, None))
        after = _timer_due(task)
        if before is None or after is None or clock.as_utc(before) == clock.as_utc(after):
            continue
        what = "its next review" if review_at and clock.as_utc(before) == review_at else \
            f"its timer '{_step_name(old_spec)}'"
        late = " (already past: it would fall due at the next timer sweep)" if clock.as_utc(after) <= clock.now() else ""
        lines.append(f"{what} moves from {wording.day(before)} to {wording.day(after)}{late}")
    data = {}
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        data.update(task.data)
    for task in workflow.get_tasks(state=TaskState.READY):
        old_spec, spec = ready.get(task.id), task.task_spec
        if old_spec is None or not _is_human(spec):
            continue
        if _step_name(old_spec) != _step_name(spec):
            lines.append(f"its open step '{_step_name(old_spec)}' is renamed '{_step_name(spec)}'")
        old_role, new_role = pack.role_for_lane(old_spec.lane), pack.role_for_lane(spec.lane)
        if old_role != new_role and new_role is not None:
            lines.append(f"its open step '{_step_name(spec)}' moves from the "
                         f"{old_role.name if old_role else old_spec.lane} to the {new_role.name}")
        old_fields = {f.id: f for f in forms.fields_of(old_spec)}
        new_fields = {f.id: f for f in forms.fields_of(spec)}
        added = [f.label for i, f in new_fields.items() if i not in old_fields]
        gone = [f.label for i, f in old_fields.items() if i not in new_fields]
        if added:
            lines.append(f"its open step '{_step_name(spec)}' now also asks for {wording.and_list(added)}")
        if gone:
            lines.append(f"its open step '{_step_name(spec)}' no longer asks for {wording.and_list(gone)}")
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        spec = task.task_spec
        if not _is_human(spec):
            continue
        lacking = [f.label for f in forms.fields_of(spec) if f.required and f.id not in data]
        if lacking:
            lines.append(f"it lacks {wording.and_list(lacking)}, which {target} asks for at "
                         f"'{_step_name(spec)}', a step it has passed")
    return None, list(dict.fromkeys(lines))


def move_case(db: Session, *, pack: Pack, case_id: int, definition, actor: str) -> Case:
    """Move a waiting case onto another version of its process, keeping where it waits.

    A waiting duration timer keeps the moment it started and takes the new version's duration."""
    case = _lock(db, case_id)
    problem = migration_problem(case, definition)
    if problem:
        raise NotAllowed(f"case {case.id} cannot move: {problem}")
    step = _Step(db, pack, case, actor)
    workflow = step.restore()
    new_spec, new_subprocess_specs = deployment.spec_for(definition)
    _onto(workflow, new_spec, new_subprocess_specs)
    stale = [t.task_spec.name for t in workflow.get_tasks() if new_spec.task_specs.get(t.task_spec.name) is not t.task_spec]
    if stale:
        raise NotAllowed(f"case {case.id} cannot move: steps {', '.join(stale)} are not in version {definition.version}")
    old_version, case.definition = case.definition.version, definition
    for row in _open_tasks(db, case.id):
        task = workflow.get_task_from_id(UUID(row.task_uuid))
        if task is not None:
            routing = route(pack, task.task_spec, task.data, clock.now())
            row.role = routing.role
            if routing.excluded and not row.assignee:  # still kept away from the people it excludes
                row.role = role_clear_of(db, pack, routing.role, routing.excluded, case.alert.restriction) or routing.role
            row.title = task.task_spec.bpmn_name or row.title
    old_timer = case.next_timer_at
    step.advance(workflow)
    alert = case.alert
    if old_timer and alert.next_review_at and clock.as_utc(alert.next_review_at) == clock.as_utc(old_timer):
        alert.next_review_at = case.next_timer_at  # this case's timer was the alert's next review
    audit.record(db, actor=actor, action="case_migrated", case_id=case.id, alert_id=case.alert_id,
                 process_id=definition.process_id, from_version=old_version, to_version=definition.version)
    return case


def _retime(workflow, task, started_at):
    event = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event, DurationTimerEventDefinition) or not started_at:
        return
    duration = workflow.script_engine.evaluate(task, event.expression)
    due = clock.duration_after(clock.parse_moment(started_at), duration, workflow.script_engine.calendar)
    task._set_internal_data(timer_started_at=started_at, event_value=due.isoformat(), event_fired=False)


def _retime_to(workflow, task, due: datetime) -> bool:
    """A waiting duration timer made to fall due at `due`; its start is put one duration before,
    so a migration that re-times it from its start keeps the period it is in. False: not one."""
    event = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event, DurationTimerEventDefinition):
        return False
    duration = workflow.script_engine.evaluate(task, event.expression)
    started = clock.duration_before(due, duration, workflow.script_engine.calendar)
    task._set_internal_data(timer_started_at=started.isoformat(), event_value=due.isoformat(), event_fired=False)
    return True


def _acting_role(pack, human_task, actor):
    if human_task.role in actor.roles:
        return human_task.role
    held = [pack.roles[r] for r in actor.roles if r in pack.roles]
    return max(held, key=lambda r: r.rank).key if held else human_task.role



# The step's own statements, built once: building an ORM statement costs more Python than the
# database takes to run it (0.2-0.4 ms each, a step sends several); each takes its values as parameters.
# The task's exclusions (checked before anyone may act) and the customer's tenancies (read for a
# letter's address) come in the same statement, not in two more round trips after it.
# Claiming, releasing or reassigning a step changes its row, not the workflow: those lock the case
# without reading its saved state (kilobytes of JSON to send and decode for nothing).
_LOCK_TASK_ROW = (select(Case, HumanTask).join(HumanTask, HumanTask.case_id == Case.id)
                  .where(HumanTask.id == bindparam("task_id")).with_for_update(of=Case)
                  .options(lazyload(HumanTask.case), joinedload(HumanTask.exclusions),
                           joinedload(Case.alert).joinedload(Alert.customer).joinedload(Customer.tenancies))
                  .execution_options(populate_existing=True))
_LOCK_FOR_TASK = _LOCK_TASK_ROW.options(undefer(Case.workflow_state))
_LOCK = (select(Case).where(Case.id == bindparam("case_id")).with_for_update(of=Case)
         .options(undefer(Case.workflow_state)).execution_options(populate_existing=True))
# the cases alone: their callers read an id and a due date, not the alert, its customer and the
# version that Case's relationships would otherwise join in (the step's slowest read)
_WAITING_REVIEWS = (select(Case).where(Case.alert_id == bindparam("alert_id"), Case.kind == "review",
                                       Case.status == CaseStatus.RUNNING, Case.id != bindparam("besides"))
                    .options(lazyload(Case.alert), lazyload(Case.definition)).order_by(Case.id))
NO_CASE = 0  # ids count from 1: "besides" no case at all
_ACTOR = (select(User.username, UserRole.role).outerjoin(UserRole)
          .where(User.username == bindparam("username"), User.active.is_(True)))


def _lock_for_task(db, pack, actor, task_id, *, with_state=True) -> tuple[Case, HumanTask]:
    """Lock a task's case and read both as they are under that lock, in one query (with the
    case's saved workflow state, for a step that runs it)."""
    row = db.execute(_LOCK_FOR_TASK if with_state else _LOCK_TASK_ROW, {"task_id": task_id}).unique().one_or_none()
    if row is None or not pack.may_see(row.Case.alert.restriction, actor.roles):
        raise NotFound(f"there is no task {task_id}")
    return row.Case, row.HumanTask


def _lock(db, case_id) -> Case:
    case = db.scalar(_LOCK, {"case_id": case_id})
    if case is None:
        raise NotFound(f"there is no case {case_id}")
    return case


def _open_tasks(db, case_id) -> list[HumanTask]:
    """The case's open steps of its diagram (never its housing system obligations)."""
    return list(db.scalars(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.kind == "step",
                                                   HumanTask.status.in_(OPEN_TASK))))


def _touch(db, case):
    """Flush the case row; its version check turns a lost race into a Conflict."""
    case_id, case.updated_at = case.id, clock.now()
    try:
        db.flush()
    except StaleDataError:
        raise Conflict(f"case {case_id} was changed by someone else at the same moment; "
                       f"nothing you entered was saved, please try again") from None


class _Step:
    """One engine step on one case: restore, run, project, save."""

    def __init__(self, db, pack, case, actor):
        self.db, self.pack, self.case, self.actor = db, pack, case, actor
        self.script_engine = spiff.ScriptEngine(run_action=self._run_action, calendar=pack.calendar)
        # The case's open human_task rows are exactly the ready manual tasks of its saved state
        # (each step writes both in one transaction), so the step projects only the difference.
        self.ready_before: set[str] = set()
        self.settled: set[str] = set()  # rows this step has already closed itself
        self.timers_from: datetime | None = None  # re-time the first duration timers from here
        self.timers_due_at: datetime | None = None  # or make them fall due at this moment

    def restore(self):
        spec, subprocess_specs = deployment.spec_for(self.case.definition)
        workflow = spiff.load_state(self.case.workflow_state, spec, subprocess_specs, self.script_engine)
        self.ready_before = set(_ready_manual(workflow))
        return workflow

    def run_task(self, workflow, task):
        self._guard(lambda: task.run())
        self.advance(workflow)

    def advance(self, workflow):
        def run():
            workflow.do_engine_steps()
            if self.timers_from is not None:
                for task in workflow.get_tasks(state=TaskState.WAITING):
                    _retime(workflow, task, self.timers_from.isoformat())
                self.timers_from = None
                return  # one already due fires at the next sweep: until then the case shows its due date
            if self.timers_due_at is not None:
                waiting = workflow.get_tasks(state=TaskState.WAITING)
                if not [t for t in waiting if _retime_to(workflow, t, self.timers_due_at)]:
                    raise StepFailed(f"process '{self.case.definition.process_id}' does not start by waiting on a "
                                     f"duration timer, so it cannot be started to fall due on a given date")
                self.timers_due_at = None
                return
            workflow.refresh_timers()
            workflow.do_engine_steps()
        self._guard(run)
        self._save(workflow)

    def _guard(self, func):
        try:
            func()
        except WorkflowError:
            raise
        except SpiffWorkflowException as err:
            element = getattr(getattr(err, "task_spec", None), "bpmn_id", None) or "?"
            cause = err.__cause__ or err.__context__  # what the expression or action itself raised
            detail = f"{err}".strip().rstrip(".") + (f": {cause}" if cause else "")
            raise StepFailed(f"case {self.case.id or '(new)'} could not advance at element '{element}': {detail}") from err

    def _run_action(self, task):
        spec = task.task_spec
        action = ACTIONS.get(spec.action or "")
        if action is None:
            raise StepFailed(f"service task '{spec.bpmn_id}' names unknown action '{spec.action}'")
        action.run(ActionContext(
            db=self.db, pack=self.pack, case=self.case, alert=self.case.alert, actor=self.actor,
            data=task.data, props=dict(spec.extensions or {}), element=spec.bpmn_id,
            element_name=getattr(spec, "bpmn_name", None),
            start_case=lambda process_id, kind, data, timers_from=None: _start_case(
                self.db, pack=self.pack, process_id=process_id, alert=self.case.alert, kind=kind,
                actor=self.actor, data=data, timers_from=timers_from, besides=self.case.id),
            retime_review=lambda due, later=True: retime_review(
                self.db, pack=self.pack, alert=self.case.alert, due=due, actor=self.actor,
                besides=self.case.id, later=later),
            cancel_other_cases=self._cancel_other_cases))

    def _cancel_other_cases(self, reason):
        self.db.flush()  # this case's id, if it is new
        others = self.db.scalars(select(Case).where(Case.alert_id == self.case.alert_id,
                                                    Case.id != self.case.id, Case.status == CaseStatus.RUNNING))
        for other in list(others):
            cancel_case(self.db, case=other, actor=self.actor, reason=reason)

    def _save(self, workflow):
        case = self.case
        self._project_human_tasks(workflow)
        case.next_timer_at = _next_timer(workflow)
        if workflow.is_completed():
            case.status, case.next_timer_at = CaseStatus.COMPLETED, None
        case.workflow_state = spiff.dump_state(workflow)
        if case.id is None:
            case.updated_at = clock.now()  # inserted at the step's flush; a new row cannot be stale
        else:
            _touch(self.db, case)

    def _project_human_tasks(self, workflow):
        ready = _ready_manual(workflow)
        withdrawn = self.ready_before - ready.keys() - self.settled  # e.g. cut short by a boundary timer
        if withdrawn:
            for row in _open_tasks(self.db, self.case.id):
                if row.task_uuid in withdrawn:
                    row.status = TaskStatus.CANCELLED
                    drafts.discard(self.db, [row.id])
        for uuid in ready.keys() - self.ready_before:
            self._add_human_task(uuid, ready[uuid])

    def _add_human_task(self, uuid, task):
        routing = route(self.pack, task.task_spec, task.data, clock.now())
        restriction = self.case.alert.restriction
        if restriction and routing.role not in self.pack.restrictions[restriction].visible_to:
            raise StepFailed(f"task '{task.task_spec.bpmn_id}' would go to the {routing.role} role, "
                             f"which may not see {restriction} records; route it to a permitted role")
        role, assignee = routing.role, routing.assignee
        if routing.excluded:
            role, assignee = self._separate(task, role, assignee, routing.excluded)
        self.db.add(HumanTask(
            case=self.case, alert=self.case.alert, restriction=restriction, task_uuid=uuid,
            bpmn_id=task.task_spec.bpmn_id, title=task.task_spec.bpmn_name or task.task_spec.bpmn_id, role=role, kind="step",
            assignee=assignee, status=TaskStatus.CLAIMED if assignee else TaskStatus.READY,
            outrank_user=routing.outrank_user, outrank_rank=routing.outrank_rank,
            due_at=routing.due_at, created_at=clock.now(),
            exclusions=[HumanTaskExclusion(username=u, reason=r) for u, r in routing.excluded.items()]))

    def _separate(self, task, role, assignee, excluded):
        """Keep a step away from the people it excludes: an excluded assignee gives it back to the
        role; a role only they hold climbs the ladder. If nobody else may take it, it waits on its
        role (the report or decision before it stands) for an administrator to give the role or
        the step to someone eligible, and the audit log says so."""
        element = task.task_spec.bpmn_id
        if assignee in excluded:
            audit.record(self.db, actor=SYSTEM, action="assignee_excluded", case=self.case,
                         alert_id=self.case.alert.id, element=element, assignee=assignee,
                         rule=excluded[assignee])
            assignee = None
        if assignee:
            return role, assignee
        clear = role_clear_of(self.db, self.pack, role, excluded, self.case.alert.restriction)
        if clear is None:
            audit.record(self.db, actor=SYSTEM, action="no_eligible_holder", case=self.case,
                         alert_id=self.case.alert.id, element=element, role=role, excluded=sorted(excluded),
                         remedy="give the role to someone else, or reassign the step to them")
        elif clear != role:
            audit.record(self.db, actor=SYSTEM, action="step_escalated_for_separation", case=self.case,
                         alert_id=self.case.alert.id, element=element, from_role=role, to_role=clear,
                         excluded=sorted(excluded))
        return clear or role, None


def _ready_manual(workflow) -> dict:
    return {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def _next_timer(workflow) -> datetime | None:
    due = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        event = getattr(task.task_spec, "event_definition", None)
        if isinstance(event, TimerEventDefinition):
            value = event.details(task).value
            if isinstance(value, str):
                due.append(clock.parse_moment(value))
    return min(due, default=None)

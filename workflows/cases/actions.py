"""The vocabulary of things a BPMN service task may do to the register.

A process owner composes these in a diagram: a service task whose `camunda:topic` names the
action, with `camunda:properties` as its settings. Each action reads the case data the forms
before it filled in, changes the register, and records an audit event. None of them knows a
category or a pack: that is the diagram's business.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows.register import housing_system, letters
from workflows.platform.errors import StepFailed
from workflows.platform.models import Alert, AlertStatus, Case, HumanTask, Letter, NonDisclosure, Note, RiskAssessment
from workflows.definitions.pack import Pack


@dataclass
class ActionContext:
    db: Session
    pack: Pack
    case: Case
    alert: Alert
    actor: str
    data: dict  # the service task's data; writes here flow on to later steps
    props: dict
    element: str
    start_case: Callable  # (process_id, kind, data, timers_from=None) -> Case, for continue-as-new
    cancel_other_cases: Callable  # (reason) -> None
    # (due, later=True) -> dict: move the marker's one waiting review case (engine.retime_review)
    retime_review: Callable = None
    element_name: str | None = None  # what the diagram calls the step

    @property
    def element_named(self) -> str:
        """The step as a process owner knows it: 'Tell the repairs team' (tell_repairs)."""
        return wording.element(self.element_name, self.element) if self.element_name else self.element

    def need(self, name: str):
        value = self.data.get(name)
        if value is None or value == "":
            raise StepFailed(f"service task '{self.element}' needs '{name}' in the case data, and it is empty")
        return value

    def prop(self, name: str) -> str:
        if not self.props.get(name):
            raise StepFailed(f"service task '{self.element}' needs the property '{name}'")
        return self.props[name]

    @property
    def case_id(self) -> int:
        if self.case.id is None:
            self.db.flush()  # a case started in this step is inserted once it is first needed
        return self.case.id

    def marker_changed(self, change: str):
        """The housing system must be told of this change (workflows/register/housing_system.py)."""
        housing_system.marker_changed(self.db, pack=self.pack, case=self.case, alert=self.alert,
                                      change=change, actor=self.actor)

    def log(self, action: str, **detail):
        audit.record(self.db, actor=self.actor, action=action, case=self.case,
                     alert_id=self.alert.id, element=self.element, **detail)


@dataclass(frozen=True)
class Action:
    name: str
    run: Callable[[ActionContext], None]
    properties: tuple[str, ...] = ()  # required camunda:properties
    optional: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()  # case-data names it sets, which diagrams may then read
    doc: str = ""


ACTIONS: dict[str, Action] = {}


def action(name, properties=(), optional=(), writes=()):
    def register(func):
        ACTIONS[name] = Action(name, func, tuple(properties), tuple(optional), tuple(writes),
                               (func.__doc__ or "").strip())
        return func
    return register


def _record_decision(ctx: ActionContext, outcome: str, reason: str | None = None):
    """Every outcome of a deciding step is a numbered decision on the alert, which may be appealed."""
    alert = ctx.alert
    alert.decided_by = ctx.data.get("last_decision_by") or ctx.actor
    alert.decided_role = ctx.data.get("last_decision_role")
    alert.decided_at = clock.now()
    alert.decision_no = (alert.decision_no or 0) + 1
    ctx.data["decision_no"] = alert.decision_no  # a letter this case issues next tells of this decision
    letters.note_decision(ctx.db, pack=ctx.pack, alert=alert, case_id=ctx.case_id)
    ctx.log("decision", outcome=outcome, decided_by=alert.decided_by,
            decided_role=alert.decided_role, decision_no=alert.decision_no, reason=reason)


REGISTER_CODES = ("level", "marker_code")  # the alert's level and marker code, as the register holds them


def _marker(alert: Alert) -> tuple:
    """What staff read of a marker: a change to any of it must reach the housing system."""
    return (alert.marker_text, alert.control_measures, alert.marker_details,
            *(getattr(alert, n) for n in REGISTER_CODES))


def _apply_marker_fields(ctx: ActionContext):
    alert, data = ctx.alert, ctx.data
    answered, start = data.get("form_answers") or {}, data.get("marker_at_start")

    def this_case(name):
        """Answered or changed in this case: a review under way never puts back the wording it read
        over what a linked incident has amended meanwhile."""
        return start is None or name in answered or data.get(name) != start.get(name)
    rule = ctx.pack.restrictions.get(alert.restriction or "")
    if rule is not None:  # a restricted marker says only whom to contact, and carries the pack's measures
        alert.marker_text = rule.staff_instruction
        alert.control_measures = list(rule.control_measures)
    elif data.get("marker_text") and this_case("marker_text"):
        alert.marker_text = data["marker_text"]
    if rule is None and data.get("control_measures") and this_case("control_measures"):
        alert.control_measures = data.get("control_measures_labels") or data["control_measures"]  # as staff read them
    for name in REGISTER_CODES:
        if data.get(name) not in (None, "") and this_case(name):
            setattr(alert, name, data[name])
    # [marker_fields] a form of this case answered under their own names go on the marker
    held = data.get("marker_fields_at_start") or {}
    given = {name: data[name] for name in ctx.pack.marker_fields if data.get(name) not in (None, "", [])
             and (name in answered or name not in held or data[name] != held[name])}
    _put_marker_fields(ctx, given, {name: data.get(f"{name}_labels") for name in given})
    for name in set(ctx.pack.marker_fields) - set(given):  # the rest as the marker holds them now, for later steps
        if name in (alert.marker_values or {}):
            data[name] = alert.marker_values[name]
            if (alert.marker_details or {}).get(name):
                data[f"{name}_labels"] = alert.marker_details[name]
    if not alert.marker_text:
        raise StepFailed(f"service task '{ctx.element}' places a marker, but no marker wording was recorded")


def _put_marker_fields(ctx: ActionContext, given: dict, labels: dict) -> list[str]:
    """Put values of the pack's [marker_fields] on the marker, each as its type says (a date as ISO
    text, a whole number, Yes/No), an enum's option labels beside it for staff to read; every later
    case of the marker starts with them (engine.alert_data). Returns the names that changed."""
    alert, data = ctx.alert, ctx.data
    values, details = dict(alert.marker_values or {}), dict(alert.marker_details or {})
    for name, value in given.items():
        spec = ctx.pack.marker_fields[name]
        value = _typed_marker_value(ctx, spec, value)
        values[name] = value
        chosen = labels.get(name)
        if value in (None, "", []):
            details.pop(name, None)
        elif isinstance(chosen, list) and chosen:
            details[name] = [str(v) for v in chosen]
            data[f"{name}_labels"] = chosen
        elif spec.type in (None, "enum", "string"):
            details[name] = [str(v) for v in (value if isinstance(value, list) else [value])]
        else:
            details.pop(name, None)  # a date, a number or Yes/No is read from its value, in words
        data[name] = value  # later steps of this case read the marker's value
    changed = [n for n in given if (alert.marker_values or {}).get(n) != values.get(n)]
    if values != (alert.marker_values or {}):
        alert.marker_values = values
    if details != (alert.marker_details or {}):
        alert.marker_details = details
    return changed


def _typed_marker_value(ctx: ActionContext, spec, value):
    """A marker field's value as its type in pack.toml says, or the step stops naming the field."""
    if value in (None, "", []) or spec.type in (None, "enum"):
        return value
    problem = f"service task '{ctx.element}': marker field '{spec.name}' ({spec.label}) is a {spec.type}"
    if spec.type == "date":
        try:
            return date.fromisoformat(str(value).strip()[:10]).isoformat()
        except ValueError:
            raise StepFailed(f"{problem}, but was given {value!r}, which is not a date") from None
    if spec.type == "long":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not str(value).strip().lstrip("-").isdigit():
            raise StepFailed(f"{problem}, but was given {value!r}, which is not a whole number")
        return int(str(value).strip())
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise StepFailed(f"{problem} (Yes or No), but was given {value!r}")
        return value
    return str(value)


@action("set_marker_fields")
def set_marker_fields(ctx: ActionContext):
    """Set the pack's [marker_fields] on the marker, through a mapping in the diagram: each property
    names a marker field and gives an expression over the case data for its value (a form field's
    name, `date_after(placed_on, 'P12M')`, ...). Every later case of the marker starts with them."""
    from workflows.definitions import expressions
    from workflows.register import markers  # the register imports the cases: not at the top
    unknown = [name for name in ctx.props if name not in ctx.pack.marker_fields]
    if unknown:
        raise StepFailed(f"service task '{ctx.element}' sets marker field(s) {', '.join(unknown)}, which the "
                         f"{ctx.pack.name} pack does not declare in [marker_fields]")
    given, labels = {}, {}
    for name, expression in ctx.props.items():
        try:
            given[name] = expressions.evaluate(expression, ctx.data)
        except expressions.ExpressionError as err:
            raise StepFailed(f"service task '{ctx.element}': marker field '{name}' = '{expression}': {err}") from None
        labels[name] = ctx.data.get(f"{expression.strip()}_labels")  # an enum answer: staff read its labels
    shown_before = markers.marker_details(ctx.pack, ctx.alert)
    changed = _put_marker_fields(ctx, given, labels)
    ctx.log("marker_fields_set", fields={n: ctx.data.get(n) for n in changed})
    if ctx.alert.status == AlertStatus.ACTIVE and markers.marker_details(ctx.pack, ctx.alert) != shown_before:
        ctx.marker_changed("amend")  # what staff read of the marker changed: the housing system too


@action("place_marker")
def place_marker(ctx: ActionContext):
    """Put the marker on the register with its wording and control measures."""
    alert = ctx.alert
    was_interim = alert.status == AlertStatus.ACTIVE
    _apply_marker_fields(ctx)
    alert.status, alert.placed_by, alert.placed_at = AlertStatus.ACTIVE, ctx.actor, clock.now()
    _record_decision(ctx, "marker placed")
    ctx.log("marker_placed", marker_text=alert.marker_text, control_measures=alert.control_measures,
            level=alert.level)
    ctx.marker_changed("confirm" if was_interim else "place")


@action("record_no_marker")
def record_no_marker(ctx: ActionContext):
    """Close the report with no marker placed."""
    ctx.alert.status = AlertStatus.NOT_PLACED
    _record_decision(ctx, "no marker", ctx.data.get("decision_reason"))


@action("restrict_record", properties=("restriction",), writes=("restriction",))
def restrict_record(ctx: ActionContext):
    """Make the alert and its cases visible only to the roles the pack's restriction names."""
    key = ctx.prop("restriction")
    if key not in ctx.pack.restrictions:
        raise StepFailed(f"service task '{ctx.element}' names unknown restriction '{key}'")
    ctx.alert.restriction = key
    # the alert's steps carry its restriction: the inboxes judge need to know on the step's copy
    ctx.db.execute(update(HumanTask).where(HumanTask.alert_id == ctx.alert.id).values(restriction=key))
    ctx.data["restriction"] = key
    ctx.log("record_restricted", restriction=key)


@action("file_risk_assessment", optional=("fields",))
def file_risk_assessment(ctx: ActionContext):
    """Keep a copy of the assessment (the named fields, or every form answer so far)."""
    names = [n.strip() for n in ctx.props.get("fields", "").split(",") if n.strip()]
    answers = ctx.data.get("form_answers", {})
    content = {n: ctx.data.get(n) for n in names} if names else dict(answers)
    ctx.db.add(RiskAssessment(alert_id=ctx.alert.id, case_id=ctx.case_id,
                              assessed_by=ctx.data.get("last_decision_by") or ctx.actor,
                              assessed_at=clock.now(), content=content))
    ctx.log("risk_assessment_filed", fields=sorted(content))


@action("add_note", properties=("notebook", "field"))
def add_note(ctx: ActionContext):
    """File the text of a form field in one of the pack's notebooks."""
    text = ctx.need(ctx.prop("field"))
    ctx.db.add(Note(customer_id=ctx.alert.customer_id, alert_id=ctx.alert.id,
                    notebook=ctx.prop("notebook"), text=str(text), author=ctx.actor,
                    created_at=clock.now()))
    ctx.log("note_added", notebook=ctx.props["notebook"])


@action("issue_letter", properties=("template",))
def issue_letter(ctx: ActionContext):
    """Write the tenant's letter from one of the pack's templates. A letter issued after this case
    recorded a decision is the letter that told the tenant of it: an appeal window runs from its delivery."""
    key = ctx.prop("template")
    template = ctx.pack.letters.get(key)
    if template is None:
        raise StepFailed(f"service task '{ctx.element}' names unknown letter template '{key}'")
    body = _fill(template, key, letter_fields(ctx), ctx.element)
    told = ctx.data.get("decision_no")
    letter = Letter(alert_id=ctx.alert.id, case_id=ctx.case_id, template=key, title=template.title,
                    body=body, issued_by=ctx.actor, issued_at=clock.now(),
                    decision_no=told if isinstance(told, int) else None,
                    addressed_to=letters.envelope_for(ctx.pack, ctx.alert, key))
    ctx.db.add(letter)
    ctx.log("letter_issued", template=key, decision_no=letter.decision_no)


def _fill(template, key: str, fields: dict, element: str) -> str:
    """The template with its $fields filled in; a field the case does not have stops the step,
    rather than sending the tenant a letter that reads "$level"."""
    missing = sorted({name for name in template.body.get_identifiers() if name not in fields})
    if missing:
        raise StepFailed(f"service task '{element}': template '{key}' needs "
                         f"{', '.join('$' + m for m in missing)}, which this case does not have")
    return template.body.safe_substitute(fields)  # every field is there; a lone "$" stays as written


# who a letter about a marker on a property is addressed to: whoever lives there ("Dear Occupier")
OCCUPIER = letters.OCCUPIER


def letter_fields(ctx: ActionContext) -> dict:
    """What a letter template may say: $customer_name, $marker_text, $review_date, ..."""
    alert, customer = ctx.alert, ctx.alert.subject
    role = ctx.pack.roles.get(alert.decided_role or "")
    measures = alert.control_measures or []
    # a letter says what the tenant reads: an option's label, Yes/No, several options joined in
    # words ("Letters only and By appointment"); `<field>_labels` is what the form's options are called
    fields = {}
    for k, v in ctx.data.items():
        if isinstance(v, (str, int, float, list)):
            labels = ctx.data.get(f"{k}_labels")
            typed = ctx.pack.marker_fields.get(k)  # a marker field's date reads as a day in words
            fields[k] = wording.value(labels if isinstance(labels, list) and labels else v,
                                      field_type=typed.type if typed else None)
            if fields[k] == "—":
                fields[k] = ""
    fields.update({
        "customer_name": customer.name if alert.customer_id else OCCUPIER, "customer_address": customer.address,
        "customer_reference": customer.reference, "pack_name": ctx.pack.name,
        "category": ctx.pack.require_category(alert.category).label,  # a category since removed: said, not a KeyError
        "marker_text": alert.marker_text or "", "control_measures": wording.and_list(measures),
        "decided_by_role": role.name if role else "", "today": wording.day(clock.now()),
        "review_date": _review_date(alert),
        "alert_reference": f"A{alert.id:06d}",
    })
    for name in REGISTER_CODES:  # as the register holds them, unless this step set them; by their labels
        if fields.get(name) in (None, ""):
            from workflows.definitions import deployment  # deployment checks these actions
            code = getattr(alert, name) or ""
            fields[name] = deployment.option_labels(ctx.db, pack=ctx.pack.key, field_id=name).get(code, code)
    return fields


@action("record_non_disclosure", optional=("reason_field",))
def record_non_disclosure(ctx: ActionContext):
    """Enter a decision not to tell the tenant, with its reason, in the restricted register."""
    reason = ctx.need(ctx.props.get("reason_field") or "non_disclosure_reason")
    consulted = ctx.data.get("non_disclosure_consulted")
    if isinstance(consulted, list):
        consulted = ", ".join(consulted)
    ctx.db.add(NonDisclosure(alert_id=ctx.alert.id, case_id=ctx.case_id, reason=str(reason),
                             consulted=consulted, decided_by=ctx.data.get("last_decision_by") or ctx.actor,
                             decided_at=clock.now()))
    letters.note_told(ctx.db, pack=ctx.pack, alert=ctx.alert)
    ctx.log("non_disclosure_recorded", consulted=consulted)


@action("keep_marker", optional=("reason_field",))
def keep_marker(ctx: ActionContext):
    """A review keeps the marker: its reason is documented and any new wording applied."""
    reason = ctx.need(ctx.props.get("reason_field") or "review_reason")
    before = _marker(ctx.alert)
    _apply_marker_fields(ctx)
    ctx.alert.review_count = (ctx.alert.review_count or 0) + 1
    _record_decision(ctx, "marker kept", reason)
    if _marker(ctx.alert) != before:  # kept with new wording, measures, code or level
        ctx.marker_changed("amend")


@action("amend_marker")
def amend_marker(ctx: ActionContext):
    """Change the marker's wording, control measures or level."""
    before = _marker(ctx.alert)
    _apply_marker_fields(ctx)
    _record_decision(ctx, "marker amended", ctx.data.get("appeal_reasons") or ctx.data.get("review_reason"))
    if _marker(ctx.alert) != before:
        ctx.marker_changed("amend")


@action("remove_marker", optional=("reason_field",))
def remove_marker(ctx: ActionContext):
    """Take the marker off the register at once and stop its pending reviews."""
    reason = ctx.need(ctx.props.get("reason_field") or "review_reason")
    alert = ctx.alert
    was_on = alert.status == AlertStatus.ACTIVE  # an interim marker too; under assessment, nothing is on the system
    if ctx.case.kind == "review":
        alert.review_count = (alert.review_count or 0) + 1
    alert.status, alert.removed_at, alert.removed_reason = AlertStatus.REMOVED, clock.now(), str(reason)
    alert.next_review_at = None
    _record_decision(ctx, "marker removed", reason)
    ctx.cancel_other_cases(f"marker removed: {reason}")
    if was_on:
        ctx.marker_changed("remove")


@action("schedule_review", properties=("process",))
def schedule_review(ctx: ActionContext):
    """Start the next review period as its own short case (continue-as-new). Scheduled by a late
    review, the period counts from that review's due date (the pack's review_from_due_date), so a
    late review does not move every later one. The names in the pack's review_carries go with it."""
    alert = ctx.alert
    carried = {name: ctx.data.get(name) for name in ctx.pack.review_carries}  # [pack] review_carries
    review = ctx.start_case(ctx.prop("process"), "review", {**carried, "review_no": (alert.review_count or 0) + 1},
                            timers_from=_previous_due_date(ctx))
    alert.next_review_at = review.next_timer_at
    # the review case's own case_started event, next in the log, carries its id
    ctx.log("review_scheduled", due_at=review.next_timer_at)


@action("reschedule_review", optional=("within", "date_field", "move_later"), writes=("review_due",))
def reschedule_review(ctx: ActionContext):
    """Move the marker's waiting review (the same case, retimed: never a second beside it) to a new
    date: `within` a duration from now (P1M), or the date a form field names (`date_field`). By
    default it only brings the review forward; `move_later=true` lets it move a review later too.
    A date in the past is refused beside its field and nothing is saved; today opens the review now."""
    from workflows.platform.errors import FormInvalid

    within, field = ctx.props.get("within"), ctx.props.get("date_field")
    if bool(within) == bool(field):
        raise StepFailed(f"service task '{ctx.element}' needs exactly one of the properties 'within' (a duration "
                         f"from now, e.g. P1M) and 'date_field' (a date field of a form before it)")
    if within:
        due = clock.duration_after(clock.now(), within)
    else:
        raw = str(ctx.need(field))
        try:
            due = clock.parse_moment(raw)
        except ValueError:
            raise FormInvalid({field: f"'{raw}' is not a date (YYYY-MM-DD)"}) from None
        today = clock.now().date()
        if due.date() < today:
            raise FormInvalid({field: f"the review cannot be moved to {wording.day(due)}, which is in the past: "
                                      f"give today ({wording.day(clock.now())}) or a later date"})
        if due <= clock.now():  # today: the timer is made due a moment ago, so the review opens now
            due = clock.now() - timedelta(seconds=1)
    moved = ctx.retime_review(due, later=ctx.props.get("move_later") == "true")
    ctx.data["review_due"] = (moved["to"] or due).date().isoformat()
    ctx.log("review_rescheduled" if moved["moved"] else "review_not_moved", review_case=moved["case"].id,
            from_due=moved["from"], to_due=moved["to"],
            why=None if moved["moved"] else ("the review is under way" if moved["under_way"]
                                              else "the review is already due sooner"))


@action("start_review_now")
def start_review_now(ctx: ActionContext):
    """An unscheduled review, now: the marker's waiting review case falls due at once and its first
    step opens (the period after it counts from today). A review already under way is left as it is."""
    moved = ctx.retime_review(clock.now() - timedelta(seconds=1))
    ctx.log("review_started_now" if moved["moved"] else "review_not_moved", review_case=moved["case"].id,
            from_due=moved["from"], why=None if moved["moved"] else "the review is under way")


def _previous_due_date(ctx: ActionContext):
    """When the review now finishing fell due, if it was late and the pack counts from due dates."""
    due = ctx.alert.next_review_at
    if ctx.case.kind != "review" or not ctx.pack.review_from_due_date or due is None:
        return None
    due = clock.as_utc(due)
    return due if due < clock.now() else None


@action("record_appeal_outcome", optional=("reason_field",))
def record_appeal_outcome(ctx: ActionContext):
    """Record the appeal's outcome; with a final-appeal pack, that decision cannot be appealed again."""
    reasons = ctx.need(ctx.props.get("reason_field") or "appeal_reasons")
    ctx.alert.appealed_decision_no = ctx.alert.decision_no
    ctx.log("appeal_decided", outcome=ctx.data.get("appeal_outcome"), reasons=reasons,
            heard_by=ctx.data.get("last_decision_by"), final=ctx.pack.appeal_outcome_final)


@action("record_late_appeal_decision", optional=("hear_field", "reason_field"), writes=("late_appeal_heard",))
def record_late_appeal_decision(ctx: ActionContext):
    """Record whether an appeal lodged after the time to appeal is heard, with the reasons and who
    decided (the step before, in the lane of the role the pack names). Reads the boolean form
    field `hear_late_appeal` and the reasons in `late_appeal_reasons` (or the fields named by the
    properties hear_field and reason_field); sets late_appeal_heard for the gateway after it."""
    heard = ctx.data.get(ctx.props.get("hear_field") or "hear_late_appeal")
    if not isinstance(heard, bool):
        raise StepFailed(f"service task '{ctx.element}' needs a yes or no in "
                         f"'{ctx.props.get('hear_field') or 'hear_late_appeal'}' (a boolean form field)")
    reasons = ctx.need(ctx.props.get("reason_field") or "late_appeal_reasons")
    ctx.data["late_appeal_heard"] = heard
    ctx.log("late_appeal_heard" if heard else "late_appeal_not_heard", reasons=reasons,
            decided_by=ctx.actor, window_closed_on=ctx.data.get("appeal_window_closed"))


@action("record_letter_delivery", properties=("method", "field"), optional=("template",))
def record_letter_delivery(ctx: ActionContext):
    """Record how and when the tenant received this case's latest letter (of the named template):
    e.g. method "hand delivered", field naming a datetime form field, so receipt cannot be denied.
    A delivery before the letter was issued, or in the future, is refused and nothing is saved."""
    from sqlalchemy import select

    from workflows.platform.errors import FormInvalid
    from workflows.register.letters import delivery_problem

    field = ctx.prop("field")
    moment = clock.parse_moment(str(ctx.need(field)))
    query = select(Letter).where(Letter.case_id == ctx.case_id)
    if ctx.props.get("template"):
        query = query.where(Letter.template == ctx.props["template"])
    letter = ctx.db.scalars(query.order_by(Letter.id.desc()).limit(1)).first()
    if letter is None:
        raise StepFailed(f"service task '{ctx.element}' records a delivery, but this case has issued no letter"
                         + (f" from template '{ctx.props['template']}'" if ctx.props.get("template") else ""))
    problem = delivery_problem(letter, moment)
    if problem:
        raise FormInvalid({field: problem})
    letter.delivery_method, letter.delivered_at = ctx.prop("method"), moment
    letters.note_told(ctx.db, pack=ctx.pack, alert=ctx.alert)
    ctx.log("letter_delivered", template=letter.template, method=letter.delivery_method,
            delivered_at=moment.isoformat())


@action("place_interim_marker")
def place_interim_marker(ctx: ActionContext):
    """Put a marker on at once, pending the full assessment (an urgent alert): it shows to staff
    straight away, but it is not yet a decision; the assessment that follows confirms it
    (place_marker) or takes it off (remove_marker)."""
    _apply_marker_fields(ctx)
    alert = ctx.alert
    alert.status, alert.placed_by, alert.placed_at = AlertStatus.ACTIVE, ctx.actor, clock.now()
    ctx.log("interim_marker_placed", marker_text=alert.marker_text, level=alert.level)
    ctx.marker_changed("interim_on")


@action("add_templated_note", properties=("notebook", "template"))
def add_templated_note(ctx: ActionContext):
    """File a note written from one of the pack's templates (the fields a letter may use): a line
    on a record sheet, say, with the reason, the date added and the review date."""
    key = ctx.prop("template")
    template = ctx.pack.letters.get(key)
    if template is None:
        raise StepFailed(f"service task '{ctx.element}' names unknown template '{key}'")
    text = _fill(template, key, letter_fields(ctx), ctx.element).strip()
    ctx.db.add(Note(customer_id=ctx.alert.customer_id, alert_id=ctx.alert.id, notebook=ctx.prop("notebook"),
                    text=text, author=ctx.actor, created_at=clock.now()))
    ctx.log("note_added", notebook=ctx.props["notebook"], template=key)


def _review_date(alert) -> str:
    from workflows.register.markers import next_review_date  # the one answer to "when is the next review"
    due = next_review_date(alert)
    return wording.day(due) if due else ""


@action("read_register", writes=("current_level", "current_marker_code", "tenant_told", "marker_text",
                                   "control_measures", "level", "marker_code", "marker_at_start"))
def read_register(ctx: ActionContext):
    """Bring what the case knows of the alert up to date from the register: a review case starts
    when the previous one ends and waits a year for its timer, meanwhile an appeal may have changed
    the level or a letter told the tenant. Put it straight after the wait."""
    from workflows.cases.engine import alert_data  # the facts every case starts with
    facts = alert_data(ctx.alert, ctx.pack)
    ctx.data.update({name: facts[name] for name in ACTIONS["read_register"].writes})
    ctx.data.update({name: facts[name] for name in (*ctx.pack.marker_field_names(), "marker_fields_at_start")
                     if name in facts})  # and the marker fields
    ctx.log("register_read", level=ctx.alert.level, tenant_told=facts["tenant_told"])


@action("notify", optional=("recipients", "recipients_field", "justification_field", "justification"))
def notify(ctx: ActionContext):
    """Send the marker's instruction to staff (never its reasons) to recipients of the pack
    ([recipients.<key>]): those the property `recipients` names (keys, comma-separated), those a form
    answer names (`recipients_field`, an enum whose option ids are recipient keys), or, with neither,
    the marker's default audience. Anyone beyond the default audience needs a justification: the
    form answer `justification_field` (default `circulation_justification`) or the diagram's own
    `justification`; without one the step is refused beside that field and nothing is saved. Each
    recipient goes on the marker's circulation list (workflows/register/circulation.py)."""
    from workflows.register import circulation

    field = ctx.props.get("recipients_field")
    keys = [k for k in (ctx.props.get("recipients") or "").split(",") if k.strip()]
    if field:
        answer = ctx.data.get(field)
        keys += answer if isinstance(answer, list) else [answer] if answer not in (None, "") else []
    if not ctx.props.get("recipients") and not field:
        keys = list(ctx.pack.audience(ctx.alert.category))
    chosen = circulation.choose(ctx.pack, ctx.alert, keys, field=field)
    justification_field = ctx.props.get("justification_field") or "circulation_justification"
    justification = ctx.data.get(justification_field)
    if not (isinstance(justification, str) and justification.strip()):
        justification = ctx.props.get("justification")
    rows = circulation.tell(ctx.db, pack=ctx.pack, alert=ctx.alert, case_id=ctx.case_id,
                            element=ctx.element_named, actor=ctx.actor, recipients=chosen,
                            justification=justification, justification_field=justification_field)
    ctx.log("marker_circulated", recipients=[r.recipient for r in rows],
            beyond_default_audience=[r.recipient for r in rows if r.justification],
            justification=next((r.justification for r in rows if r.justification), None))


@action("notify_circulation", optional=("notice",))
def notify_circulation(ctx: ActionContext):
    """Tell everyone on the marker's circulation list that it changed (`notice` = amended: its new
    instruction), was withdrawn (withdrawn: e.g. identity not established) or removed (removed); by
    default removed when the marker is off the register, amended otherwise. Never the reasons. A change
    notice goes only to those whose last notice no longer says what staff must do (a review that kept
    the marker as it was tells nobody). The notices go on the list too."""
    from workflows.register import circulation

    notice = ctx.props.get("notice")
    if notice is not None and notice not in circulation.CHANGES:
        raise StepFailed(f"service task '{ctx.element}': notice must be one of {', '.join(circulation.CHANGES)}, "
                         f"not '{notice}'")
    rows = circulation.tell_circulation(ctx.db, pack=ctx.pack, alert=ctx.alert, case_id=ctx.case_id,
                                        element=ctx.element_named, actor=ctx.actor, notice=notice)
    ctx.log("circulation_told", notice=rows[0].notice if rows else notice, recipients=[r.recipient for r in rows])

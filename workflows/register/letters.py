"""The tenant's letters: fetched for someone who may see the alert, rendered as PDF, and the
record of how and when each was delivered (the appeal window runs from receipt)."""
import re
from datetime import datetime
from functools import lru_cache

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows.platform.db import reading
from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.platform.errors import NotFound, WorkflowError
from workflows.platform.models import Alert, Letter, NonDisclosure
from workflows.definitions.pack import Pack



def to_tenant(pack: Pack):
    """SQL condition: a letter to the tenant, not a notice to someone else (`to_tenant = false`),
    which tells the tenant nothing."""
    return not_a_notice(pack.notices())


def not_a_notice(notices: tuple[str, ...]):
    """to_tenant, for a pack's notices (to build a statement once per set of them)."""
    return Letter.template.not_in(notices)

# --- whether the tenant has been told of the latest decision (the alert's projection) -------

def note_decision(db: Session, *, pack: Pack, alert: Alert, case_id: int) -> None:
    """A case recorded a decision on this alert: it is now the one the tenant must be told of."""
    alert.decision_case_id = case_id
    note_told(db, pack=pack, alert=alert)


def note_told(db: Session, *, pack: Pack, alert: Alert) -> None:
    """Bring the alert's `tenant_told` up to date, in the caller's transaction: called by every
    step that decides, delivers a letter or records a reason for not telling. The tenant is told
    of the latest decision once a letter to the tenant from the deciding case is delivered, or a
    reason for not telling is recorded in it; the "tenants not told" list reads only this."""
    case_id = alert.decision_case_id
    if case_id is None:
        return
    with reading(db, Letter, NonDisclosure):  # with the letter or reason this step just wrote
        by_letter, with_reason = db.execute(_told_query(pack.notices()), {"alert_id": alert.id, "case_id": case_id}).one()
    alert.tenant_told = TOLD_BY_LETTER if by_letter else NOT_TOLD_WITH_REASON if with_reason else None


@lru_cache(maxsize=None)
def _told_query(notices: tuple[str, ...]):
    """Whether the deciding case delivered a letter to the tenant, and whether it recorded a reason
    for not telling: one statement, built once per pack's notices (building costs more than running)."""
    alert_id, case_id = bindparam("alert_id"), bindparam("case_id")
    return select(exists().where(Letter.alert_id == alert_id, Letter.case_id == case_id,
                                 Letter.delivered_at.is_not(None), not_a_notice(notices)),
                  exists().where(NonDisclosure.alert_id == alert_id, NonDisclosure.case_id == case_id))


TOLD_BY_LETTER, NOT_TOLD_WITH_REASON = "letter", "reason"


def get_letter(db: Session, *, pack: Pack, actor: Actor, letter_id: int) -> Letter:
    """One letter, for someone who needs to know its alert's story; viewing a restricted one is audited."""
    row = db.execute(select(Letter, Alert).join(Alert, Letter.alert_id == Alert.id)
                     .where(Letter.id == letter_id)).first()
    if row is None or not pack.may_see(row.Alert.restriction, actor.roles):
        raise NotFound(f"there is no letter {letter_id}")
    permissions.open_story(db, pack=pack, actor=actor, alert=row.Alert, letter_id=letter_id)
    return row.Letter


def record_delivery(db: Session, *, pack: Pack, actor: Actor, letter_id: int, method: str,
                    delivered_at: datetime | str | None) -> Letter:
    """Record how and when the tenant received a letter (the moment as typed in a form, or parsed);
    every answer that is wrong is named at once."""
    letter = get_letter(db, pack=pack, actor=actor, letter_id=letter_id)
    errors = {}
    if method not in pack.delivery_methods:
        errors["method"] = (f"Choose how the letter was delivered: "
                            f"{wording.and_list(pack.delivery_methods, conjunction='or')}")
    moment = None
    if isinstance(delivered_at, str) and delivered_at.strip():
        try:
            moment = _typed_delivery_moment(delivered_at)
        except WorkflowError as err:
            errors["delivered_at"] = str(err)
    elif isinstance(delivered_at, datetime):
        moment = clock.as_utc(delivered_at)
    if moment is None:
        errors.setdefault("delivered_at", "Give the date and time the letter was delivered")
    elif (problem := delivery_problem(letter, moment)):
        errors["delivered_at"] = problem
    if errors:
        from workflows.platform.errors import FormInvalid
        raise FormInvalid(errors)
    letter.delivery_method, letter.delivered_at = method, moment
    note_told(db, pack=pack, alert=db.get(Alert, letter.alert_id))
    audit.record(db, actor=actor.username, action="letter_delivered", alert_id=letter.alert_id,
                 case_id=letter.case_id, letter_id=letter.id, template=letter.template, method=method,
                 delivered_at=moment.isoformat())
    return letter


def delivery_problem(letter: Letter, moment: datetime) -> str | None:
    """Why a letter cannot have been delivered at this moment (before it was written, or not yet
    happened), in words naming the letter and the dates; None if it can."""
    moment = clock.as_utc(moment)
    issued = clock.as_utc(letter.issued_at)
    what = f"letter {letter.id} ('{letter.title}')"
    if moment > clock.now():
        return (f"{wording.moment(moment)} is in the future: the delivery of {what} can be recorded only once "
                f"it has happened (it is now {wording.moment(clock.now())})")
    if moment < issued.replace(second=0, microsecond=0):  # people give minutes
        return (f"{what} was issued on {wording.moment(issued)}, so it cannot have been delivered on {wording.moment(moment)}: "
                f"give the date and time it reached the tenant")
    return None


def view(db: Session, *, pack: Pack, letter: Letter) -> dict:
    """What a letter says around its body, as a UK letter lays it out: the landlord's letterhead
    and return address ([letterhead] in pack.toml), the tenant's name and address with postcode,
    the date in words, the references, the body (from the template, opening "Dear ..."), the named
    officer who signs it with their role and contact details, and, when it tells of a decision the
    tenant may appeal, how and by when (the window from register/appeals.py)."""
    from workflows.platform.models import AuditEvent, HumanTask, User
    alert = db.get(Alert, letter.alert_id)
    customer = alert.subject  # the tenant, or the property a marker on a place is on
    head = pack.letterhead
    decision = None
    if letter.decision_no is not None:
        for event in db.scalars(select(AuditEvent).where(AuditEvent.alert_id == alert.id,
                                                          AuditEvent.action == "decision")):
            if (event.detail or {}).get("decision_no") == letter.decision_no:
                decision = event.detail
    # who signs: the decider of the decision it tells of, else whoever issued it, in the role of
    # the step they completed in the letter's case
    signer, role = letter.issued_by, None
    if decision and decision.get("decided_by"):
        signer, role = decision["decided_by"], decision.get("decided_role")
    if role is None:
        role = db.scalar(select(HumanTask.role).where(HumanTask.case_id == letter.case_id,
                                                      HumanTask.completed_by == signer)
                         .order_by(HumanTask.completed_at.desc()).limit(1))
    user = db.scalar(select(User).where(User.username == signer))
    to_the_tenant = letter.template not in pack.notices()
    envelope = letter.addressed_to if letter.addressed_to is not None else envelope_for(pack, alert, letter.template)
    return {
        "title": letter.title,
        "language": head.language if head else "en-GB",
        "from_name": head.name if head else pack.name,
        "from_address": list(head.address) if head else [],
        "telephone": head.telephone if head else "", "email": head.email if head else "",
        "website": head.website if head else "",
        # a notice to someone else (out-of-hours call handlers) says in its body who it is for
        "to_name": envelope[0] if envelope else "",
        "to_address": envelope[1:],
        "date": wording.day(letter.issued_at),
        "our_reference": f"A{alert.id:06d}/{letter.id}",
        "your_reference": customer.reference,
        "paragraphs": paragraphs(letter.body),
        "signer_name": user.full_name if user else signer,
        "signer_role": wording.labelled(pack.roles, role) if role else "",
        "signer_email": user.email if user and user.email else "",
        "appeal": _appeal(db, pack=pack, letter=letter, decision=decision) if to_the_tenant else None,
    }


OCCUPIER = "Occupier"  # whom a letter about a marker on a property is to: whoever lives there


def envelope_for(pack: Pack, alert: Alert, template: str) -> list[str]:
    """Whom a letter from this template goes to today: the tenant's name (or the occupier's, for a
    marker on a property) then their address lines; nothing for a notice to someone else, whose
    body says who it is for. Kept on the letter when it is issued, so a copy is what was sent."""
    if template in pack.notices():
        return []
    subject = alert.subject
    return [subject.name if alert.customer_id else f"The {OCCUPIER}", *_address_lines(subject)]


def _address_lines(customer) -> list[str]:
    """The tenant's address as the lines of an envelope window, the postcode last on its own."""
    lines = [line.strip() for line in customer.address.replace(",", "\n").splitlines() if line.strip()]
    postcode = (customer.postcode or "").strip().upper()
    if postcode and (not lines or lines[-1].upper() != postcode):
        lines.append(postcode)
    return lines


def _appeal(db: Session, *, pack: Pack, letter: Letter, decision: dict | None) -> dict | None:
    """How and by when the tenant may appeal the decision the letter tells of; None when it tells
    of none, the pack has no appeal, or the decision took the marker off or was an appeal's final outcome."""
    from workflows.platform.models import Case
    from workflows.register import appeals
    if decision is None or pack.appeal_process is None or decision.get("outcome") == "marker removed":
        return None
    case = db.get(Case, letter.case_id)
    if case is not None and case.kind == "appeal" and pack.appeal_outcome_final:
        return None
    how = pack.letterhead.appeal_how if pack.letterhead and pack.letterhead.appeal_how else \
        "Write to us or tell any member of our staff that you want to appeal, saying why."
    when = None
    if pack.appeal_within:
        within = wording.duration(pack.appeal_within)
        received = letter.delivered_at or letter.issued_at
        closes = wording.day(appeals.closes_after(pack, received))
        when = (f"You may appeal within {within} of receiving this letter: as it reached you on "
                f"{wording.day(letter.delivered_at)}, by {closes}." if letter.delivered_at else
                f"You may appeal within {within} of receiving this letter: if it reaches you on "
                f"{wording.day(received)}, by {closes}.")
    return {"how": how, "when": when}


def paragraphs(body: str) -> list[dict]:
    """A plain-text letter body as its parts, each {"heading": text or None, "lines": [...]}: blank
    lines part them; a part's first line is its heading when short and not a sentence ("Why we have
    done this"), and the next line does not carry on from it; a line indented in the template (a quotation), ending in a colon, or the salutation stands alone;
    the template's other line breaks, inside a sentence, are joined, so the PDF wraps the text once,
    at its own width."""
    out = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        raw_lines = [raw for raw in block.split("\n") if raw.strip()]
        if not raw_lines:
            continue
        heading = None
        if len(raw_lines) > 1 and _is_heading(raw_lines[0]) and not raw_lines[1].strip()[:1].islower():
            heading = raw_lines.pop(0).strip()
        lines, current, quoted = [], "", False
        for raw in raw_lines:
            line, indented = raw.strip(), raw.startswith((" ", "\t"))
            if current and not indented and not quoted and not current.endswith((":", '"')) \
                    and not current.startswith("Dear ") \
                    and not LABELLED.match(line) and not LABELLED.match(current):
                current = f"{current} {line}"
                continue
            if current:
                lines.append(current)
            current, quoted = line, indented
        lines.append(current)
        out.append({"heading": heading, "lines": lines})
    return out


# a line that gives a value under a label ("Address: 3 High Street", "Outcome: Upheld"): a line of its own
LABELLED = re.compile(r"[A-Z][\w ,'()/-]{0,40}: \S")


def _is_heading(line: str) -> bool:
    """A line that heads what follows: short, not indented, not ending as a sentence or clause
    does, and not a labelled value."""
    text = line.strip()
    return (not line.startswith((" ", "\t")) and len(text) < 60 and not LABELLED.match(text) and "," not in text
            and not text.endswith((".", ",", ";", ":", '"', ")")))


def pdf(db: Session, *, pack: Pack, letter: Letter) -> bytes:
    """The letter as a tagged A4 PDF (workflows/drawing/letter.py lays it out)."""
    from workflows.drawing import letter as drawing
    return drawing.pdf(view(db, pack=pack, letter=letter))


def _typed_delivery_moment(text: str) -> datetime:
    """The delivery moment as typed in the case page's form (YYYY-MM-DDTHH:MM): the time on a UK
    clock, as UTC."""
    try:
        return clock.as_utc(datetime.fromisoformat(wording.typed_in_uk((text or "").strip())))
    except ValueError:
        raise WorkflowError(f"Give the date and time the letter was delivered: '{text}' is not a date and a "
                            f"time (as 2027-06-01T14:05)") from None


def letters_after(task_spec) -> list[str]:
    """The templates of the letters issued once this step is completed, before any other step
    waits on a person: what its preview shows (every branch's letter, each named by its title)."""
    from workflows.definitions.spiff import ActionTask
    found, seen, todo = [], set(), list(task_spec.outputs)
    while todo:
        spec = todo.pop(0)
        if spec.name in seen or type(spec).__name__ == "UserTask":
            continue
        seen.add(spec.name)
        if isinstance(spec, ActionTask) and spec.action == "issue_letter":
            key = (spec.extensions or {}).get("template")
            if key and key not in found:
                found.append(key)
        todo.extend(spec.outputs)
    return found


def letters_after_task(task) -> list[str]:
    """The templates of the letters a waiting step's completion would issue (none for a housing system step)."""
    from workflows.definitions import deployment
    spec, _ = deployment.spec_for(task.case.definition)
    task_spec = spec.task_specs.get(task.bpmn_id)
    return letters_after(task_spec) if task_spec is not None else []


def preview(db: Session, *, pack: Pack, actor: Actor, task, answers: dict) -> list[dict]:
    """The letters completing this step would issue, drawn from the case's data and the answers
    typed so far, before anything is saved; a field not yet answered reads "[not yet answered:
    name]" so the officer sees what the tenant would read. The caller has checked that the person
    may see the step and its alert's story (need to know)."""
    from types import SimpleNamespace
    from workflows.cases import actions
    from workflows.definitions import deployment
    spec, _ = deployment.spec_for(task.case.definition)
    task_spec = spec.task_specs[task.bpmn_id]
    deciding = (task_spec.extensions or {}).get("decision") == "true"
    data = _case_data(pack, task)
    from workflows.cases import forms
    typed = {k: v for k, v in answers.items() if v not in (None, "", [])}
    labels = forms.option_labels(task_spec, typed)  # the engine's own labels for the chosen options
    data.update(typed, **labels)
    ctx = SimpleNamespace(db=db, pack=pack, alert=task.case.alert, data=data)
    fields = actions.letter_fields(ctx)
    # the marker actions will put these answers on the register, whose values the letter then reads
    for name in ("marker_text", "level", "marker_code", "control_measures"):
        if name in typed:
            chosen = labels.get(f"{name}_labels") or typed[name]
            fields[name] = wording.and_list(chosen) if isinstance(chosen, list) else wording.value(chosen)
    out = []
    for key in letters_after(task_spec):
        template = pack.letters.get(key)
        if template is None:
            continue
        blanks = {n: f"[not yet answered: {n.replace('_', ' ')}]" for n in template.body.get_identifiers()
                  if fields.get(n) in (None, "")}
        body = template.body.safe_substitute({**fields, **blanks})
        draft = Letter(id=0, alert_id=task.case.alert_id, case_id=task.case_id, template=key, title=template.title,
                       body=body, issued_by=actor.username, issued_at=clock.now())
        view_ = view(db, pack=pack, letter=draft)
        view_["our_reference"] = f"A{task.case.alert_id:06d} (draft)"
        # the person completing the step signs, in its role; a deciding step's letter tells of a decision
        view_["signer_role"] = view_["signer_role"] or wording.labelled(pack.roles, task.role)
        if deciding and template.to_tenant:
            view_["appeal"] = _appeal(db, pack=pack, letter=draft, decision={"outcome": None})
        out.append(view_)
    return out


def _case_data(pack: Pack, task) -> dict:
    """The case's data where this step waits (read from its saved state; nothing is saved)."""
    from uuid import UUID
    from workflows.definitions import deployment, spiff
    spec, subprocesses = deployment.spec_for(task.case.definition)
    workflow = spiff.load_state(task.case.workflow_state, spec, subprocesses,
                                spiff.ScriptEngine(run_action=lambda *a: None, calendar=pack.calendar))
    waiting = workflow.get_task_from_id(UUID(task.task_uuid))
    return dict(waiting.data) if waiting is not None else {}

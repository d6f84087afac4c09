"""The tenant's letters: fetched for someone who may see the alert, rendered as PDF, and the
record of how and when each was delivered (the appeal window runs from receipt)."""
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.platform.errors import NotFound, WorkflowError
from workflows.platform.models import Alert, Letter, NonDisclosure
from workflows.definitions.pack import Pack



def to_tenant(pack: Pack):
    """SQL condition: a letter to the tenant, not a notice to someone else (`to_tenant = false`),
    which tells the tenant nothing."""
    return Letter.template.not_in(pack.notices())

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
    db.flush()  # the letter or reason this step just wrote
    if db.scalar(select(exists().where(Letter.alert_id == alert.id, Letter.case_id == case_id,
                                       Letter.delivered_at.is_not(None), to_tenant(pack)))):
        alert.tenant_told = TOLD_BY_LETTER
    elif db.scalar(select(exists().where(NonDisclosure.alert_id == alert.id, NonDisclosure.case_id == case_id))):
        alert.tenant_told = NOT_TOLD_WITH_REASON
    else:
        alert.tenant_told = None


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
                    delivered_at: datetime) -> Letter:
    """Record how and when the tenant received a letter."""
    letter = get_letter(db, pack=pack, actor=actor, letter_id=letter_id)
    errors = {}
    if method not in pack.delivery_methods:
        errors["method"] = f"choose one of: {', '.join(pack.delivery_methods)}"
    moment = clock.as_utc(delivered_at) if delivered_at else None
    if moment is None:
        errors["delivered_at"] = "say when the letter was delivered"
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


def pdf(letter: Letter, *, organisation: str) -> bytes:
    """The letter as an A4 PDF (workflows/drawing/pdf.py draws it)."""
    from workflows.drawing import pdf as drawing
    return drawing.letter(letter, organisation=organisation)


def parse_moment(text: str) -> datetime:
    """A moment typed in a form (YYYY-MM-DDTHH:MM): the time on a UK clock, as UTC."""
    try:
        return clock.as_utc(datetime.fromisoformat(wording.typed_in_uk((text or "").strip())))
    except ValueError:
        raise WorkflowError(f"'{text}' is not a date and time (YYYY-MM-DDTHH:MM)") from None

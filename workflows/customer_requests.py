"""What a customer asks about their alert, beyond an appeal: requests the pack names in
`[requests.<key>]` (a subject access request, say), each run as its own case of the BPMN
process the pack names; and the pack's time limit for lodging an appeal."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, clock, engine
from .assignment import Actor
from .errors import NotAllowed, NotFound, WorkflowError
from .models import Alert, Case, Letter, NonDisclosure
from .pack import Pack


def start_request(db: Session, *, pack: Pack, actor: Actor, alert_id: int, kind: str, details: str) -> Case:
    """Record a customer's request about their alert and start the pack's process for it.

    The case starts knowing `request`, `request_details`, `letters_issued` (letters sent about
    the alert so far) and `non_disclosures_recorded` (decisions not to tell the customer)."""
    request = pack.requests.get(kind)
    if request is None:
        known = ", ".join(sorted(pack.requests)) or "none"
        raise NotFound(f"the {pack.name} pack has no request '{kind}' (requests: {known})")
    alert = _visible_alert(db, pack, actor, alert_id)
    if not (details or "").strip():
        raise WorkflowError("say what the customer asked for: the details are empty")
    letters = db.scalar(select(func.count()).select_from(Letter).where(Letter.alert_id == alert.id))
    withheld = db.scalar(select(func.count()).select_from(NonDisclosure).where(NonDisclosure.alert_id == alert.id))
    audit.record(db, actor=actor.username, action="request_received", alert_id=alert.id, request=kind,
                 details=details.strip())
    return engine.start_case(db, pack=pack, process_id=request.process, alert=alert, kind="request",
                             actor=actor.username, data={
                                 "request": kind, "request_details": details.strip(),
                                 "letters_issued": letters, "non_disclosures_recorded": withheld})


def lodge_appeal(db: Session, *, pack: Pack, actor: Actor, alert_id: int, grounds: str) -> Case:
    """An appeal, refused if the pack's `appeal_within` has passed since the customer received
    the latest letter about the alert (its recorded delivery, else its issue, else the decision)."""
    if pack.appeal_within:
        alert = _visible_alert(db, pack, actor, alert_id)
        received = appeal_window_start(db, alert=alert)
        if received is not None:
            closes = clock.duration_after(clock.as_utc(received), pack.appeal_within)
            if clock.now() > closes:
                raise NotAllowed(f"the time to appeal alert {alert.id} ran out on {closes:%Y-%m-%d %H:%M} "
                                 f"({pack.appeal_within} from receipt on {clock.as_utc(received):%Y-%m-%d %H:%M})")
    return engine.start_appeal(db, pack=pack, actor=actor, alert_id=alert_id, grounds=grounds)


def appeal_window_start(db: Session, *, alert: Alert):
    """When the customer received the latest decision: the latest letter's delivery or issue."""
    letter = db.scalars(select(Letter).where(Letter.alert_id == alert.id).order_by(Letter.id.desc()).limit(1)).first()
    if letter is not None:
        return letter.delivered_at or letter.issued_at
    return alert.decided_at


def _visible_alert(db, pack, actor, alert_id) -> Alert:
    alert = db.get(Alert, alert_id)
    if alert is None or not pack.may_see(alert.restriction, actor.roles):
        raise NotFound(f"there is no alert {alert_id}")
    return alert

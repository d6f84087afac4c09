"""What a customer asks about their alert, beyond an appeal: requests the pack names in
`[requests.<key>]` (a subject access request, say), each run as its own case of the BPMN
process the pack names; and the pack's time limit for lodging an appeal."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, text
from workflows.cases import engine
from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.platform.errors import NotAllowed, NotFound, WorkflowError
from workflows.platform.models import Alert, Case, Letter, NonDisclosure
from workflows.register.letters import day, when
from workflows.definitions.pack import Pack


def start_request(db: Session, *, pack: Pack, actor: Actor, alert_id: int, kind: str, details: str) -> Case:
    """Record a customer's request about their alert and start the pack's process for it.

    The case starts knowing `request`, `request_details`, `letters_issued` (letters sent about
    the alert so far), `non_disclosures_recorded` (decisions not to tell the customer) and
    `marker_active` (whether a marker is on the register now: not before the decision, nor when
    none was placed or it was removed)."""
    request = pack.requests.get(kind)
    if request is None:
        known = ", ".join(sorted(pack.requests)) or "none"
        raise NotFound(f"the {pack.name} pack has no request '{kind}' (requests: {known})")
    alert = _visible_alert(db, pack, actor, alert_id)
    details = text.clean_text(details, field="details", max_length=text.LONG_TEXT)
    if not details:
        raise WorkflowError("say what the customer asked for: the details are empty")
    letters = db.scalar(select(func.count()).select_from(Letter).where(Letter.alert_id == alert.id))
    withheld = db.scalar(select(func.count()).select_from(NonDisclosure).where(NonDisclosure.alert_id == alert.id))
    audit.record(db, actor=actor.username, action="request_received", alert_id=alert.id, request=kind,
                 details=details.strip())
    return engine.start_case(db, pack=pack, process_id=request.process, alert=alert, kind="request",
                             actor=actor.username, data={
                                 "request": kind, "request_details": details.strip(),
                                 "letters_issued": letters, "non_disclosures_recorded": withheld,
                                 "marker_active": alert.status == "active"})


def lodge_appeal(db: Session, *, pack: Pack, actor: Actor, alert_id: int, grounds: str) -> Case:
    """An appeal, refused once the pack's `appeal_within` has passed since the tenant received
    the letter that told them of the decision appealed (its recorded delivery). Until that
    delivery is recorded the window has not started; later letters (a copy of the assessment,
    say) do not reopen it."""
    if pack.appeal_within:
        alert = _visible_alert(db, pack, actor, alert_id)
        letter = telling_letter(db, pack=pack, alert=alert)
        if letter is not None and letter.delivered_at is not None:
            received = clock.as_utc(letter.delivered_at)
            closes = clock.duration_after(received, pack.appeal_within)
            if clock.now() > closes:
                review = f" (next review due {day(alert.next_review_at)})" if alert.next_review_at else ""
                raise NotAllowed(
                    f"the time to appeal decision {alert.decision_no} on alert {alert.id} closed on {when(closes)}: "
                    f"an appeal must be lodged within {clock.duration_in_words(pack.appeal_within)} of receiving the letter that told "
                    f"the tenant, and letter {letter.id} ('{letter.title}') was delivered on {when(received)}; "
                    f"a late appeal cannot be lodged, but new information can be weighed at the marker's "
                    f"review{review}")
    return engine.start_appeal(db, pack=pack, actor=actor, alert_id=alert_id, grounds=grounds)


def telling_letter(db: Session, *, pack: Pack, alert: Alert) -> Letter | None:
    """The first letter that told the tenant of the alert's latest decision, if any was issued
    (a notice to someone else, `to_tenant = false`, tells the tenant nothing)."""
    return db.scalars(select(Letter).where(Letter.alert_id == alert.id, Letter.decision_no == alert.decision_no,
                                           Letter.template.not_in(pack.notices()))
                      .order_by(Letter.id).limit(1)).first()


def _visible_alert(db, pack, actor, alert_id) -> Alert:
    return permissions.known_alert(db, pack=pack, actor=actor, alert_id=alert_id)

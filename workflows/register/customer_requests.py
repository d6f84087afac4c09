"""What a customer asks about their alert, beyond an appeal (workflows/register/appeals.py):
requests the pack names in `[requests.<key>]` (a subject access request, say), each run as its
own case of the BPMN process the pack names."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import text
from workflows.cases import engine
from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.platform.errors import NotFound, WorkflowError
from workflows.platform.models import AlertStatus, Case, Letter, NonDisclosure
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
    alert = permissions.known_alert(db, pack=pack, actor=actor, alert_id=alert_id)
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
                                 "marker_active": alert.status == AlertStatus.ACTIVE})


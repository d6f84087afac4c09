"""A customer's tenancy ending. Where the pack says so (`tenancy_end_removes_markers`), their
markers come off the register at once and any assessment, review or appeal under way stops."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows.cases import engine
from workflows.register import housing_system
from workflows.cases.assignment import Actor
from workflows.platform.errors import NotFound, WorkflowError
from workflows.platform.models import Alert, AlertStatus, Case, CaseStatus, Customer
from workflows.definitions.pack import Pack


def end_tenancy(db: Session, *, pack: Pack, actor: Actor, customer_ref: str,
                ended_at: datetime | None = None) -> list[Alert]:
    """Record that a customer's tenancy (or licence) has ended; returns the alerts removed."""
    customer = db.scalar(select(Customer).where(Customer.reference == customer_ref))
    if customer is None:
        raise NotFound(f"there is no customer with reference '{customer_ref}'")
    if customer.tenancy_ended_at is not None:
        raise WorkflowError(f"the tenancy of {customer_ref} was already recorded as ended "
                            f"on {wording.day(customer.tenancy_ended_at)}")
    customer.tenancy_ended_at = ended_at or clock.now()
    audit.record(db, actor=actor.username, action="tenancy_ended", customer=customer.reference,
                 ended_at=customer.tenancy_ended_at)
    if not pack.tenancy_end_removes_markers:
        return []
    removed = list(db.scalars(select(Alert).where(
        Alert.customer_id == customer.id, Alert.status.in_((AlertStatus.ACTIVE, AlertStatus.UNDER_ASSESSMENT)))))
    reason = "the customer no longer has a tenancy or licence"
    for alert in removed:
        was = alert.status
        alert.status, alert.removed_at, alert.removed_reason = AlertStatus.REMOVED, clock.now(), reason
        alert.next_review_at = None
        for case in list(db.scalars(select(Case).where(Case.alert_id == alert.id, Case.status == CaseStatus.RUNNING))):
            engine.cancel_case(db, case=case, actor=actor.username, reason=f"marker removed: {reason}")
        audit.record(db, actor=actor.username, action="marker_removed", alert_id=alert.id,
                     reason=reason, previous_status=was)
        if was == AlertStatus.ACTIVE:  # the housing system shows it until told otherwise
            latest = db.scalar(select(Case).where(Case.alert_id == alert.id).order_by(Case.id.desc()).limit(1))
            housing_system.marker_changed(db, pack=pack, case=latest, alert=alert, change="remove",
                                          actor=actor.username)
    return removed

"""The audit log: who did what, when, on which case and alert."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .models import AuditEvent


def record(db: Session, *, actor: str, action: str, case_id: int | None = None,
           alert_id: int | None = None, **detail) -> AuditEvent:
    """Append one audit event to the caller's transaction."""
    event = AuditEvent(at=clock.now(), actor=actor, action=action, case_id=case_id,
                       alert_id=alert_id, detail=_jsonable(detail))
    db.add(event)
    return event


def events_for_alert(db: Session, *, alert_id: int) -> list[AuditEvent]:
    """Every event about one alert, oldest first."""
    return list(db.scalars(select(AuditEvent).where(AuditEvent.alert_id == alert_id)
                           .order_by(AuditEvent.id)))


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

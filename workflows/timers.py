"""The timer sweep: advance every case whose next timer has passed, each in its own
transaction, so one failing case is set aside in a visible error state and the rest go on."""
import logging

from sqlalchemy import select

from . import audit, clock, db as database, engine
from .errors import WorkflowError
from .models import Case
from .pack import Pack

log = logging.getLogger(__name__)


def sweep(pack: Pack, *, limit: int | None = None) -> int:
    """Fire every due timer now; returns how many cases advanced."""
    with database.transaction() as db:
        due = engine.due_case_ids(db, limit=limit)
    return sum(advance_one(pack, case_id) for case_id in due)


def advance_one(pack: Pack, case_id: int) -> bool:
    """Advance one due case in its own transaction; on failure, mark the case as in error."""
    try:
        with database.transaction() as db:
            return engine.advance_timers(db, pack=pack, case_id=case_id)
    except WorkflowError as err:
        mark_error(case_id, str(err))
        return False


def mark_error(case_id: int, message: str) -> None:
    """Set a case aside with its error, where an administrator can see it and retry it."""
    log.error("case %s: %s", case_id, message)
    with database.transaction() as db:
        case = db.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case))
        case.status, case.error_message, case.updated_at = "error", message, clock.now()
        audit.record(db, actor=engine.SYSTEM, action="case_error", case_id=case.id,
                     alert_id=case.alert_id, error=message)

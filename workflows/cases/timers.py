"""The timer sweep: advance every case whose next timer has passed, each in its own
transaction, so one failing case is set aside in a visible error state and the rest go on."""
import logging

from sqlalchemy import select, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, db as database
from workflows.definitions import deployment
from workflows.cases import engine
from workflows.platform.errors import Conflict, NotAllowed, WorkflowError
from workflows.cases.assignment import Actor
from workflows.platform.models import Case, CaseStatus
from workflows.definitions.pack import Pack

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
            _no_wait_for_flush(db)
            return engine.advance_timers(db, pack=pack, case_id=case_id)
    except Conflict:  # another worker advanced it at the same moment: nothing to set aside
        return False
    except WorkflowError as err:
        mark_error(case_id, str(err))
        return False
    except (OperationalError, InterfaceError):
        raise  # the database is unreachable: nothing is wrong with the case, the next sweep tries again
    except Exception as err:  # a fault in an action or the engine: set the case aside, not a retry loop
        log.exception("case %s could not advance", case_id)
        mark_error(case_id, f"case {case_id} could not advance: {type(err).__name__}: {err}")
        return False


def _no_wait_for_flush(db: Session) -> None:
    """PostgreSQL: commit a timer step without waiting for the WAL flush (synchronous_commit off
    for this transaction only). Safe here: if the server crashed before the flush, the step is
    lost whole, the case is still due in the database, and the next sweep fires it, still once.
    A timer step has no effect outside the database (letters are rows; e-mail is sent elsewhere)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL synchronous_commit = off"))


def mark_error(case_id: int, message: str) -> None:
    """Set a case aside with its error, where an administrator can see it and retry it."""
    log.error("case %s: %s", case_id, message)
    with database.transaction() as db:
        case = db.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case))
        case.status, case.error_message, case.updated_at = CaseStatus.ERROR, message, clock.now()
        audit.record(db, actor=engine.SYSTEM, action="case_error", case_id=case.id,
                     alert_id=case.alert_id, error=message)


def errors(db: Session) -> list[Case]:
    """Cases set aside in error, for an administrator: oldest first."""
    return list(db.scalars(select(Case).where(Case.status == CaseStatus.ERROR).order_by(Case.updated_at, Case.id)))


def retry_case(db: Session, *, pack: Pack, case_id: int, actor: Actor) -> Case:
    """An administrator retries a case in error, once the cause is fixed: it moves to the newest
    version of its process if there is a newer one (the fixed diagram), and its due timers fire
    now. If it fails again, the whole retry rolls back and the case stays in error."""
    from workflows import permissions

    if not permissions.is_administrator(pack, actor):
        raise NotAllowed(f"only an administrator may retry a case in error; {actor.username} is not one")
    case = engine._lock(db, case_id)
    if case.status != CaseStatus.ERROR:
        raise NotAllowed(f"case {case.id} is {case.status}, not in error; there is nothing to retry")
    previous_error, from_version = case.error_message, case.definition.version
    case.status, case.error_message = CaseStatus.RUNNING, None
    newest = deployment.latest(db, pack=case.definition.pack, process_id=case.definition.process_id)
    due_at = case.next_timer_at
    if newest is not None and newest.id != case.definition_id:
        engine.move_case(db, pack=pack, case_id=case.id, definition=newest, actor=actor.username)
    if due_at is not None and clock.as_utc(due_at) < clock.now() and case.next_timer_at != due_at:
        # moving onto the fixed version ran the case on, firing the timer that was due
        audit.record(db, actor=engine.SYSTEM, action="timer_fired", case_id=case.id, alert_id=case.alert_id,
                     due_at=due_at)
        fired = True
    else:
        fired = engine.advance_timers(db, pack=pack, case_id=case.id)
    audit.record(db, actor=actor.username, action="case_retried", case_id=case.id, alert_id=case.alert_id,
                 previous_error=previous_error, from_version=from_version, to_version=case.definition.version,
                 timers_fired=fired)
    return case

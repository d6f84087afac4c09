"""The audit log: who did what, when, on which case and alert.

The log is append-only and hash-chained: each event carries `prev_hash` (the hash of the event
before it in the chain), its position `seq`, and `hash`, the SHA-256 of its own content and
`prev_hash`. `verify()` walks the chain and names any row that was edited, inserted or deleted.

Events are written when their transaction commits (a `before_commit` hook on every session),
not when they are recorded: the hook write-locks the one `audit_chain_head` row, hashes the
transaction's events onto the chain, inserts them in one statement and moves the head. Two
transactions committing at once append one after the other and never fork the chain. Taking
that lock last, after all the step's other locks, means it is held only for the moment of
commit and cannot deadlock with a case lock.

Until then the events wait in the session, each tagged with the (nested) transaction that
recorded it, so a rolled-back savepoint takes its own events with it.
"""
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from . import clock
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64  # the prev_hash of the first event
_PENDING = "audit_unwritten"


def record(db: Session, *, actor: str, action: str, case_id: int | None = None,
           alert_id: int | None = None, case=None, **detail) -> None:
    """Add one audit event to the caller's transaction; it is written, chained, when that commits.

    Pass `case` (a Case) instead of `case_id` for a case this transaction has not flushed yet:
    its id is read at commit, so starting a case needs no extra round trip to learn it."""
    db.info.setdefault(_PENDING, []).append(_Pending(
        _current_transaction(db), case,
        {"at": clock.now(), "actor": actor, "action": action, "case_id": case_id,
         "alert_id": alert_id, "detail": _jsonable(detail)}))


def event_hash(*, seq: int, prev_hash: str, at, actor: str, action: str, case_id, alert_id, detail) -> str:
    """SHA-256 over a canonical JSON form of an event's content and the hash before it."""
    canonical = json.dumps({
        "seq": seq, "prev_hash": prev_hash, "at": clock.as_utc(at).isoformat(timespec="microseconds"),
        "actor": actor, "action": action, "case_id": case_id, "alert_id": alert_id,
        # as stored: through JSON and back, so keys and numbers hash as they will read back
        "detail": json.loads(json.dumps(detail if detail is not None else {})),
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def hash_of(ev: AuditEvent) -> str:
    return event_hash(seq=ev.seq, prev_hash=ev.prev_hash, at=ev.at, actor=ev.actor, action=ev.action,
                      case_id=ev.case_id, alert_id=ev.alert_id, detail=ev.detail)


def chain_head(db: Session, *, lock: bool = False) -> tuple[int, str]:
    """(seq, hash) of the last event in the chain; with lock=True, the head row is write-locked
    until commit. The lock is an UPDATE rather than SELECT ... FOR UPDATE so that SQLite, whose
    reads take no lock, also holds its write lock before it reads the head."""
    head = AuditChainHead.__table__
    if lock:
        query = update(head).where(head.c.id == 1).values(seq=head.c.seq).returning(head.c.seq, head.c.hash)
    else:
        query = select(head.c.seq, head.c.hash).where(head.c.id == 1)
    row = db.execute(query).one_or_none()
    if row is None:  # migration 0002 creates the head; a database made without it starts here
        db.execute(_insert_head_if_missing(db))
        row = db.execute(query).one()
    return row.seq, row.hash


def _insert_head_if_missing(db: Session):
    values = {"id": 1, "seq": 0, "hash": GENESIS}
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        return pg_insert(AuditChainHead).values(**values).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    return sqlite_insert(AuditChainHead).values(**values).on_conflict_do_nothing()


@dataclass
class _Pending:
    transaction: SessionTransaction | None  # the innermost transaction that recorded it
    case: object | None
    row: dict


def _current_transaction(db: Session) -> SessionTransaction | None:
    """None before the session has begun: the event then belongs to the transaction it begins."""
    return db.get_nested_transaction() or db.get_transaction()


@event.listens_for(Session, "before_commit")
def _chain_new_events(session):
    """Hash this transaction's events onto the chain and write them, under the head row's lock."""
    if session.in_nested_transaction():
        return  # a savepoint is being released: its events wait for the whole transaction
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()  # cases started in this transaction get their ids
    rows = [dict(p.row, case_id=p.case.id if p.case is not None else p.row["case_id"]) for p in pending]
    seq, prev = chain_head(session, lock=True)
    for row in rows:
        seq += 1
        row.update(seq=seq, prev_hash=prev)
        row["hash"] = prev = event_hash(**{k: row[k] for k in _HASHED})
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=seq, hash=prev))


_HASHED = ("seq", "prev_hash", "at", "actor", "action", "case_id", "alert_id", "detail")


@event.listens_for(Session, "after_transaction_end")
def _drop_unwritten(session, transaction):
    if transaction.parent is None:  # the transaction ended without committing its events
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_events(session, rolled_back):
    """Forget the events a rollback undid: those recorded in the rolled-back transaction or in
    savepoints inside it; events recorded before a savepoint still count."""
    def undone(transaction):
        while transaction is not None:
            if transaction is rolled_back:
                return True
            transaction = transaction.parent
        return False

    kept = [p for p in session.info.pop(_PENDING, []) if not undone(p.transaction)]
    if kept:
        session.info[_PENDING] = kept


def chain_existing(connection) -> int:
    """Chain every unchained event in id order (the migration that adds the chain runs this)."""
    table = AuditEvent.__table__
    head = AuditChainHead.__table__
    row = connection.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1)).first()
    if row is None:
        connection.execute(insert(head).values(id=1, seq=0, hash=GENESIS))
        seq, prev = 0, GENESIS
    else:
        seq, prev = row.seq, row.hash
    columns = (table.c.id, table.c.at, table.c.actor, table.c.action, table.c.case_id, table.c.alert_id, table.c.detail)
    rows = connection.execute(select(*columns).where(table.c.hash.is_(None)).order_by(table.c.id)).all()
    for r in rows:
        seq += 1
        digest = event_hash(seq=seq, prev_hash=prev, at=r.at, actor=r.actor, action=r.action,
                            case_id=r.case_id, alert_id=r.alert_id, detail=r.detail)
        connection.execute(update(table).where(table.c.id == r.id).values(seq=seq, prev_hash=prev, hash=digest))
        prev = digest
    connection.execute(update(head).where(head.c.id == 1).values(seq=seq, hash=prev))
    return len(rows)


def verify(db: Session) -> tuple[int, list[str]]:
    """Walk the chain; returns (events checked, problems), each problem naming the row."""
    problems: list[str] = []
    expected_seq, prev, checked = 1, GENESIS, 0
    query = select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    for ev in db.scalars(query.execution_options(yield_per=1000)):
        checked += 1
        if ev.seq != expected_seq:
            missing = (f"event {expected_seq}" if ev.seq == expected_seq + 1
                       else f"events {expected_seq} to {ev.seq - 1}")
            problems.append(f"deleted: {missing} of the chain missing before event id {ev.id} (seq {ev.seq})")
        elif ev.prev_hash != prev:
            problems.append(f"broken link: event id {ev.id} (seq {ev.seq}) does not carry the hash of the "
                            f"event before it; a row before it was edited, replaced or deleted")
        if ev.hash != hash_of(ev):
            problems.append(f"edited: event id {ev.id} (seq {ev.seq}, {ev.action} by {ev.actor}) no longer "
                            f"matches its hash")
        expected_seq, prev = ev.seq + 1, ev.hash
        db.expunge(ev)
    for ev in db.scalars(select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)):
        problems.append(f"inserted: event id {ev.id} ({ev.action} by {ev.actor}) is not in the chain")
    head_seq, head_hash = chain_head(db)
    if head_seq != expected_seq - 1 or head_hash != prev:
        if head_seq > expected_seq - 1:
            problems.append(f"deleted: the chain head records {head_seq} events, the log ends at {expected_seq - 1}")
        else:
            problems.append(f"the chain head (seq {head_seq}) does not match the last event (seq {expected_seq - 1})")
    return checked, problems


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

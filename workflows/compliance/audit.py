"""The audit log: who did what, when, on which case and alert.

The log is append-only and hash-chained: each event carries `prev_hash` (the hash of the event
before it in the chain), its position `seq`, and `hash`, the SHA-256 of its own content and
`prev_hash`. `verify()` walks the chain and names any row that was edited, inserted, reordered
or deleted; it only reads. Signed checkpoints (below) anchor the chain outside the database, so
that deleting the newest events and moving the head back to match is caught too.

Events are written when their transaction commits (a `before_commit` hook on every session),
not when they are recorded: the hook write-locks the one `audit_chain_head` row, hashes the
transaction's events onto the chain, inserts them and moves the head (on PostgreSQL in one
statement, so the lock is held for two round trips: that statement and the commit). Two
transactions committing at once append one after the other and never fork the chain. Taking
that lock last, after all the step's other locks, means it is held only for the moment of
commit and cannot deadlock with a case lock.

Until then the events wait in the session, each tagged with the (nested) transaction that
recorded it, so a rolled-back savepoint takes its own events with it.
"""
import hashlib
import hmac
import json
import logging
import multiprocessing
import os
import smtplib
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path

from sqlalchemy import Text, cast, event, func, insert, select, text, update
from sqlalchemy.orm import Session, SessionTransaction

from workflows.platform import clock, config, mail, wording
from workflows.platform.errors import WorkflowError
from workflows.platform.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64  # the prev_hash of the first event
_PENDING = "audit_unwritten"
REPAIR_HEAD = "alertflow audit repair-head"
log = logging.getLogger(__name__)


class ChainHeadMissing(WorkflowError):
    """The head row is gone: nothing can be appended until `alertflow audit repair-head`."""


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
    # as stored: through JSON and back, so keys and numbers hash as they will read back
    stored = json.loads(json.dumps(detail if detail is not None else {}))
    return _stored_hash(seq, prev_hash, at, actor, action, case_id, alert_id, stored)


def _stored_hash(seq, prev_hash, at, actor, action, case_id, alert_id, detail) -> str:
    """event_hash of an event as read back from the database, its detail already through JSON."""
    if at.tzinfo is not timezone.utc:
        at = clock.as_utc(at)
    canonical = _canonical({
        "seq": seq, "prev_hash": prev_hash, "at": at.isoformat(timespec="microseconds"),
        "actor": actor, "action": action, "case_id": case_id, "alert_id": alert_id,
        "detail": detail if detail is not None else {},
    })
    return _sha256(canonical.encode("ascii")).hexdigest()


def _canonical_encoder():
    """The text json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) gives,
    from one encoder made once: json.dumps builds a new encoder at every call, a third of the cost
    of hashing an event when a chain of millions is verified. The C encoder is taken as
    json.JSONEncoder would take it, and only if it writes exactly what json.dumps writes (a sample
    with nesting, floats and non-ASCII text); otherwise the encoder's own `encode`, still made once."""
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, check_circular=False)
    sample = {"b": [1, 2.5, -0.0, 1e16, True, None, float("inf")], "a": {"z": "caf\u00e9 \u2603 \"q\"\n", "y": {}}}
    try:
        c_encoder = json.encoder.c_make_encoder(
            None, encoder.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)

        def canonical(value):
            return "".join(c_encoder(value, 0))

        if canonical(sample) == json.dumps(sample, sort_keys=True, separators=(",", ":"), ensure_ascii=True):
            return canonical
    except (TypeError, AttributeError):  # no C encoder here, or one made differently
        pass
    return encoder.encode


_canonical = _canonical_encoder()
_sha256 = hashlib.sha256
_load_detail = json.JSONDecoder().decode  # a stored detail read as text: what json.loads gives, no per-call checks


def hash_of(ev: AuditEvent) -> str:
    return event_hash(seq=ev.seq, prev_hash=ev.prev_hash, at=ev.at, actor=ev.actor, action=ev.action,
                      case_id=ev.case_id, alert_id=ev.alert_id, detail=ev.detail)


def chain_head(db: Session, *, lock: bool = False) -> tuple[int, str]:
    """(seq, hash) of the last event in the chain; with lock=True, the head row is write-locked
    until commit. The lock is an UPDATE rather than SELECT ... FOR UPDATE so that SQLite, whose
    reads take no lock, also holds its write lock before it reads the head.

    A missing head is created (at the genesis) only under lock and only while no event is
    chained: a head re-created under an existing chain would restart it at seq 1 and every later
    write would collide with the events already there."""
    head = AuditChainHead.__table__
    if lock:
        query = update(head).where(head.c.id == 1).values(seq=head.c.seq).returning(head.c.seq, head.c.hash)
    else:
        query = select(head.c.seq, head.c.hash).where(head.c.id == 1)
    row = db.execute(query).one_or_none()
    if row is None:
        if _last_chained(db) is not None:
            raise ChainHeadMissing(f"the audit chain head is missing, so no event can be written; "
                                   f"run `{REPAIR_HEAD}` on the server to rebuild it")
        if not lock:
            return 0, GENESIS
        db.execute(_insert_head_if_missing(db))  # migration 0002 creates the head; a bare database starts here
        row = db.execute(query).one()
    return row.seq, row.hash


def _read_head(db: Session) -> tuple[int, str] | None:
    row = db.execute(select(AuditChainHead.seq, AuditChainHead.hash).where(AuditChainHead.id == 1)).one_or_none()
    return None if row is None else (row.seq, row.hash)


def _last_chained(db: Session) -> tuple[int, str] | None:
    row = db.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.is_not(None))
                     .order_by(AuditEvent.seq.desc()).limit(1)).one_or_none()
    return None if row is None else (row.seq, row.hash)


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


def settle_case_ids(db: Session) -> None:
    """Read the ids of flushed cases into this transaction's pending events, so the events hold
    no case object: a long transaction (an import) may then let its cases go from memory."""
    for p in db.info.get(_PENDING, []):
        if p.case is not None and p.case.id is not None:
            p.row["case_id"], p.case = p.case.id, None


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
    if session.get_bind().dialect.name == "postgresql":
        # one round trip fewer while the head is locked: the head moves in the insert's own statement
        session.execute(_INSERT_AND_MOVE_HEAD, {
            "head_seq": seq, "head_hash": prev, **{k: [row[k] for row in rows] for k in _COLUMNS},
            "detail": [json.dumps(row["detail"]) for row in rows]})
    else:  # SQLite has no UPDATE inside WITH (its statements cost no round trip); an import's thousands
        # of events go as SQLAlchemy's batched executemany
        session.execute(insert(AuditEvent), rows)
        session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=seq, hash=prev))


_COLUMNS = ("at", "actor", "action", "case_id", "alert_id", "seq", "prev_hash", "hash")  # and detail, as JSON text
# The events as arrays, one a column (each parameter named for its column), so that the statement's
# text never changes: SQLAlchemy compiles it once and the driver prepares it, where a VALUES list of
# the events was compiled anew at every commit (0.9 ms of Python, with the head locked). In chain
# order, whatever their number.
_INSERT_AND_MOVE_HEAD = text("""
WITH head_moved AS (UPDATE audit_chain_head SET seq = :head_seq, hash = :head_hash WHERE id = 1)
INSERT INTO audit_event (at, actor, action, case_id, alert_id, detail, seq, prev_hash, hash)
SELECT at, actor, action, case_id, alert_id, detail, seq, prev_hash, hash
  FROM unnest(CAST(:at AS timestamptz[]), CAST(:actor AS text[]), CAST(:action AS text[]),
              CAST(:case_id AS integer[]), CAST(:alert_id AS integer[]), CAST(:detail AS json[]),
              CAST(:seq AS integer[]), CAST(:prev_hash AS text[]), CAST(:hash AS text[]))
       WITH ORDINALITY AS event(at, actor, action, case_id, alert_id, detail, seq, prev_hash, hash, n)
 ORDER BY n""")
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


@dataclass
class Verification:
    checked: int = 0  # events whose hashes were walked
    problems: list[str] = field(default_factory=list)
    last: tuple[int, str] = (0, GENESIS)  # (seq, hash) of the last event walked
    checkpoints_agreeing: int = 0
    last_checkpoint: "Checkpoint | None" = None  # the newest one the chain agrees with
    walked_from: int = 0  # the seq the walk started after (0: the whole chain)
    processes: int = 1  # that walked the chain, each a stretch of it


def verify(db: Session, *, since_checkpoint: bool = False, jobs: int | None = 1) -> Verification:
    """Walk the chain and compare it with the signed checkpoints; every problem names the row or
    the checkpoint. Reads only: a missing head is a finding, never re-created here.

    since_checkpoint: walk only the events after the newest checkpoint the chain agrees with
    (every checkpoint is still compared).
    jobs: processes that walk the chain, each a stretch of it (see _walk); None (what
    `alertflow audit verify` asks): one per core on PostgreSQL once the chain is long enough to
    repay starting them, else one. Work in the background (the periodic checkpoint) walks in its
    own process: a daemonic worker may not start processes."""
    result = Verification()
    _compare_with_checkpoints(db, result)
    start = result.last_checkpoint if since_checkpoint else None
    if start is not None:
        result.walked_from, result.last = start.seq, (start.seq, start.hash)
    _walk(db, result, jobs)
    for ev in db.scalars(select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)):
        result.problems.append(f"inserted: event id {ev.id} ({ev.action} by {ev.actor}, "
                               f"{wording.moment(ev.at)}) is not in the chain")
    _compare_with_head(db, result)
    return result


PARALLEL_FROM = 200_000  # events to walk before verify uses more than one process by itself


@dataclass
class _Part:
    """One stretch of the chain as walked: its first and last rows, and the problems inside it.
    The first row's link to the row before it is checked by _join, which knows that row."""
    first: tuple | None = None  # (id, seq, prev_hash, at) of its first row
    last: tuple | None = None  # (id, seq, hash) of its last row
    checked: int = 0
    problems: list[tuple[int, int, str]] = field(default_factory=list)  # (seq, order within the row, text)


def _walk(db: Session, result: Verification, jobs: int | None = None) -> None:
    """Each event after result.last: in sequence, linked to the one before, matching its own hash,
    and with ids rising with seq (events are inserted in chain order under the head lock, so an
    id out of order means ids were changed, which would reorder a story read by id).

    Every stored hash is recomputed from its row's content and the prev_hash the row stores, and
    every prev_hash is compared with the stored hash of the row before: together the whole chain,
    whichever order the rows are checked in. So a long chain is cut into stretches of seq, each
    walked by its own process on its own connection (on PostgreSQL all reading the snapshot this
    transaction exported, so they see one database, as one statement would), and _join checks
    the links where the stretches meet. Each process streams plain rows (a server-side cursor on
    PostgreSQL): memory stays flat whatever the length of the log."""
    after = result.last[0]
    bounds = _stretches(db, after, jobs)
    if bounds is None:
        parts = [_walk_part(db, after, None)]
    else:
        bind = db.get_bind()
        snapshot = (db.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                    if bind.dialect.name == "postgresql" else None)
        url = bind.url.render_as_string(hide_password=False)
        with _processes().Pool(len(bounds)) as pool:
            parts = pool.starmap(_walk_part_apart, [(url, snapshot, lo, hi) for lo, hi in bounds])
        result.processes = len(bounds)
    _join(result, parts)


def _stretches(db: Session, after: int, jobs: int | None) -> list[tuple[int, int | None]] | None:
    """The (after, up to) seq bounds of each process's stretch, the last open-ended; None: walk here."""
    if jobs is not None and jobs <= 1:
        return None
    end = db.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    if jobs is None:
        if (db.get_bind().dialect.name != "postgresql" or end - after < PARALLEL_FROM
                or multiprocessing.current_process().daemon):
            return None
        jobs = os.cpu_count() or 1
        if jobs <= 1:
            return None
    if db.get_bind().url.database in (None, "", ":memory:"):
        return None  # an in-memory SQLite database: no other process can open it
    size = max(1, -(-(end - after) // jobs))
    cuts = list(range(after, end, size))[:jobs]
    if len(cuts) <= 1:
        return None  # nothing to share out
    return [(lo, hi) for lo, hi in zip(cuts, cuts[1:] + [None])]


def _processes():
    """Forked where the system forks: a forked process starts at once with the modules already
    loaded (a spawned one would import the whole command line again) and opens its own
    connection; it never uses the ones it inherits, and leaves them open as it ends."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _walk_part_apart(url: str, snapshot: str | None, after: int, up_to: int | None) -> _Part:
    """_walk_part in a process of its own, on its own connection and, on PostgreSQL, in the
    snapshot the verifying transaction exported."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with Session(engine) as db:
            if snapshot is not None:
                db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                db.execute(text(f"SET TRANSACTION SNAPSHOT '{_snapshot_id(snapshot)}'"))  # takes no parameter
            part = _walk_part(db, after, up_to)
            db.rollback()
            return part
    finally:
        engine.dispose()


def _snapshot_id(snapshot: str) -> str:
    if not all(c.isalnum() or c == "-" for c in snapshot):  # as pg_export_snapshot() writes them
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    return snapshot


def _walk_part(db: Session, after: int, up_to: int | None) -> _Part:
    """Walk the events with after < seq <= up_to (up_to None: to the end). The detail is fetched
    as its stored text and parsed here once: the driver's JSON parsing per row cost as much as
    the hashing itself."""
    e = AuditEvent.__table__.c
    query = (select(e.id, e.seq, e.prev_hash, e.hash, e.at, e.actor, e.action, e.case_id, e.alert_id,
                    cast(e.detail, Text))
             .where(e.seq.is_not(None), e.seq > after).order_by(e.seq))
    if up_to is not None:
        query = query.where(e.seq <= up_to)
    part = _Part()
    problems = part.problems
    checked = 0
    stored_hash, load = _stored_hash, _load_detail
    expected_seq = prev = last_id = None
    for ev_id, seq, prev_hash, digest, at, actor, action, case_id, alert_id, detail in db.execute(
            query.execution_options(yield_per=5000)):
        checked += 1
        if last_id is None:
            part.first = (ev_id, seq, prev_hash, at)
        else:
            _check_link(problems, ev_id, seq, prev_hash, at, expected_seq, prev, last_id)
        if digest != stored_hash(seq, prev_hash, at, actor, action, case_id, alert_id,
                                 None if detail is None else load(detail)):
            problems.append((seq, 1, f"edited: event id {ev_id} (seq {seq}, {action} by {actor}, "
                                     f"{wording.moment(at)}) no longer matches its hash"))
        expected_seq, prev, last_id = seq + 1, digest, ev_id
    part.checked = checked
    if checked:
        part.last = (last_id, expected_seq - 1, prev)
    return part


def _check_link(problems, ev_id, seq, prev_hash, at, expected_seq, prev, last_id) -> None:
    """The event at seq against the one walked before it (expected_seq is that one's seq + 1)."""
    if seq != expected_seq:
        missing = f"event {expected_seq}" if seq == expected_seq + 1 else f"events {expected_seq} to {seq - 1}"
        problems.append((seq, 0, f"deleted: {missing} of the chain missing before event id {ev_id} "
                                 f"(seq {seq}, {wording.moment(at)})"))
    elif prev_hash != prev:
        problems.append((seq, 0, f"broken link: event id {ev_id} (seq {seq}, {wording.moment(at)}) does not "
                                 f"carry the hash of the event before it; a row before it was edited, "
                                 f"replaced or deleted"))
    if last_id is not None and ev_id < last_id:
        problems.append((seq, 2, f"reordered: event id {ev_id} (seq {seq}, {wording.moment(at)}) has a lower "
                                 f"id than the event before it in the chain (id {last_id}); event ids were "
                                 f"changed"))


def _join(result: Verification, parts: list[_Part]) -> None:
    """Link the stretches walked, in seq order, onto result.last; the problems in chain order."""
    seq, prev = result.last
    last_id = None
    found = []
    for part in parts:
        if not part.checked:
            continue
        ev_id, first_seq, prev_hash, at = part.first
        _check_link(found, ev_id, first_seq, prev_hash, at, seq + 1, prev, last_id)
        found.extend(part.problems)
        last_id, seq, prev = part.last
        result.checked += part.checked
    found.sort(key=lambda p: (p[0], p[1]))
    result.problems.extend(words for _, _, words in found)
    result.last = (seq, prev)


def _compare_with_head(db: Session, result: Verification) -> None:
    head = _read_head(db)
    end_seq, end_hash = result.last
    if head is None:
        if end_seq:
            result.problems.append(f"missing: the audit chain head row is gone, so no event can be written; "
                                   f"`{REPAIR_HEAD}` rebuilds it from the last verified event")
        return
    head_seq, head_hash = head
    if head_seq > end_seq:
        result.problems.append(f"deleted: the chain head records {head_seq} events, the log ends at {end_seq}")
    elif head_seq != end_seq or head_hash != end_hash:
        result.problems.append(f"the chain head (seq {head_seq}) does not match the last event (seq {end_seq})")


def repair_head(db: Session) -> tuple[int, str]:
    """Rebuild a missing head from the last event of a chain that verifies in full."""
    result = verify(db)
    others = [p for p in result.problems if not p.startswith("missing: the audit chain head")]
    if others:
        raise WorkflowError(f"the audit log does not verify ({others[0]}); the head is rebuilt only over a "
                            f"chain that verifies: run `alertflow audit verify`")
    if _read_head(db) is not None:
        raise WorkflowError("the audit chain head is present and matches the log: nothing to repair")
    seq, digest = result.last
    db.add(AuditChainHead(id=1, seq=seq, hash=digest))
    return seq, digest


# Signed checkpoints: the chain's (seq, hash) at a moment, HMAC-signed with a key the database
# does not hold and appended to a file outside it. Someone able to rewrite the tables can rebuild
# a consistent chain and head, but not a checkpoint the rebuilt chain agrees with.

KEY_ENV, KEY_FILE_ENV = "ALERTFLOW_AUDIT_KEY", "ALERTFLOW_AUDIT_KEY_FILE"
CHECKPOINTS_ENV = "ALERTFLOW_AUDIT_CHECKPOINTS"
INTERVAL_ENV = "ALERTFLOW_AUDIT_CHECKPOINT_MINUTES"
MAIL_ENV = "ALERTFLOW_AUDIT_CHECKPOINT_MAIL"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str  # ISO moment, as signed
    line: int  # its line in the checkpoint file

    def __str__(self):
        return f"checkpoint of {self.at} (line {self.line}, seq {self.seq})"


def checkpoints_path() -> Path:
    return Path(os.environ.get(CHECKPOINTS_ENV) or config.PROJECT_ROOT / "instance" / "audit-checkpoints.jsonl")


def _key() -> bytes | None:
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    if os.environ.get(KEY_FILE_ENV):
        path = Path(os.environ[KEY_FILE_ENV])
        try:
            return path.read_bytes().strip() or None
        except OSError as err:
            raise WorkflowError(f"cannot read the audit key file {path} ({KEY_FILE_ENV}): {err.strerror}") from None
    return None


def _signature(key: bytes, seq: int, digest: str, at: str) -> str:
    return hmac.new(key, f"{seq}|{digest}|{at}".encode(), hashlib.sha256).hexdigest()


def read_checkpoints() -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signatures hold, and a problem for every line that does not."""
    path = checkpoints_path()
    if not path.exists():
        return [], []
    lines = [(n, line) for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip()]
    key = _key()
    if key is None:
        return [], ([f"the checkpoint file {path} holds {len(lines)} checkpoint(s) but no audit key is set "
                     f"({KEY_ENV} or {KEY_FILE_ENV}), so they cannot be checked"] if lines else [])
    good, problems = [], []
    for n, line in lines:
        try:
            entry = json.loads(line)
            mark = Checkpoint(int(entry["seq"]), str(entry["hash"]), str(entry["at"]), n)
            signature = str(entry["hmac"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"line {n} of the checkpoint file {path} is not a checkpoint")
            continue
        if not hmac.compare_digest(signature, _signature(key, mark.seq, mark.hash, mark.at)):
            problems.append(f"bad signature: the {mark} was not signed with this audit key; "
                            f"the checkpoint file was edited, or the key is not the one it was written with")
            continue
        good.append(mark)
    return good, problems


def _compare_with_checkpoints(db: Session, result: Verification) -> None:
    marks, problems = read_checkpoints()
    result.problems.extend(problems)
    if not marks:
        return
    end = _last_chained(db)
    end_seq = end[0] if end else 0
    if end_seq == 0:
        newest = max(marks, key=lambda m: m.seq)
        result.problems.append(f"deleted: the audit log is empty, but the {newest} records {newest.seq} events")
        return
    beyond = [m for m in marks if m.seq > end_seq]
    if beyond:
        newest = max(beyond, key=lambda m: m.seq)
        result.problems.append(f"deleted: events after seq {end_seq} were removed; the {newest} records the "
                               f"chain at seq {newest.seq}")
    within = [m for m in marks if m.seq <= end_seq]
    hashes = _hashes_at(db, {m.seq for m in within})
    differing = [m for m in within if hashes.get(m.seq) != m.hash]
    agreeing = [m for m in within if hashes.get(m.seq) == m.hash]
    if differing:
        first = min(differing, key=lambda m: m.seq)
        before = max((m.seq for m in agreeing if m.seq < first.seq), default=0)
        more = f" ({len(differing) - 1} later checkpoint(s) disagree too)" if len(differing) > 1 else ""
        result.problems.append(f"rewritten: the event at seq {first.seq} is not the one in the {first}; events "
                               f"after seq {before} were removed or replaced{more}")
    result.checkpoints_agreeing = len(agreeing)
    if agreeing and not differing:
        result.last_checkpoint = max(agreeing, key=lambda m: m.seq)


def _hashes_at(db: Session, seqs: set[int]) -> dict[int, str]:
    found, ordered = {}, sorted(seqs)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i:i + 500]
        found.update((r.seq, r.hash) for r in db.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(chunk))))
    return found


def checkpoint(db: Session) -> Checkpoint:
    """Sign the chain's last event and append it to the checkpoint file (and mail it to
    ALERTFLOW_AUDIT_CHECKPOINT_MAIL when e-mail is configured). Only a chain that verifies since
    the last checkpoint is signed: a checkpoint must never vouch for a tampered log."""
    key = _key()
    if key is None:
        raise WorkflowError(f"no audit key is set: set {KEY_ENV} (or {KEY_FILE_ENV}, a file holding it) to a "
                            f"secret the database does not hold")
    result = verify(db, since_checkpoint=True)
    if result.problems:
        raise WorkflowError(f"the audit log does not verify, so it is not checkpointed ({result.problems[0]}); "
                            f"run `alertflow audit verify`")
    seq, digest = result.last
    if seq == 0:
        raise WorkflowError("the audit log is empty: there is nothing to checkpoint yet")
    at = clock.as_utc(clock.now()).isoformat(timespec="seconds")
    line = json.dumps({"seq": seq, "hash": digest, "at": at, "hmac": _signature(key, seq, digest, at)})
    path = checkpoints_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as out:  # append only: earlier checkpoints are never rewritten
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())
    recipients = [a.strip() for a in os.environ.get(MAIL_ENV, "").split(",") if a.strip()]
    if recipients and mail.configured():
        try:
            mail.send(to=recipients, subject=f"Alertflow audit checkpoint: seq {seq}", body=line + "\n")
        except (OSError, smtplib.SMTPException) as err:  # the file holds the checkpoint; the copy can wait
            log.warning("audit checkpoint seq %s not mailed to %s: %s", seq, ", ".join(recipients), err)
    return Checkpoint(seq, digest, at, _line_count(path))


def _line_count(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def checkpoint_if_due(db: Session) -> int:
    """The periodic checkpoint (Celery beat and the embedded loop): when an audit key is set, the
    chain has grown since the newest checkpoint, and that one is older than
    ALERTFLOW_AUDIT_CHECKPOINT_MINUTES (default 60). Returns the seq checkpointed, or 0."""
    if _key() is None:
        return 0
    marks, _ = read_checkpoints()
    newest = max(marks, key=lambda m: m.line, default=None)
    end = _last_chained(db)
    if end is None or (newest is not None and newest.seq >= end[0]):
        return 0
    interval = timedelta(minutes=float(os.environ.get(INTERVAL_ENV, "60")))
    if newest is not None and clock.now() - clock.parse_moment(newest.at) < interval:
        return 0
    return checkpoint(db).seq


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

"""Engine and sessions. The transaction belongs to the caller at the edge: one request,
one worker task, one command (`with transaction() as db: ...`)."""
import time
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import create_engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from workflows.platform import config
from workflows.platform.errors import Conflict

_CONFLICT = "someone else changed this case at the same moment; nothing you entered was saved, please try again"


@lru_cache(maxsize=None)
def engine_for(url: str):
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=config.database_pool_size())

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    else:
        engine = create_engine(url, pool_size=config.database_pool_size())
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE = 10.0  # seconds a pooled connection may rest before it is checked again


def _ping_when_idle(engine) -> None:
    """Check a pooled connection before use only after it has rested a while: a server restart or
    a dropped connection is found before the request uses it, as pool_pre_ping would find it, but a
    connection handed back moments ago (the next request, the next step) costs no extra round trip.
    A connection that dies within those seconds fails its statement instead; the transaction rolls
    back (nothing half-saved) and SQLAlchemy renews the pool for the next one. SQLAlchemy's own
    recipe for pessimistic disconnect handling: DisconnectionError makes the pool try a fresh one.
    SQLite's connections are checked the same way (in-process, the check costs no round trip)."""
    @event.listens_for(engine, "checkin")
    def _rested_from(_dbapi_connection, record):
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_rested(dbapi_connection, record, _proxy):
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return  # just opened, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            raise DisconnectionError(f"a pooled connection had gone: {err}") from err


def get_engine():
    return engine_for(config.database_url())


@lru_cache(maxsize=None)
def _factory(url: str):
    from workflows.tasks import open_step_tally
    factory = sessionmaker(bind=engine_for(url), expire_on_commit=False)
    open_step_tally.keep_on(factory)  # every session's flush keeps the open steps' tally
    return factory


def new_session() -> Session:
    return _factory(config.database_url())()


@contextmanager
def reading(db: Session, *models):
    """A block whose queries read only these models' tables: the session is flushed first if it
    holds unsaved rows of them, so the queries see what this transaction wrote, and not otherwise.
    A step's other changes then wait for its one flush: each flush is a unit of work of its own
    (the session's changes sorted, a statement for each table changed), paid again at every
    query that autoflushes."""
    if any(isinstance(row, models) for rows in (db.new, db.dirty, db.deleted) for row in rows):
        db.flush()
    with db.no_autoflush:
        yield


@contextmanager
def transaction():
    """A session whose work commits at the end of the block, or rolls back on any error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict(_CONFLICT) from None
    except OperationalError as err:
        session.rollback()
        if "database is locked" in str(err):  # SQLite: another writer committed first
            raise Conflict(_CONFLICT) from None
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

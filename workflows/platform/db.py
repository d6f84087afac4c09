"""Engine and sessions. The transaction belongs to the caller at the edge: one request,
one worker task, one command (`with transaction() as db: ...`)."""
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from workflows.platform import config
from workflows.platform.errors import Conflict

_CONFLICT = "someone else changed this case at the same moment; nothing you entered was saved, please try again"


@lru_cache(maxsize=None)
def engine_for(url: str):
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine():
    return engine_for(config.database_url())


@lru_cache(maxsize=None)
def _factory(url: str):
    return sessionmaker(bind=engine_for(url), expire_on_commit=False)


def new_session() -> Session:
    return _factory(config.database_url())()


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

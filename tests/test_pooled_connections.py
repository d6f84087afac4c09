"""A pooled database connection is checked before use only after it has rested (workflows/platform/db.py):
the next step on a connection handed back moments ago sends no extra round trip, and one that went
away while it rested (a server restart, an idle timeout) is replaced before a step uses it."""
import os
import subprocess
import sys

from sqlalchemy import func, select

from tests.helpers import Cli
from workflows.platform import config, db as database
from workflows.platform.models import User


def _one_connection():
    """The pool emptied, so the tests' steps share one connection (the pool hands out the oldest first)."""
    engine = database.get_engine()
    engine.dispose()
    return engine


def _pooled(db):
    """The driver's connection under the session's, and what the pool keeps beside it."""
    fairy = db.connection().connection
    return fairy.dbapi_connection, fairy.info


def test_a_connection_that_went_away_while_it_rested_is_replaced_before_a_step_uses_it(database_url):
    _one_connection()
    with database.transaction() as db:
        driver, info = _pooled(db)
    driver.close()  # gone while it rests in the pool
    info["checked_in"] -= database.PING_AFTER_IDLE + 1
    with database.transaction() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 0
        assert _pooled(db)[0] is not driver


def test_a_connection_handed_back_moments_ago_is_used_without_a_ping(database_url, monkeypatch):
    engine = _one_connection()
    pings = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(conn) or real(conn))
    with database.transaction() as db:
        driver, info = _pooled(db)
    with database.transaction() as db:
        assert _pooled(db)[0] is driver
    assert pings == []
    info["checked_in"] -= database.PING_AFTER_IDLE + 1
    with database.transaction() as db:
        assert _pooled(db)[0] is driver
    assert pings == [driver]


def test_as_many_steps_at_once_as_the_server_has_threads_keep_their_connections_for_the_next(database_url):
    """A connection opened for each of ten requests at once stays pooled afterwards: with fewer
    kept than threads at work, each request beyond them opened and closed a PostgreSQL backend."""
    engine = _one_connection()
    kept = config.database_pool_size()
    assert kept == 10  # the default: more than serve's eight threads
    sessions = [database.new_session() for _ in range(kept)]
    opened = {_pooled(db)[0] for db in sessions}
    for db in sessions:
        db.close()
    assert engine.pool.checkedin() == len(opened) == kept
    again = [database.new_session() for _ in range(kept)]
    assert {_pooled(db)[0] for db in again} == opened  # the same ten, none opened anew
    for db in again:
        db.close()


def test_serve_says_what_is_wrong_with_a_pool_size_that_is_not_a_number(database_url, monkeypatch):
    monkeypatch.setenv("ALERTFLOW_DB_POOL_SIZE", "ten")
    result = Cli().fails("serve", "--port", "1")
    monkeypatch.delenv("ALERTFLOW_DB_POOL_SIZE")  # before the test's database is put away
    assert "ALERTFLOW_DB_POOL_SIZE must be a whole number of connections, 1 or more, not 'ten'" in result


def test_any_command_says_what_is_wrong_with_the_pool_size_not_a_traceback(database_url):
    """A fresh process (its engine not yet made) running an ordinary command."""
    run = subprocess.run([sys.executable, "-m", "cli.main", "cases", "errors"], cwd=config.PROJECT_ROOT,
                         env={**os.environ, "ALERTFLOW_DB_POOL_SIZE": "0"}, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "error: ALERTFLOW_DB_POOL_SIZE must be a whole number of connections, 1 or more, not '0'" in run.stderr
    assert "Traceback" not in run.stderr

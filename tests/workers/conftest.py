"""Real Redis, real Celery worker processes, a real SMTP server, and PostgreSQL.

Worker processes need a database several processes can write at once, so these tests always
run on PostgreSQL: on the PostgreSQL pass, the suite's database; on the SQLite pass, a
database of their own (alertflow_workers_<pid>) on TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test), created and dropped here. Redis is a private
redis-server on a free port, started for this run and stopped after it (never the shared one).
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import SERVER_URL, _migrate, empty_postgres, free_port
from workflows.platform import clock, config
from workflows.platform.db import engine_for

PG_SERVER = SERVER_URL or os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OWN_DB = f"alertflow_workers_{os.getpid()}"
ROOT = config.PROJECT_ROOT
CELERY = str(Path(sys.executable).parent / "celery")
WAIT = 240  # seconds before a wait gives up (a hang fails the test rather than blocking the run)


def wait_for(condition, what, timeout=WAIT, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def pg_migrated(request):
    if SERVER_URL:
        yield request.getfixturevalue("migrated")
        return
    import psycopg
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {OWN_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {OWN_DB}")
    url = urlunsplit(urlsplit(PG_SERVER)._replace(path=f"/{OWN_DB}"))
    _migrate(url)
    yield url
    engine_for(url.replace("postgresql://", "postgresql+psycopg://", 1)).dispose()
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {OWN_DB} WITH (FORCE)")


@pytest.fixture
def database_url(pg_migrated, monkeypatch, tmp_path):
    """An empty migrated PostgreSQL database for this test, in DATABASE_URL, and a shared clock
    file (ALERTFLOW_CLOCK_FILE) that the test process and its worker processes all read."""
    url = pg_migrated
    empty_postgres(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv(clock.CLOCK_FILE_ENV, str(tmp_path / "clock"))
    yield url
    clock.set_now(None)


class Clock:
    """The clock every process of the test reads (the test's own CLI calls and the workers)."""

    def __init__(self, path):
        self.path = path

    def set(self, moment: str):
        clock.set_now(None)  # a --now left over from an earlier CLI call would shadow the file
        clock.write_clock_file(self.path, clock.parse_moment(moment))


@pytest.fixture
def shared_clock(database_url):
    return Clock(os.environ[clock.CLOCK_FILE_ENV])


class RedisServer:
    def __init__(self, directory):
        self.port, self.directory, self.process = free_port(), directory, None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        wait_for(lambda: _pings(redis.Redis.from_url(self.url)), "redis-server to start", timeout=30)

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


def _pings(client):
    try:
        return client.ping()
    except Exception:
        return False


@pytest.fixture
def redis_server(tmp_path, monkeypatch):
    """A private redis-server on a free port, for this test alone."""
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setenv("REDIS_URL", server.url)
    yield server
    server.stop()


def send_sweep(*, if_idle=False):
    """Send one alertflow.sweep to this test's Redis, as beat does (an explicit connection: the
    Celery app in this process may have been configured for an earlier test's server)."""
    import workers

    with workers.app.connection_for_write(os.environ["REDIS_URL"]) as connection:
        workers.sweep.apply_async(kwargs={"if_idle": if_idle}, connection=connection)


class Processes:
    """Celery worker and beat processes started by a test, each logging to a file."""

    def __init__(self, directory):
        self.directory, self.running, self.count = directory, {}, 0

    def worker(self, name=None, **env):
        self.count += 1
        name = name or f"w{self.count}"
        return self._start(name, [CELERY, "-A", "workers", "worker", "--pool", "solo", "--loglevel", "INFO",
                                  "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle"],
                           "ready", env)

    def beat(self, seconds=1, **env):
        self.count += 1
        name = f"beat{self.count}"
        return self._start(name, [CELERY, "-A", "workers", "beat", "--loglevel", "INFO",
                                  "--schedule", str(self.directory / f"{name}-schedule")],
                           "beat: Starting", {"ALERTFLOW_SWEEP_SECONDS": str(seconds), **env})

    def _start(self, name, argv, ready_text, env):
        log = self.directory / f"{name}.log"
        process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdout=open(log, "ab"),
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.running[name] = process
        wait_for(lambda: ready_text in log.read_text(errors="replace") or process.poll() is not None,
                 f"{name} to start")
        assert process.poll() is None, f"{name} exited:\n{log.read_text(errors='replace')[-3000:]}"
        return process

    def log(self, name):
        return (self.directory / f"{name}.log").read_text(errors="replace")

    def kill(self, process, sig=signal.SIGKILL):
        process.send_signal(sig)
        process.wait(timeout=60)

    def stop_all(self):
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def celery_processes(tmp_path, redis_server):
    processes = Processes(tmp_path)
    yield processes
    processes.stop_all()

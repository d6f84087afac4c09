"""Every test gets an empty, migrated database: a SQLite file by default, or PostgreSQL when
ALERTFLOW_TEST_DATABASE names a server (`make test` runs the suite both ways)."""
import os
import shutil
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text

from tests import accessibility
from workflows.platform import clock, config
from workflows.platform.db import engine_for

SERVER_URL = os.environ.get("ALERTFLOW_TEST_DATABASE")
TEST_DB_NAME = f"alertflow_test_{os.getpid()}"  # one per run, so parallel runs never collide


def _migrate(url: str):
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        command.upgrade(Config(str(config.PROJECT_ROOT / "alembic.ini")), "head")
        engine_for(config.database_url()).dispose()  # closing SQLite's connections folds the WAL into the file
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old


def _engines_for(url):
    yield engine_for(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _postgres_test_url() -> str:
    import psycopg

    parts = urlsplit(SERVER_URL)
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEST_DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEST_DB_NAME}")
    return urlunsplit(parts._replace(path=f"/{TEST_DB_NAME}"))


@pytest.fixture(scope="session")
def migrated():
    """A migrated database to start each test from: a template file, or the PostgreSQL URL."""
    if SERVER_URL:
        url = _postgres_test_url()
        _migrate(url)
        yield url
        for engine in list(_engines_for(url)):
            engine.dispose()
        import psycopg
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {TEST_DB_NAME} WITH (FORCE)")
        return
    directory = config.PROJECT_ROOT / "instance" / f"test-template-{os.getpid()}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "template.db"
    path.unlink(missing_ok=True)
    _migrate(f"sqlite:///{path}")
    yield path
    shutil.rmtree(directory, ignore_errors=True)


_DELETE_ORDER: dict[str, list[str]] = {}  # per PostgreSQL URL: its tables, those referring to others first


def empty_postgres(url: str) -> None:
    """Delete every row of every table (but alembic_version) and restart every sequence, so ids
    count from 1 again as in a new database. DELETE, children first, costs milliseconds for the
    few rows a test leaves; TRUNCATE of all the tables cost about 0.6 s a test."""
    engine = engine_for(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        if url not in _DELETE_ORDER:
            schema = MetaData()
            schema.reflect(conn)  # the migrated schema itself, not the models
            _DELETE_ORDER[url] = [t.name for t in reversed(schema.sorted_tables) if t.name != "alembic_version"]
        for table in _DELETE_ORDER[url]:
            conn.execute(text(f'DELETE FROM "{table}"'))
        conn.execute(text("SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
                          "FROM pg_sequences WHERE schemaname = 'public'"))


def _empty_database(migrated, directory) -> str:
    """The URL of an empty migrated database: the PostgreSQL one emptied, or a copied SQLite file."""
    if SERVER_URL:
        empty_postgres(migrated)
        return migrated
    path = directory / "alertflow.db"
    shutil.copy(migrated, path)
    return f"sqlite:///{path}"


@pytest.fixture
def database_url(migrated, tmp_path, monkeypatch):
    """An empty migrated database for this test, named in DATABASE_URL."""
    url = _empty_database(migrated, tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    # the signed audit checkpoints live outside the database: each test gets its own file, no key
    monkeypatch.setenv("ALERTFLOW_AUDIT_CHECKPOINTS", str(tmp_path / "audit-checkpoints.jsonl"))
    monkeypatch.delenv("ALERTFLOW_AUDIT_KEY", raising=False)
    monkeypatch.delenv("ALERTFLOW_AUDIT_KEY_FILE", raising=False)
    yield url
    clock.set_now(None)
    if not SERVER_URL:
        engine_for(url).dispose()


@pytest.fixture(scope="module")
def live_database(migrated, tmp_path_factory):
    """An empty migrated database shared by one module (a live server's), named in DATABASE_URL meanwhile."""
    url = _empty_database(migrated, tmp_path_factory.mktemp("live"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        yield url
        clock.set_now(None)


@pytest.fixture
def unmigrated_url(tmp_path):
    """A database of this test's own with no tables yet, for a migration test to take from one
    revision to another (the shared migrated one stays at head for every other test)."""
    if SERVER_URL:
        import psycopg
        name = f"alertflow_migration_{os.getpid()}"
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        url = urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}")).replace("postgresql://", "postgresql+psycopg://", 1)
        yield url
        engine_for(url).dispose()
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        return
    yield f"sqlite:///{tmp_path / 'unmigrated.db'}"
    engine_for(f"sqlite:///{tmp_path / 'unmigrated.db'}").dispose()


def alembic(url, monkeypatch, step, revision):
    """`alembic upgrade|downgrade <revision>` on this database, which is DATABASE_URL from then on."""
    monkeypatch.setenv("DATABASE_URL", url)
    getattr(command, step)(Config(str(config.PROJECT_ROOT / "alembic.ini")), revision)


@pytest.fixture
def cli(database_url):
    """Run `alertflow ...` in-process, as a user at a terminal would."""
    from tests.helpers import Cli
    return Cli()


@pytest.fixture
def derby(cli):
    """Derby's pack deployed, with staff in every role and a few customers."""
    from tests.helpers import DerbyWorld
    return DerbyWorld(cli)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, driven by Playwright (it cannot download browsers here): one
    browser for the run (starting it costs seconds); each test opens its own context, so no
    cookies or pages pass from one test to the next."""
    from playwright.sync_api import sync_playwright
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield accessibility.audited(browser)  # axe-core checks every page a context loads
        browser.close()


@pytest.fixture(autouse=True)
def no_accessibility_violations():
    """Whatever axe-core found on the pages this test loaded in Chromium fails the test."""
    accessibility.FINDINGS.violations.clear()
    yield
    found = accessibility.FINDINGS.report()
    accessibility.FINDINGS.violations.clear()
    if found:
        pytest.fail(f"axe-core found WCAG 2.2 AA violations:\n{found}", pytrace=False)


def pytest_terminal_summary(terminalreporter):
    if accessibility.FINDINGS.checked:
        terminalreporter.write_line(f"axe-core checked {accessibility.FINDINGS.checked} page loads in Chromium")


def serve_app():
    """The real app under waitress on a free port, in a daemon thread: (base URL, server)."""
    import threading

    from waitress.server import create_server
    from webapp import create_app

    server = create_server(create_app(), host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server (aiosmtpd) on a free port; `smtp.messages` is what arrived."""
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            from email import message_from_bytes, policy
            message = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append({"to": sorted(envelope.rcpt_tos), "subject": str(message["Subject"]),
                                  "body": message.get_content()})
            return "250 OK"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("ALERTFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ALERTFLOW_SMTP_PORT", str(controller.port))
    yield handler
    controller.stop()


@pytest.fixture
def pack_dir(tmp_path, monkeypatch):
    """A copy of the Derby pack that a test may edit, made the active pack directory."""
    import shutil
    from workflows.platform import config
    shutil.copytree(config.PROJECT_ROOT / "bpmn" / "derby", tmp_path / "derby")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    return tmp_path / "derby"


@pytest.fixture
def app(database_url):
    from webapp import create_app
    return create_app({"TESTING": True})

"""Settings from environment variables, with defaults that make one machine a complete install."""
import os
from pathlib import Path

from workflows.platform.errors import WorkflowError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """DATABASE_URL, or a SQLite file under instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        # psycopg 3 is the driver we install; accept the plain scheme people copy from docs
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    instance = PROJECT_ROOT / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'alertflow.db'}"


def database_pool_size() -> int:
    """ALERTFLOW_DB_POOL_SIZE: database connections a process keeps open (default 10). Below the
    number of threads working at once, every request beyond it opens a connection and closes it
    again, a new PostgreSQL backend each time: `alertflow serve` raises it to its --threads.
    A bad value is refused as a WorkflowError, so every face (a command, a page, a worker's log)
    says what is wrong with the setting instead of showing a traceback."""
    value = os.environ.get("ALERTFLOW_DB_POOL_SIZE", "10")
    if not value.isdigit() or int(value) < 1:
        raise WorkflowError(f"ALERTFLOW_DB_POOL_SIZE must be a whole number of connections, 1 or more, not {value!r}")
    return int(value)


def base_url() -> str:
    """ALERTFLOW_BASE_URL: where people reach this install (https://alerts.example.org), for the
    API's OpenAPI document; unset, the document gives a relative server. Never the request's Host."""
    return os.environ.get("ALERTFLOW_BASE_URL", "").strip().rstrip("/")


def pack_name() -> str:
    return os.environ.get("ALERTFLOW_PACK", "derby")


def packs_dir() -> Path:
    return Path(os.environ.get("ALERTFLOW_PACKS_DIR", PROJECT_ROOT / "bpmn"))


def instance_secret(name: str, make) -> str:
    """A secret kept in instance/<name> when no setting gives one, made by `make()` the first time.
    Written whole, then linked into place, so processes starting together (the web server's
    workers) all read the one that won."""
    path = PROJECT_ROOT / "instance" / name
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".{name}.{os.getpid()}")
        draft.write_text(make())
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()

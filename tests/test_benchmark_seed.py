"""benchmarks/seed.py, the register every benchmark shares, run as its command: a broken seeder
would leave every figure unmeasurable, and a seed unlike the engine's own rows would measure
the wrong thing."""
import subprocess
import sys

from sqlalchemy import func, select

from tests.helpers import Cli
from workflows.platform import config
from workflows.platform.db import engine_for
from workflows.platform.models import Alert, Case, HumanTask


def test_the_seeder_fills_a_register_the_engine_would_have_written(unmigrated_url, monkeypatch):
    seeded = subprocess.run([sys.executable, "benchmarks/seed.py", "--alerts", "300", "--database", unmigrated_url],
                            cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    monkeypatch.setenv("DATABASE_URL", unmigrated_url)
    assert "audit log intact" in Cli()("audit", "verify")
    with engine_for(unmigrated_url).connect() as db:
        assert db.scalar(select(func.count()).select_from(Alert)) == 300
        restricted = db.scalar(select(func.count()).select_from(Alert).where(Alert.restriction.is_not(None)))
        assert restricted > 0
        # every step carries its alert's restriction, as the engine writes it
        mismatched = (select(func.count()).select_from(HumanTask).join(Alert, Alert.id == HumanTask.alert_id)
                      .where(func.coalesce(HumanTask.restriction, "") != func.coalesce(Alert.restriction, "")))
        assert db.scalar(mismatched) == 0
        # markers on for years carry their completed reviews: more cases than alerts
        assert db.scalar(select(func.count()).select_from(Case)) > 2 * 300

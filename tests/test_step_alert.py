"""Each step carries its case's alert (migration 0029), and the inbox finds a step's alert by it:
the steps the engine and the register make carry it, and the upgrade fills it in for the steps
made before it. Need to know on it, for every role and face: tests/web/test_need_to_know.py."""
from sqlalchemy import select

from tests.conftest import alembic
from tests.helpers import MARKER, Cli, DerbyWorld, place_near_miss_marker
from tests.test_need_to_know import secure_marker
from workflows.platform import db as database
from workflows.platform.models import Case, HumanTask

T0 = "2026-08-31T09:00"


def steps() -> list[tuple[str, int, int]]:
    """Every step: its kind, the alert it carries, and its case's alert."""
    with database.transaction() as db:
        return [tuple(row) for row in db.execute(
            select(HumanTask.kind, HumanTask.alert_id, Case.alert_id).join(Case, HumanTask.case_id == Case.id)
            .order_by(HumanTask.id))]


def test_every_step_carries_its_cases_alert_and_the_upgrade_gives_the_steps_before_it_theirs(
        database_url, unmigrated_url, monkeypatch):
    alembic(unmigrated_url, monkeypatch, "upgrade", "head")
    derby = DerbyWorld(Cli())
    near_miss = place_near_miss_marker(derby, "C1", T0)  # steps done, on the diagram and the register's
    secure = secure_marker(derby, "C2", T0)
    waiting = derby.report("rpo", customer="C3", now=T0)  # its assessment open
    made = steps()
    assert {kind for kind, _, _ in made} == {"step", "housing_system"}
    assert {alert for _, alert, _ in made} == {near_miss, secure, waiting}
    assert all(carried == of_case for _, carried, of_case in made)

    alembic(unmigrated_url, monkeypatch, "downgrade", "0028c")  # as a database made before 0029
    alembic(unmigrated_url, monkeypatch, "upgrade", "head")
    assert steps() == made

    # the inbox finds each open step's alert by it, and the steps made from now on carry theirs
    task = derby.open_task("anna", waiting, T0)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Assault, 2025",
                                          "scheduled_offender": "no", **MARKER}, now=T0)
    assert derby.open_task("tina", waiting, T0)["kind"] == "housing_system"
    assert all(carried == of_case for _, carried, of_case in steps()) and len(steps()) > len(made)

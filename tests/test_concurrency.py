"""Two people complete the same step at the same moment, from two real processes."""
import os
import subprocess
import sys

from sqlalchemy import func, select

from tests.helpers import RISK, settings
from workflows.platform import db as database
from workflows.platform.models import AuditEvent, HumanTask

ALERTFLOW = [sys.executable, "-m", "cli"]


def complete_in_two_processes(task_id, values):
    argv = [*ALERTFLOW, "task", "complete", str(task_id), *settings(values)]
    procs = [subprocess.Popen([*argv, "--as", who], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=os.environ.copy()) for who in ("helen", "harry")]
    return [(p.wait(timeout=120), *p.communicate()) for p in procs]


def test_exactly_one_of_two_simultaneous_completions_wins(derby):
    values = {"assessment_method": "x", **RISK, "place_marker": "no"}
    for round_no in range(3):
        alert_id = derby.report("near_miss")
        task_id = derby.open_task("helen", alert_id)["task"]
        results = complete_in_two_processes(task_id, values)
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 1], results
        loser_error = next(err for code, _, err in results if code == 1)
        assert "already been completed by" in loser_error or "someone else" in loser_error, loser_error
        with database.transaction() as db:
            task = db.get(HumanTask, task_id)
            winner = next(out for code, out, _ in results if code == 0)
            assert task.status == "completed" and f"completed by {task.completed_by}" in winner
            decisions = db.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.alert_id == alert_id, AuditEvent.action == "decision"))
            assert decisions == 1


def test_a_completion_that_loses_the_race_saves_nothing(derby):
    """Interleaved for certain: the second completion starts while the first holds the case."""
    import threading

    import pytest

    from workflows.cases import engine
    from workflows.platform.errors import Conflict
    from workflows.definitions.pack import active_pack

    values = {"assessment_method": "x", **RISK, "place_marker": "no"}
    alert_id = derby.report("near_miss")
    task_id = derby.open_task("helen", alert_id)["task"]
    pack = active_pack()
    first_done, second_started = threading.Event(), threading.Event()
    outcome = {}

    def first():
        with database.transaction() as db:
            engine.complete_task(db, pack=pack, actor=engine.actor_for(db, pack, "helen"), task_id=task_id,
                                 values=values)
            first_done.set()
            second_started.wait(timeout=10)
            threading.Event().wait(0.5)  # hold the transaction open while the second one runs

    def second():
        first_done.wait(timeout=10)
        second_started.set()
        try:
            with database.transaction() as db:
                engine.complete_task(db, pack=pack, actor=engine.actor_for(db, pack, "harry"), task_id=task_id,
                                     values=values)
            outcome["second"] = "won"
        except Conflict as err:
            outcome["second"] = str(err)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert "already been completed by helen" in outcome["second"] or "someone else" in outcome["second"]
    with database.transaction() as db:
        assert db.get(HumanTask, task_id).completed_by == "helen"
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.alert_id == alert_id, AuditEvent.action.in_(("decision", "task_completed")))) == 2
    with pytest.raises(Conflict):
        with database.transaction() as db:
            engine.complete_task(db, pack=pack, actor=engine.actor_for(db, pack, "harry"), task_id=task_id,
                                 values=values)

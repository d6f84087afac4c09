"""Timers on real Celery worker processes with real Redis and PostgreSQL: each due timer fires
exactly once, with two workers, with a worker SIGKILLed, with Redis down for a while; the
Derby review cycle over 18 months; a case whose step raises is set aside for an administrator."""
import os
import shutil
import subprocess
import sys

from sqlalchemy import func, select

from tests.helpers import RISK
from tests.workers.conftest import send_sweep, wait_for
from tests.workers.seed import AFTER, seed_due_reviews
from workflows.platform import config, db as database
from workflows.platform.models import AuditEvent, Case, HumanTask
from workflows.definitions.pack import active_pack

KEEP = {"support_in_place": "Tenancy sustainment officer visits", "staff_information": "No incidents since", "risk_reduced": "no", "measures_proportionate": "yes",
        "review_outcome": "keep", "review_reason": "Risk unchanged", "inform_tenant": "yes"}
MARKER = {"place_marker": "yes", "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs",
          "inform_tenant": "yes", **RISK}


def counts():
    """How many timers fired (audit), review steps created, cases still due, and cases in error."""
    with database.transaction() as db:
        fired = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer_fired"))
        reviews = db.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.title == "Review the marker"))
        per_case = db.scalar(select(func.max(func.coalesce(_per_case().c.n, 0))))
        waiting = db.scalar(select(func.count()).select_from(Case).where(
            Case.status == "running", Case.kind == "review", Case.next_timer_at.is_not(None)))
        errors = db.scalar(select(func.count()).select_from(Case).where(Case.status == "error"))
    return {"fired": fired, "reviews": reviews, "most_per_case": per_case or 0, "still_waiting": waiting,
            "errors": errors}


def _per_case():
    return (select(HumanTask.case_id, func.count().label("n")).where(HumanTask.title == "Review the marker")
            .group_by(HumanTask.case_id).subquery())


def all_fired(total):
    return lambda: counts()["fired"] >= total and counts()["still_waiting"] == 0


def test_two_workers_sweeping_the_same_2000_due_cases_fire_each_timer_exactly_once(derby, shared_clock,
                                                                                     celery_processes):
    total = 2000
    seed_due_reviews(active_pack(), total)
    shared_clock.set(AFTER)
    celery_processes.worker("w1")
    celery_processes.worker("w2")
    send_sweep()  # two full sweeps of the same cases, at once,
    send_sweep()  # picked up by the two workers
    wait_for(all_fired(total), "every due case to advance")
    result = counts()
    assert result == {"fired": total, "reviews": total, "most_per_case": 1, "still_waiting": 0, "errors": 0}
    # both workers did the work, and both sweeps enqueued every case
    assert "alertflow.advance_case" in celery_processes.log("w1") and "alertflow.advance_case" in celery_processes.log("w2")


def test_a_worker_killed_mid_sweep_leaves_every_due_case_advanced_exactly_once_after_restart(
        derby, shared_clock, celery_processes):
    total = 1000
    seed_due_reviews(active_pack(), total)
    shared_clock.set(AFTER)
    first = celery_processes.worker("w1")
    send_sweep()
    wait_for(lambda: counts()["fired"] >= 100, "the worker to be part way through")
    celery_processes.kill(first)  # SIGKILL: no clean shutdown, its open transaction and reserved tasks lost
    after_kill = counts()
    assert 0 < after_kill["fired"] < total, after_kill
    celery_processes.worker("w2")
    celery_processes.beat(seconds=1)  # the regular sweep finds the cases still due
    wait_for(all_fired(total), "every due case to advance after the restart")
    assert counts() == {"fired": total, "reviews": total, "most_per_case": 1, "still_waiting": 0, "errors": 0}


def _beat_sweep() -> int:
    """The sweep as beat sends it (if_idle), run in a process of its own; how many cases it handed out."""
    out = subprocess.run([sys.executable, "-c", "import workers; print(workers.sweep(if_idle=True))"],
                         cwd=config.PROJECT_ROOT, env=os.environ, capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def test_a_beat_sweep_hands_out_due_cases_while_the_other_rounds_wait_and_not_twice_while_they_wait(
        derby, shared_clock, celery_processes):
    import workers

    seed_due_reviews(active_pack(), 3)
    shared_clock.set(AFTER)
    with workers.app.connection_for_write(os.environ["REDIS_URL"]) as connection:
        for _ in range(20):  # beat's other rounds, queued with no worker to take them yet
            workers.drafts.apply_async(connection=connection)
    assert _beat_sweep() == 3
    assert _beat_sweep() == 0  # the three cases are still waiting for a worker: not handed out again
    celery_processes.worker("w1")
    wait_for(all_fired(3), "the three due cases to advance")
    assert counts() == {"fired": 3, "reviews": 3, "most_per_case": 1, "still_waiting": 0, "errors": 0}
    assert _beat_sweep() == 0  # nothing is due any more


def _place_marker(derby, customer, now_clock, moment):
    """Report, assess and record a marker through the CLI at `moment`; returns the alert id."""
    now_clock.set(moment)
    alert_id = derby.report("rpo", customer=customer)
    task = derby.open_task("anna", alert_id)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Assault, 2025", "scheduled_offender": "no", **MARKER})
    task = derby.open_task("tina", alert_id)
    derby.complete("tina", task["task"], {"housing_system_reference": "RT-1"})
    return alert_id


def test_redis_stopped_and_started_again_decisions_go_on_and_timers_fire_once_it_is_back(
        derby, shared_clock, celery_processes, redis_server):
    alert_id = _place_marker(derby, "C1", shared_clock, "2026-03-02T09:00")
    celery_processes.worker("w1")
    celery_processes.beat(seconds=1)
    redis_server.stop()

    # meanwhile: staff report concerns and managers decide, without Redis
    shared_clock.set("2026-06-01T09:00")
    second = _place_marker(derby, "C2", shared_clock, "2026-06-01T09:00")
    assert derby.alert(second)["status"] == "active"
    shared_clock.set("2026-09-03T09:00")  # the first marker's review falls due while Redis is down
    assert derby.alert(alert_id)["next_review_at"] < "2026-09-03"
    assert counts()["fired"] == 0

    redis_server.start()  # same port, empty: whatever was queued before is gone
    wait_for(lambda: counts()["fired"] >= 1, "the review that fell due to fire")
    review = derby.open_task("anna", alert_id)
    assert review["title"] == "Review the marker"
    derby.complete("anna", review["task"], KEEP)
    assert counts()["fired"] == 1 and counts()["most_per_case"] == 1


def test_clock_moved_18_months_ahead_every_derby_marker_has_had_exactly_three_reviews(
        derby, shared_clock, celery_processes):
    placed = "2026-03-02T09:00"
    markers = {_place_marker(derby, ref, shared_clock, placed): "anna" for ref in ("C1", "C2", "C3")}
    celery_processes.worker("w1")
    celery_processes.beat(seconds=1)
    for _ in range(3):  # each review as it falls due; completing it starts the next (continue-as-new)
        due = max(derby.alert(alert_id)["next_review_at"] for alert_id in markers)
        shared_clock.set(due[:16])
        shared_clock.set(_plus_minutes(due, 1))
        for alert_id, reviewer in markers.items():
            review = wait_for(lambda: [t for t in derby.inbox(reviewer) if t["alert"] == alert_id],
                              f"alert {alert_id}'s review")[0]
            derby.complete(reviewer, review["task"], KEEP)
    shared_clock.set("2027-09-10T09:00")  # 18 months and a week after the markers were placed
    wait_for(lambda: counts()["still_waiting"] == 3 and counts()["fired"] >= 9, "the sweep")
    for alert_id in markers:
        alert = derby.alert(alert_id)
        reviews = [e for e in alert["events"] if e["action"] == "timer_fired"]
        assert len(reviews) == 3 and alert["review_count"] == 3, alert_id
        assert alert["next_review_at"] > "2027-09-10"  # the fourth is not due yet
    assert counts()["reviews"] == 9 and counts()["errors"] == 0


def _plus_minutes(iso, minutes):
    from datetime import timedelta
    from workflows.platform import clock
    return (clock.parse_moment(iso) + timedelta(minutes=minutes)).isoformat()


def test_a_broken_expression_sets_its_case_aside_the_others_carry_on_and_an_admin_retries_it(
        derby, cli, shared_clock, celery_processes, tmp_path, monkeypatch):
    good = seed_due_reviews(active_pack(), 2)
    packs = tmp_path / "packs"
    shutil.copytree(config.PROJECT_ROOT / "bpmn" / "derby", packs / "derby")
    review_file = packs / "derby" / "derby_review.bpmn"
    original = review_file.read_text()
    review_file.write_text(original.replace("category in ['rpo', 'partner_info']", "int(category) > 0"))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(packs))
    cli("users", "add", "paula", "--name", "Paula", "--role", "process_owner")
    cli("pack", "deploy", "--as", "paula")
    [broken] = seed_due_reviews(active_pack(), 1)
    cli("users", "add", "ada", "--name", "Ada", "--role", "admin")

    shared_clock.set(AFTER)
    celery_processes.worker("w1")
    celery_processes.beat(seconds=1)
    wait_for(lambda: counts()["errors"] == 1 and counts()["fired"] == 2, "the sweep")
    errors = cli.json("cases", "errors")
    assert [e["case"] for e in errors] == [broken]
    assert "gw_reviewer" in errors[0]["error"] and "int" in errors[0]["error"]
    assert counts()["reviews"] == 2  # the other cases carried on
    # further sweeps leave it alone: no silent retry loop
    sweeps_before = _sweeps(celery_processes)
    wait_for(lambda: _sweeps(celery_processes) >= sweeps_before + 3, "three more sweeps")
    with database.transaction() as db:
        error_events = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case_error"))
    assert error_events == 1 and cli.json("cases", "errors")[0]["case"] == broken

    assert "administrator" in cli.fails("cases", "retry", broken, "--as", "anna")
    review_file.write_text(original)  # the process owner fixes the diagram and deploys it as a new version
    cli("pack", "deploy", "--as", "paula")
    out = cli("cases", "retry", broken, "--as", "ada")
    assert f"case {broken} retried on version 3: running" in out
    assert cli.json("cases", "errors") == []
    assert counts() == {"fired": 3, "reviews": 3, "most_per_case": 1, "still_waiting": 0, "errors": 0}
    assert "nothing to retry" in cli.fails("cases", "retry", good[0], "--as", "ada")


def _sweeps(processes):
    return processes.log("w1").count("alertflow.sweep") // 2  # received + succeeded lines per sweep

"""The audit log is a hash chain: `alertflow audit verify` passes on an untouched log and names
an edited, a deleted and an inserted row; writers committing at once never fork the chain."""
import os
import subprocess
import sys

from sqlalchemy import text

from tests.test_derby_lifecycle import MARKER, record_on_red_triangle
from workflows import db as database

T0 = "2026-03-02T09:00"


def some_history(derby):
    alert_id = derby.report("rpo", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    derby.complete("anna", task["task"], {"offence_nature": "Assault", "scheduled_offender": "no", **MARKER}, now=T0)
    record_on_red_triangle(derby, alert_id)
    derby.report("near_miss", customer="C2", now=T0)
    return alert_id


def sql(statement, **params):
    with database.transaction() as db:
        return db.execute(text(statement), params)


def event_ids():
    with database.transaction() as db:
        return list(db.execute(text("SELECT id FROM audit_event ORDER BY seq")).scalars())


def test_an_untouched_log_verifies(derby, cli):
    some_history(derby)
    out = cli("audit", "verify")
    assert out.startswith("audit log intact:") and int(out.split()[3]) == len(event_ids()) > 10


def test_an_edited_row_is_named(derby, cli):
    some_history(derby)
    ids = event_ids()
    sql("UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=ids[5])
    error = cli.fails("audit", "verify")
    assert f"edited: event id {ids[5]} " in error and "mallory" in error
    assert "FAILED" in error


def test_an_edited_row_with_its_hash_recomputed_breaks_the_next_link(derby, cli):
    from workflows import audit
    from workflows.models import AuditEvent
    some_history(derby)
    ids = event_ids()
    with database.transaction() as db:
        ev = db.get(AuditEvent, ids[3])
        ev.detail = {**ev.detail, "forged": True}
        ev.hash = audit.hash_of(ev)  # a careful forger rehashes the row, but not the rest of the chain
    error = cli.fails("audit", "verify")
    assert f"broken link: event id {ids[4]} " in error
    assert f"event id {ids[3]} " not in error.replace(f"event id {ids[4]} ", "")


def test_a_deleted_row_is_named(derby, cli):
    some_history(derby)
    ids = event_ids()
    sql("DELETE FROM audit_event WHERE id = :id", id=ids[6])
    error = cli.fails("audit", "verify")
    assert f"deleted: event 7 of the chain missing before event id {ids[7]}" in error


def test_deleting_the_newest_rows_is_caught_by_the_chain_head(derby, cli):
    some_history(derby)
    ids = event_ids()
    sql("DELETE FROM audit_event WHERE id IN (:a, :b)", a=ids[-1], b=ids[-2])
    error = cli.fails("audit", "verify")
    assert f"the chain head records {len(ids)} events, the log ends at {len(ids) - 2}" in error


def test_an_inserted_row_is_named(derby, cli):
    some_history(derby)
    sql("INSERT INTO audit_event (at, actor, action, detail) VALUES (:at, 'mallory', 'decision', '{}')",
        at="2026-03-02 09:30:00")
    with database.transaction() as db:
        forged = db.execute(text("SELECT id FROM audit_event WHERE actor = 'mallory'")).scalar_one()
    error = cli.fails("audit", "verify")
    assert f"inserted: event id {forged} (decision by mallory) is not in the chain" in error


def test_work_after_verification_continues_the_chain(derby, cli):
    some_history(derby)
    cli("audit", "verify")
    derby.report("complaints", customer="C3", now=T0)
    assert cli("audit", "verify").startswith("audit log intact")


def test_writers_committing_at_once_from_separate_processes_keep_one_chain(derby, cli):
    argv = [sys.executable, "-m", "cli", "--now", T0, "report", "--as", "sam", "--category", "near_miss",
            "--description", "Raised voice at the door"]
    procs = [subprocess.Popen([*argv, "--customer", ref], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=os.environ.copy()) for ref in ("C1", "C2", "C3", "C1", "C2", "C3")]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    won = [r for r in results if r[0] == 0]
    # SQLite has one writer: a process that lost the race is told so cleanly; PostgreSQL queues them
    assert won and all(code == 0 or "someone else" in err or "locked" in err for code, _, err in results), results
    if os.environ.get("ALERTFLOW_TEST_DATABASE"):
        assert len(won) == 6
    out = cli("audit", "verify")
    assert out.startswith("audit log intact")
    with database.transaction() as db:
        seqs = list(db.execute(text("SELECT seq FROM audit_event ORDER BY seq")).scalars())
    assert seqs == list(range(1, len(seqs) + 1))


def test_events_survive_a_rolled_back_savepoint_and_those_it_undid_never_join(derby, cli):
    from workflows import audit
    with database.transaction() as db:
        audit.record(db, actor="sam", action="kept_before_savepoint")
        db.flush()
        savepoint = db.begin_nested()
        audit.record(db, actor="sam", action="undone_in_savepoint")
        db.flush()
        savepoint.rollback()
        audit.record(db, actor="sam", action="kept_after_savepoint")
    with database.transaction() as db:
        actions = list(db.execute(text("SELECT action FROM audit_event WHERE actor = 'sam' ORDER BY seq")).scalars())
    assert actions == ["kept_before_savepoint", "kept_after_savepoint"]
    assert cli("audit", "verify").startswith("audit log intact")


def test_readers_recording_only_audit_events_at_once_keep_one_chain(derby, cli):
    """Producing the visit list writes nothing but its audit event: many at once must still
    append one after another (on SQLite too, where reads take no lock)."""
    some_history(derby)
    argv = [sys.executable, "-m", "cli", "--now", T0, "visit-list", "--as", "sam"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
             for _ in range(8)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    assert all(code == 0 for code, _, _ in results), [err for code, _, err in results if code]
    assert cli("audit", "verify").startswith("audit log intact")
    with database.transaction() as db:
        produced = db.execute(text("SELECT count(*) FROM audit_event WHERE action = 'visit_list_produced'")).scalar()
    assert produced == 8

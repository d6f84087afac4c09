"""The audit log is a hash chain: `alertflow audit verify` passes on an untouched log and names
an edited, a deleted and an inserted row; writers committing at once never fork the chain."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers import MARKER, record_on_red_triangle
from workflows.platform import db as database

T0 = "2026-03-02T09:00"


def some_history(derby):
    alert_id = derby.report("rpo", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Assault", "scheduled_offender": "no", **MARKER}, now=T0)
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
    edited = len(ids) - 5  # the history's events, on 2 March 2026 at 09:00 (the packs' deployments are on today)
    sql("UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=ids[edited])
    error = cli.fails("audit", "verify")
    assert (f"edited: event id {ids[edited]} (seq {edited + 1}, review_scheduled by mallory, 2 March 2026 at 09:00) "
            f"no longer matches its hash") in error
    assert "FAILED" in error


def test_an_edited_row_with_its_hash_recomputed_breaks_the_next_link(derby, cli):
    from workflows.compliance import audit
    from workflows.platform.models import AuditEvent
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
    assert f"deleted: event 7 of the chain missing before event id {ids[7]} (seq 8, " in error
    gone = len(ids) - 6
    sql("DELETE FROM audit_event WHERE id = :id", id=ids[gone])
    error = cli.fails("audit", "verify")
    assert (f"deleted: event {gone + 1} of the chain missing before event id {ids[gone + 1]} "
            f"(seq {gone + 2}, 2 March 2026 at 09:00)") in error


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
    assert f"inserted: event id {forged} (decision by mallory, 2 March 2026 at 09:30) is not in the chain" in error


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
    from workflows.compliance import audit
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


# Anchoring the chain outside the database: signed checkpoints, and a verify that only reads.

KEY = "a secret the database never holds"


@pytest.fixture
def keyed(monkeypatch, tmp_path):
    """An audit key is set; returns the checkpoint file (the conftest points it into tmp_path)."""
    monkeypatch.setenv("ALERTFLOW_AUDIT_KEY", KEY)
    return Path(os.environ["ALERTFLOW_AUDIT_CHECKPOINTS"])


def last_seq():
    with database.transaction() as db:
        return db.execute(text("SELECT max(seq) FROM audit_event")).scalar() or 0


def snapshot():
    """What a verification must leave untouched: every event row and the head."""
    with database.transaction() as db:
        events = db.execute(text("SELECT id, seq, hash FROM audit_event ORDER BY id")).all()
        head = db.execute(text("SELECT seq, hash FROM audit_chain_head")).all()
    return events, head


def truncate_tail(keep: int):
    """Delete every event after seq `keep` and point the head at the last one kept, as a careful
    tamperer would: the chain and its head then agree with each other."""
    with database.transaction() as db:
        db.execute(text("DELETE FROM audit_event WHERE seq > :keep"), {"keep": keep})
        digest = db.execute(text("SELECT hash FROM audit_event WHERE seq = :keep"), {"keep": keep}).scalar_one()
        db.execute(text("UPDATE audit_chain_head SET seq = :keep, hash = :h"), {"keep": keep, "h": digest})


def test_a_checkpoint_is_signed_and_appended_outside_the_database(derby, cli, keyed):
    some_history(derby)
    out = cli("audit", "checkpoint")
    seq = last_seq()
    assert f"checkpoint: seq {seq}, " in out and str(keyed) in out
    derby.report("complaints", customer="C3", now=T0)
    cli("audit", "checkpoint")
    lines = [json.loads(line) for line in keyed.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [seq, last_seq()] and last_seq() > seq
    out = cli("audit", "verify")
    assert out.startswith("audit log intact:") and f"2 checkpoint(s) agree, the newest at seq {last_seq()}" in out


def test_checkpointing_needs_a_key_and_refuses_a_tampered_log(derby, cli, monkeypatch, tmp_path):
    some_history(derby)
    assert "ALERTFLOW_AUDIT_KEY" in cli.fails("audit", "checkpoint")
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY + "\n")
    monkeypatch.setenv("ALERTFLOW_AUDIT_KEY_FILE", str(key_file))
    sql("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3")
    error = cli.fails("audit", "checkpoint")
    assert "does not verify" in error and "edited: event id" in error
    assert not Path(os.environ["ALERTFLOW_AUDIT_CHECKPOINTS"]).exists()


def test_truncating_the_tail_and_moving_the_head_is_caught_by_the_checkpoint(derby, cli, keyed):
    some_history(derby)
    cli("audit", "checkpoint")
    end = last_seq()
    truncate_tail(end - 3)
    error = cli.fails("audit", "verify")
    assert f"deleted: events after seq {end - 3} were removed; the checkpoint of " in error
    assert f"records the chain at seq {end}" in error
    assert f"deleted: events after seq {end - 3} were removed" in cli.fails("audit", "verify", "--since-checkpoint")


def test_truncating_the_tail_and_writing_on_is_caught_where_the_chain_was_replaced(derby, cli, keyed):
    some_history(derby)
    cli("audit", "checkpoint")
    first = last_seq()
    derby.report("complaints", customer="C3", now=T0)
    cli("audit", "checkpoint")
    second = last_seq()
    truncate_tail(first + 1)
    derby.report("near_miss", customer="C1", now=T0)  # new events take the removed events' places
    assert last_seq() >= second
    error = cli.fails("audit", "verify")
    assert f"rewritten: the event at seq {second} is not the one in the checkpoint of " in error
    assert f"events after seq {first} were removed or replaced" in error


def test_deleting_every_event_and_the_head_is_caught_by_the_checkpoint(derby, cli, keyed):
    some_history(derby)
    cli("audit", "checkpoint")
    end = last_seq()
    sql("DELETE FROM audit_event")
    sql("DELETE FROM audit_chain_head")
    error = cli.fails("audit", "verify")
    assert "deleted: the audit log is empty, but the checkpoint of " in error and f"records {end} events" in error


def test_a_checkpoint_with_a_bad_signature_is_named(derby, cli, keyed, monkeypatch):
    some_history(derby)
    cli("audit", "checkpoint")
    line = json.loads(keyed.read_text())
    forged = {**line, "seq": line["seq"] - 2}  # moved back, as if the newest events had never been
    keyed.write_text(keyed.read_text() + json.dumps(forged) + "\n")
    error = cli.fails("audit", "verify")
    assert f"bad signature: the checkpoint of {line['at']} (line 2, seq {line['seq'] - 2}) was not signed" in error
    assert "line 1," not in error
    monkeypatch.setenv("ALERTFLOW_AUDIT_KEY", "another key")
    assert "(line 1, " in cli.fails("audit", "verify")
    monkeypatch.delenv("ALERTFLOW_AUDIT_KEY")
    assert "holds 2 checkpoint(s) but no audit key is set" in cli.fails("audit", "verify")


def test_since_checkpoint_walks_only_the_events_after_the_newest_good_checkpoint(derby, cli, keyed):
    some_history(derby)
    cli("audit", "checkpoint")
    mark = last_seq()
    derby.report("complaints", customer="C3", now=T0)
    walked = last_seq() - mark
    out = cli("audit", "verify", "--since-checkpoint")
    assert out.startswith(f"audit log intact: {walked} events after seq {mark}, ")
    sql("UPDATE audit_event SET actor = 'mallory' WHERE seq = :s", s=mark + 1)
    assert f"(seq {mark + 1}, " in cli.fails("audit", "verify", "--since-checkpoint")


def test_swapped_event_ids_are_named_and_do_not_reorder_the_story(derby, cli):
    alert_id = some_history(derby)
    story = [e["action"] for e in cli.json("alerts", "show", alert_id, "--as", "hugo")["events"]]
    with database.transaction() as db:
        rows = db.execute(text("SELECT id, action FROM audit_event WHERE alert_id = :a ORDER BY seq"),
                          {"a": alert_id}).all()
    first, last = rows[0], next(r for r in reversed(rows) if r.action != rows[0].action)
    sql("UPDATE audit_event SET id = -1 WHERE id = :i", i=first.id)
    sql("UPDATE audit_event SET id = :a WHERE id = :b", a=first.id, b=last.id)
    sql("UPDATE audit_event SET id = :b WHERE id = -1", b=last.id)
    error = cli.fails("audit", "verify")
    assert "reordered: event id" in error and "event ids were changed" in error
    after = [e["action"] for e in cli.json("alerts", "show", alert_id, "--as", "hugo")["events"]]
    assert after[:len(story)] == story  # in chain order (hugo's own view is appended only if restricted)


def test_the_chain_walked_by_several_processes_names_what_one_process_names(derby, cli):
    """`--jobs 3` cuts the chain into three stretches of seq walked by three processes; the
    problems where the stretches meet (a forged link, swapped ids, a deleted first event) are
    found where the stretches are joined, and the report is the one a single walk gives."""
    from workflows.compliance import audit
    from workflows.platform.models import AuditEvent
    some_history(derby)
    intact = cli("audit", "verify", "--jobs", "3")
    assert intact.replace(" (walked by 3 processes)", "") == cli("audit", "verify", "--jobs", "1")
    assert intact.startswith(f"audit log intact: {len(event_ids())} events (walked by 3 processes), head ")
    ids = event_ids()
    cut = -(-len(ids) // 3)  # the stretches: seq 1 to cut, cut + 1 to 2 * cut, the rest
    at_seq = {seq: ids[seq - 1] for seq in range(1, len(ids) + 1)}
    sql("UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=at_seq[6])
    with database.transaction() as db:  # the last event of the first stretch, rehashed by a careful forger
        ev = db.get(AuditEvent, at_seq[cut])
        ev.detail = {**ev.detail, "forged": True}
        ev.hash = audit.hash_of(ev)
    sql("UPDATE audit_event SET id = -1 WHERE id = :i", i=at_seq[cut])  # ids swapped across the first join
    sql("UPDATE audit_event SET id = :a WHERE id = :b", a=at_seq[cut], b=at_seq[cut + 1])
    sql("UPDATE audit_event SET id = :b WHERE id = -1", b=at_seq[cut + 1])
    sql("DELETE FROM audit_event WHERE id = :id", id=at_seq[2 * cut + 1])  # the third stretch's first event
    sql("UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=at_seq[2 * cut + 2])

    error = cli.fails("audit", "verify", "--jobs", "3")
    assert error == cli.fails("audit", "verify", "--jobs", "1")
    found = [line.split(" (")[0] for line in error.splitlines()]
    assert found == [
        f"error: edited: event id {at_seq[6]}",
        f"error: broken link: event id {at_seq[cut]}",  # seq cut + 1 now carries the id seq cut had
        f"error: reordered: event id {at_seq[cut]}",
        f"error: deleted: event {2 * cut + 1} of the chain missing before event id {at_seq[2 * cut + 2]}",
        f"error: edited: event id {at_seq[2 * cut + 2]}",
        f"audit log FAILED verification: 5 problem(s) in {len(ids) - 1} chained events"]
    assert f"(seq {2 * cut + 2}, 2 March 2026 at 09:00)" in error


def test_a_missing_head_is_a_finding_verify_does_not_write_and_writes_fail_clearly(derby, cli, keyed):
    some_history(derby)
    cli("audit", "checkpoint")
    sql("DELETE FROM audit_chain_head")
    before = snapshot()
    error = cli.fails("audit", "verify")
    assert "missing: the audit chain head row is gone" in error and "alertflow audit repair-head" in error
    cli.fails("audit", "verify", "--since-checkpoint")
    assert snapshot() == before and before[1] == []  # verify re-created nothing
    error = cli.fails("report", "--as", "sam", "--customer", "C1", "--category", "near_miss",
                      "--description", "Raised voice", now=T0)
    assert "the audit chain head is missing" in error and "alertflow audit repair-head" in error
    assert "Traceback" not in error and snapshot() == before
    assert f"rebuilt: seq {last_seq()}," in cli("audit", "repair-head")
    derby.report("near_miss", customer="C1", now=T0)
    assert cli("audit", "verify").startswith("audit log intact")


def test_repair_head_refuses_a_log_that_does_not_verify(derby, cli):
    some_history(derby)
    sql("DELETE FROM audit_chain_head")
    sql("UPDATE audit_event SET actor = 'mallory' WHERE seq = 4")
    error = cli.fails("audit", "repair-head")
    assert "does not verify" in error and "edited: event id" in error
    assert snapshot()[1] == []


def test_verify_writes_nothing_on_a_tampered_log(derby, cli, keyed):
    some_history(derby)
    cli("audit", "checkpoint")
    truncate_tail(last_seq() - 2)
    sql("INSERT INTO audit_event (at, actor, action, detail) VALUES (:at, 'mallory', 'decision', '{}')",
        at="2026-03-02 09:30:00")
    before, lines = snapshot(), keyed.read_text()
    cli.fails("audit", "verify")
    cli.fails("audit", "verify", "--since-checkpoint")
    assert snapshot() == before and keyed.read_text() == lines


def test_the_background_tick_writes_a_checkpoint_when_one_is_due(derby, cli, keyed, monkeypatch):
    some_history(derby)
    monkeypatch.delenv("ALERTFLOW_AUDIT_KEY")
    assert "'audit_checkpoint': 0" in cli("serve", "--once", now="2026-03-02T10:00")
    assert not keyed.exists()  # no key: nothing to sign with
    monkeypatch.setenv("ALERTFLOW_AUDIT_KEY", KEY)
    monkeypatch.setenv("ALERTFLOW_AUDIT_CHECKPOINT_MINUTES", "60")
    first = last_seq()
    assert f"'audit_checkpoint': {first}" in cli("serve", "--once", now="2026-03-02T10:00")
    derby.report("complaints", customer="C3", now="2026-03-02T10:10")
    assert "'audit_checkpoint': 0" in cli("serve", "--once", now="2026-03-02T10:30")  # the last one is recent
    assert f"'audit_checkpoint': {last_seq()}" in cli("serve", "--once", now="2026-03-02T11:05")
    assert [json.loads(line)["seq"] for line in keyed.read_text().splitlines()] == [first, last_seq()]
    assert "'audit_checkpoint': 0" in cli("serve", "--once", now="2026-03-02T13:00")  # nothing new to sign
    assert "2 checkpoint(s) agree" in cli("audit", "verify")
    derby.report("near_miss", customer="C2", now="2026-03-02T13:10")
    sql("UPDATE audit_event SET actor = 'mallory' WHERE seq = :s", s=last_seq())
    error = cli.fails("serve", "--once", now="2026-03-02T14:30")  # a tampered log is never checkpointed
    assert "does not verify, so it is not checkpointed" in error and len(keyed.read_text().splitlines()) == 2


def test_the_celery_beat_schedule_runs_the_same_checkpoint(derby, cli, keyed):
    import workers
    some_history(derby)
    assert workers.app.conf.beat_schedule["audit_checkpoint"]["task"] == "alertflow.audit_checkpoint"
    assert workers.audit_checkpoint() == last_seq() and keyed.exists()


def test_a_checkpoint_is_mailed_to_the_dpo_when_asked(derby, cli, keyed, smtp, monkeypatch):
    some_history(derby)
    monkeypatch.setenv("ALERTFLOW_AUDIT_CHECKPOINT_MAIL", "dpo@example.org")
    cli("audit", "checkpoint")
    [message] = smtp.messages
    assert message["to"] == ["dpo@example.org"] and message["body"].strip() == keyed.read_text().strip()

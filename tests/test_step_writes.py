"""What the engine's steps write, row for row, against a record taken before the step's write path
was made lean (issue 20): the same story played through the command line must leave exactly the
same rows in every table, on SQLite and on PostgreSQL, and an audit chain that verifies.

The records (tests/expected/step_writes.<database>.json) were made by the ORM write path the lean one
replaced, one per database: SQLite hands back a moment without its zone, and an audit event's detail
holds it as read, so the two databases' logs differ there, as they did before.
Only what is random by design is put in words the record can hold: SpiffWorkflow's task ids are
numbered in the order they first appear, the real time SpiffWorkflow stamps on a task is left out,
an audit event's hash (which covers such an id) is named by the event it is the hash of, password
hashes are left out.

If a change rightly alters what a step writes, re-record with ALERTFLOW_RECORD_STEP_WRITES=1 and
read the diff of the record: every changed row is a change in behaviour to explain in the commit."""
import json
import os
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers import KEEP, MARKER, Cli, DerbyWorld, record_on_red_triangle
from workflows.platform import clock
from workflows.platform import db as database
from workflows.platform.models import Base

RECORDS = Path(__file__).parent / "expected"
T0, DECIDED, LATER = "2026-03-02T09:00", "2026-03-03T10:00", "2026-10-01T09:00"
ASSESSED = {"incident_conduct": "Shouted at the caretaker in the stairwell", "incident_outcome": "sooner",
            "review_by": "2026-11-02"}
RANDOM_BY_DESIGN = {"password_hash"}  # scrypt's salt: a new one for every account
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class CliAtT0(Cli):
    """The command line with every command not given a moment run at T0, so the pack's deployment
    and the accounts are stamped alike in every run."""

    def _run(self, args, now):
        return super()._run(args, now or T0)


@pytest.fixture
def cli(database_url):
    return CliAtT0()


@pytest.fixture
def derby(cli):
    return DerbyWorld(cli)


def play_the_story(derby, cli):
    """A marker's life through the steps a landlord's staff take: reported, assessed and placed,
    recorded on the housing system, a step claimed and given back, reviewed (the next review
    starting as the last ends), a linked incident bringing the review forward, reviewed again;
    a form refused (nothing saved); and a concern that places no marker."""
    alert_id = derby.report("near_miss", now=T0)
    task = derby.open_task("helen", alert_id, T0)["task"]
    cli("task", "claim", task, "--as", "helen", now=T0)
    cli("task", "release", task, "--as", "helen", now=T0)
    assert "assessment_method" in derby.refuse("helen", task, {"place_marker": "yes"}, now=DECIDED)
    derby.complete("helen", task, {"assessment_method": "Interview", **MARKER}, now=DECIDED)
    record_on_red_triangle(derby, alert_id)
    due = derby.alert(alert_id)["next_review"]
    assert derby.fire_timers(f"{due}T23:00") == 1
    derby.complete("helen", derby.open_task("helen", alert_id, f"{due}T23:00")["task"], KEEP, now=f"{due}T23:30")
    cli("report", "--as", "sam", "--customer", "C1", "--category", "near_miss", "--description",
        "Another near miss at the door", "--link-to", alert_id, now=LATER)
    derby.complete("helen", derby.open_task("helen", alert_id, LATER)["task"], ASSESSED, now=LATER)
    assert derby.fire_timers("2026-11-02T23:00") == 1
    derby.complete("helen", derby.open_task("helen", alert_id, "2026-11-02T23:00")["task"], KEEP,
                   now="2026-11-03T10:00")
    other = derby.report("near_miss", customer="C2", now=LATER)
    derby.complete("helen", derby.open_task("helen", other, LATER)["task"],
                   {"assessment_method": "Interview", **MARKER, "place_marker": "no"}, now=LATER)


def _plain(value, uuids):
    """A value as the record holds it: the same on SQLite and PostgreSQL."""
    if isinstance(value, datetime):
        return clock.as_utc(value).isoformat()
    if isinstance(value, date):  # a day (the open steps' tally's due day)
        return value.isoformat()
    if isinstance(value, (dict, list)):  # numbered in the order SpiffWorkflow wrote them (its task tree's)
        return _without_wall_clock(json.loads(UUID.sub(lambda m: _numbered(m, uuids), json.dumps(value))))
    if isinstance(value, str):
        return UUID.sub(lambda m: _numbered(m, uuids), value)
    return value


def _without_wall_clock(value):
    """SpiffWorkflow stamps each task's `last_state_change` with the real time.time(), not the
    engine's clock: left out."""
    if isinstance(value, dict):
        return {k: _without_wall_clock(v) for k, v in value.items() if k != "last_state_change"}
    if isinstance(value, list):
        return [_without_wall_clock(v) for v in value]
    return value


def _numbered(match, uuids):
    return uuids.setdefault(match.group(0), f"task-{len(uuids) + 1}")


def every_row() -> dict:
    """Every row of every table the models define, in id order, as the record holds it."""
    uuids: dict[str, str] = {}
    rows = {}
    with database.transaction() as db:
        for table in Base.metadata.sorted_tables:
            order = [c for c in table.primary_key.columns] or list(table.columns)
            found = [{c: _plain(v, uuids) for c, v in row._mapping.items() if c not in RANDOM_BY_DESIGN}
                     for row in db.execute(select(table).order_by(*order))]
            if found:
                rows[table.name] = found
    # an event's hash covers its detail, which may name a task id: named by the event it is the hash of
    # (the chain itself is verified apart, by `alertflow audit verify`)
    names = {"0" * 64: "genesis", **{e["hash"]: f"hash of event {e['seq']}" for e in rows.get("audit_event", [])}}
    for row in rows.get("audit_event", []) + rows.get("audit_chain_head", []):
        row.update({k: names.get(row[k], row[k]) for k in ("hash", "prev_hash") if k in row})
    return rows


def test_the_steps_write_exactly_the_rows_they_wrote_before_the_lean_write_path(derby, cli):
    play_the_story(derby, cli)
    assert cli("audit", "verify").startswith("audit log intact: ")
    written = every_row()
    record = RECORDS / f"step_writes.{database.get_engine().dialect.name}.json"
    if os.environ.get("ALERTFLOW_RECORD_STEP_WRITES"):
        record.write_text(json.dumps(written, indent=1, sort_keys=True) + "\n")
    expected = json.loads(record.read_text())
    assert sorted(written) == sorted(expected), "the tables written differ from the record"
    for table in expected:
        assert len(written[table]) == len(expected[table]), f"{table}: {len(written[table])} rows, " \
                                                            f"recorded {len(expected[table])}"
        for got, want in zip(written[table], expected[table]):
            assert got == want, f"{table} row differs from the record"

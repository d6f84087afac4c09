"""Cost of one durable engine step, for a new marker and for one on its 40th review, with a
linked incident bringing the review forward before every fourth review (so a marker on its 40th
review has ten linked incidents and ten retimed review cases behind it).

A durable step is what a manager's "complete" costs: lock and load the case, restore the
workflow, validate the form, run the step and its service tasks (file the assessment, record
the decision, start the next review period, write the letter), save state and projections,
commit. It is compared with the raw in-memory SpiffWorkflow step on the same diagram (complete
the review task and run the engine, starting the next period's instance in memory too), by the
time each takes and by the CPU time each spends in this process (on a machine shared with other
work, the figure that load stretches least; the database server's own work is not in it).

    python benchmarks/step_cost.py [--markers 20] [--reviews 40] [--postgres URL] [--parts]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from SpiffWorkflow.util.task import TaskState

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.platform import clock, config, db as database
from workflows.definitions import deployment, spiff
from workflows.cases import engine
from workflows.accounts import people  # noqa: E402
from workflows.platform.models import Alert, HumanTask, Case  # noqa: E402
from workflows.definitions.pack import load_pack  # noqa: E402
from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

RISK = {"risk_source": "Police", "risk_nature": "physical_harm", "evidence": "Log", "likelihood": "medium",
        "impact": "high", "decision_reason": "Risk", "assessment_method": "Interview", "place_marker": "yes",
        "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs", "inform_tenant": "yes"}
KEEP = {"support_in_place": "Tenancy sustainment officer visits", "staff_information": "No change", "risk_reduced": "no", "measures_proportionate": "yes",
        "review_outcome": "keep", "review_reason": "Risk unchanged", "inform_tenant": "yes"}
START = clock.parse_moment("2026-01-05T09:00")


def prepare(url):
    os.environ["DATABASE_URL"] = url
    command.upgrade(Config(str(config.PROJECT_ROOT / "alembic.ini")), "head")
    pack = load_pack("derby")
    with clock.frozen_at(START), database.transaction() as db:
        deployment.install_pack(db, pack=pack, installed_by="bench")
        people.add_user(db, pack=pack, username="helen", full_name="Helen", roles=["head_of_service"])
        people.add_user(db, pack=pack, username="tina", full_name="Tina", roles=["asb_team"])
        people.add_user(db, pack=pack, username="sam", full_name="Sam", roles=["staff"])
    return pack


SQL = {"timed": False, "count": 0, "seconds": 0.0}  # statements sent, and time spent in them, by timed steps


def watch_statements(url):
    """Count the timed steps' statements and the time each spends in the driver (sending it,
    the database running it, reading the result): the part of a step a faster database or
    fewer round trips could save. Pool pings and COMMIT are not statements and count as the rest."""
    engine = database.engine_for(url)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, *_args):
        conn.info["sent_at"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, *_args):
        if SQL["timed"]:
            SQL["count"] += 1
            SQL["seconds"] += time.perf_counter() - conn.info["sent_at"]


def complete_open_task(pack, alert_id, who, values):
    """One durable step, timed from the start of the transaction to its commit: (seconds in all,
    seconds inside SQL statements, CPU seconds of this process)."""
    with database.transaction() as db:
        task_id = db.scalar(select(HumanTask.id).join(Case).where(
            Case.alert_id == alert_id, HumanTask.status == "ready"))
    SQL["timed"], SQL["seconds"] = True, 0.0
    started, cpu = time.perf_counter(), time.process_time()
    with database.transaction() as db:
        engine.complete_task(db, pack=pack, actor=engine.actor_for(db, pack, who), task_id=task_id, values=values)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    SQL["timed"] = False
    return elapsed, SQL["seconds"], cpu


# --parts: CPU seconds of this process in each part of the timed steps, by wrapping the functions
# that do them; service-task actions flush and query too, so their figure holds some of the flushes'
PARTS = {}
PART_FUNCTIONS = {"restore the saved workflow (SpiffWorkflow's deserializer)": (spiff, "load_state"),
                  "save the workflow (its serializer)": (spiff, "dump_state"),
                  "lock and load the case and step": (engine, "_lock_for_task"),
                  "service-task actions (with their statements and flushes)": (engine._Step, "_run_action"),
                  "project the open steps onto human_task": (engine._Step, "_project_human_tasks"),
                  "ORM flushes (the unit of work and its statements)": (Session, "flush")}


def watch_parts():
    for label, (owner, name) in PART_FUNCTIONS.items():
        original = getattr(owner, name)

        def timed(*args, _original=original, _label=label, **kwargs):
            if not SQL["timed"]:
                return _original(*args, **kwargs)
            cpu = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                PARTS[_label] = PARTS.get(_label, 0.0) + time.process_time() - cpu
        setattr(owner, name, timed)


def place_markers(pack, count, prefix):
    alert_ids = []
    with clock.frozen_at(START):
        for n in range(count):
            with database.transaction() as db:
                people.add_customer(db, reference=f"{prefix}{n}", name=f"Customer {prefix}{n}")
                case = engine.report_concern(db, pack=pack, actor=engine.actor_for(db, pack, "sam"),
                                             customer_ref=f"{prefix}{n}", category="near_miss", description="x")
                alert_ids.append(case.alert_id)
            complete_open_task(pack, alert_ids[-1], "helen", RISK)
            complete_open_task(pack, alert_ids[-1], "tina", {"housing_system_reference": "RT"})
    return alert_ids


INCIDENT_EVERY = 4  # a linked incident on each marker before every 4th review, bringing it forward a month


def link_incident(pack, alert_id, due):
    """A new concern linked to the marker (untimed), assessed by the Head of Service, who brings the
    review forward a month: the marker's linked incidents grow with its reviews."""
    with clock.frozen_at(due - timedelta(days=90)):
        with database.transaction() as db:
            alert = db.get(Alert, alert_id)
            engine.report_concern(db, pack=pack, actor=engine.actor_for(db, pack, "sam"),
                                  customer_ref=alert.customer.reference, category="near_miss",
                                  description="Another near miss", link_to=alert_id)
        with database.transaction() as db:  # not timed: the figures are the review steps'
            task_id = db.scalar(select(HumanTask.id).join(Case).where(
                Case.alert_id == alert_id, Case.kind == "incident", HumanTask.status == "ready"))
            engine.complete_task(db, pack=pack, actor=engine.actor_for(db, pack, "helen"), task_id=task_id, values={
                "incident_conduct": "Raised voice at the door", "incident_outcome": "sooner",
                "review_by": (due - timedelta(days=30)).date().isoformat()})


def review_rounds(pack, alert_ids, reviews, incidents=True):
    """Each marker's reviews in turn: fire its timer (untimed), then time completing the review."""
    per_review = {k: [] for k in range(1, reviews + 1)}
    for k in range(1, reviews + 1):
        for alert_id in alert_ids:
            if incidents and k % INCIDENT_EVERY == 0:
                with database.transaction() as db:
                    link_incident(pack, alert_id, clock.as_utc(db.get(Alert, alert_id).next_review_at))
            with database.transaction() as db:
                due = clock.as_utc(db.get(Alert, alert_id).next_review_at)
            with clock.frozen_at(due + timedelta(minutes=1)):
                with database.transaction() as db:
                    case_id = db.scalar(select(Case.id).where(Case.alert_id == alert_id, Case.status == "running"))
                    engine.advance_timers(db, pack=pack, case_id=case_id)
                per_review[k].append(complete_open_task(pack, alert_id, "helen", KEEP))
    return per_review


def durable(url, markers, reviews):
    """Per review number, the steps' (total, in SQL) times; and the SQL statements per reviewing step."""
    pack = prepare(url)
    watch_statements(url)
    review_rounds(pack, place_markers(pack, 5, "W"), 4)  # warm the caches (statements, specs) first
    alert_ids = place_markers(pack, markers, "B")
    SQL["count"] = 0
    PARTS.clear()
    per_review = review_rounds(pack, alert_ids, reviews)
    parts = {label: seconds / (markers * reviews) for label, seconds in PARTS.items()}
    return per_review, SQL["count"] / (markers * reviews), parts


def raw(samples):
    """The same review step on SpiffWorkflow alone, in memory, with the register actions left out."""
    pack = load_pack("derby")
    content = (pack.directory / "derby_review.bpmn").read_bytes()
    specs, subprocess_specs = spiff.parse_processes(spiff.safe_xml(content), "derby_review.bpmn")
    spec = specs["derby_review"]
    data = {"alert_id": 1, "category": "near_miss", "restriction": None, "review_no": 1}

    def start():
        wf = spiff.new_workflow(spec, subprocess_specs, engine_)
        for task in wf.get_tasks(state=TaskState.READY):
            task.data.update(data)
        wf.do_engine_steps()
        return wf

    def run_action(task):
        if task.task_spec.action == "schedule_review":
            start()  # continue-as-new: the next period's instance, in memory

    engine_ = spiff.ScriptEngine(run_action=run_action)
    timings = []
    for _ in range(samples):
        with clock.frozen_at(START):
            wf = start()
        with clock.frozen_at(START + timedelta(days=200)):
            wf.refresh_timers()
            wf.do_engine_steps()
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            started, cpu = time.perf_counter(), time.process_time()
            task.data.update({**KEEP, "risk_reduced": False, "measures_proportionate": False, "inform_tenant": True})
            task.run()
            wf.do_engine_steps()
            timings.append((time.perf_counter() - started, time.process_time() - cpu))
    return timings


def ms(seconds):
    return f"{seconds * 1000:7.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markers", type=int, default=20)
    parser.add_argument("--reviews", type=int, default=40)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--parts", action="store_true",
                        help="also the CPU time of each part of a step (restore, actions, flushes, save...)")
    args = parser.parse_args()
    if args.parts:
        watch_parts()

    raw_both = raw(200)
    raw_times = [wall for wall, _ in raw_both]
    raw_cpu = statistics.median(cpu for _, cpu in raw_both)
    print(f"raw in-memory SpiffWorkflow step (review task + engine):   median {ms(statistics.median(raw_times))} "
          f"(CPU {ms(raw_cpu)})")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = durable(f"sqlite:///{tmp}/bench.db", args.markers, args.reviews)
    bench_db = f"alertflow_bench_step_{os.getpid()}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {bench_db}")
    try:
        url = args.postgres.rsplit("/", 1)[0] + f"/{bench_db}"
        results["PostgreSQL"] = durable(url.replace("postgresql://", "postgresql+psycopg://", 1),
                                        args.markers, args.reviews)
    finally:
        database.engine_for(os.environ["DATABASE_URL"]).dispose()
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {bench_db} WITH (FORCE)")

    raw_median = statistics.median(raw_times)
    last = args.reviews
    print(f"durable step: complete a review and commit, median over {args.markers} markers")
    for name, (per_review, statements, parts) in results.items():
        first, later = (statistics.median(total for total, *_ in per_review[k]) for k in (1, last))
        print(f"  {name:10}  1st review {ms(first)}   {last}th review {ms(later)}   "
              f"{last}th/1st {later / first:4.2f}x   durable/raw {first / raw_median:5.1f}x   "
              f"{statements:.0f} SQL statements per step")
        if last >= 10:  # five reviews a side: five times the samples, so machine noise moves it less
            early = statistics.median(total for k in range(1, 6) for total, *_ in per_review[k])
            late = statistics.median(total for k in range(last - 4, last + 1) for total, *_ in per_review[k])
            print(f"  {'':10}  reviews 1-5 {ms(early)}   reviews {last - 4}-{last} {ms(late)}   "
                  f"{late / early:4.2f}x")
            # the step's own work, without the time its statements wait on the database: on a machine
            # shared with other load, the part a busy database server does not blur
            early = statistics.median(total - sql for k in range(1, 6) for total, sql, _ in per_review[k])
            late = statistics.median(total - sql for k in range(last - 4, last + 1) for total, sql, _ in per_review[k])
            print(f"  {'':10}  outside SQL: reviews 1-5 {ms(early)}   reviews {last - 4}-{last} {ms(late)}   "
                  f"{late / early:4.2f}x")
        steps = [step for k in per_review for step in per_review[k]]
        in_sql = statistics.median(sql for _, sql, _ in steps)
        rest = statistics.median(total - sql for total, sql, _ in steps)
        print(f"  {'':10}  every review: inside SQL statements {ms(in_sql)}, the rest {ms(rest)} "
              f"({rest / raw_median:.1f}x the raw step)")
        # CPU seconds of this process alone: what the step's own Python costs, which other programs
        # on a shared machine do not stretch (the database server's work is not in it)
        cpu = statistics.median(cpu for *_, cpu in steps)
        print(f"  {'':10}  every review: CPU time in this process {ms(cpu)} ({cpu / raw_cpu:.1f}x the raw step's CPU time)")
        for label, seconds in sorted(parts.items(), key=lambda part: -part[1]):
            print(f"  {'':10}    of which {label}: {ms(seconds)} a step (mean)")
    print("targets: 40th review within 1.2x of the first; durable step on PostgreSQL under 4x the raw step")


if __name__ == "__main__":
    main()

"""A big landlord's register, seeded realistically and fast, for every benchmark to share.

Real workflow states: the pack's demo cases (demo.toml) are first played through the engine as
people would (reported, assessed, placed, told or not, appealed, reviewed and kept or removed),
and every row they left (alert, cases with their SpiffWorkflow states, steps and who was kept
off them, letters, reasons for not telling, filed assessments, notes, audit events) is the
template for the copies. Each copy gets fresh ids and task ids, its own customer, people of
the step's role (several users per role), and a history moved back over up to ten years (older
markers carry a completed review case for each year they have been on); work still open is
recent. 2% of the copies are restricted, across every category. The audit events are chained
as the engine chains them (`alertflow audit verify` passes), and the projections the engine
keeps (the deciding case, whether the tenant was told, the open steps' tally) are as the steps left them.

Rows go in with SQLAlchemy Core in batches (the models' tables: the schema has one definition).

    python benchmarks/seed.py --alerts 10000 [--database URL]     # default: a new PostgreSQL alertflow_bench
    python benchmarks/seed.py --alerts 100000 --database sqlite:////tmp/big.db

As a library: `seed(url, alerts)` migrates an empty database at `url` and fills it.
"""
import argparse
import json
import os
import random
import re
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "bench password"
USERS_PER_ROLE = 10
BATCH = 5000
YEARS = 10
HISTORY_EVERY_YEARS = 3  # one completed review case copied in for each such period of a marker's age
RESTRICTED_SHARE = 0.02
TOLD_SHARE = 0.97  # of the letters telling of a decision, those recorded as delivered
OPEN_WORK_DAYS = 30  # a copy of a case still open was reported within this many days (about half its steps overdue)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ALERT_ID = re.compile(r'("alert_id": )\d+')
FIRST = ["John", "Mary", "Peter", "Susan", "Gary", "Lisa", "Dean", "Karen", "Paul", "Sharon", "Mark", "Jean",
         "David", "Helen", "Ian", "Julie", "Kevin", "Anne", "Neil", "Sarah"]
LAST = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Johnson", "Roberts", "Walker",
        "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Lewis",
        "Martin", "Jackson", "Clarke", "Turner", "Hill", "Scott", "Cooper", "Morris", "Ward", "Moore", "King",
        "Watson", "Baker", "Patel", "Young", "Allen", "Mitchell", "James", "Anderson", "Lee", "Bell", "Mellor"]
STREETS = ["Normanton Road", "Osmaston Park Road", "Stockbrook Street", "Mansfield Road", "Sinfin Lane",
           "Austin Square", "Chester Green Road", "Shaftesbury Crescent"]
# how often each kind of template is copied: most markers are on and waiting for their review
WEIGHTS = {"waiting": 50, "removed": 15, "not_placed": 15, "open_assessment": 4, "housing_step": 3,
           "review_due": 5, "appeal": 3, "other": 5}


def username(role: str, n: int) -> str:
    return f"{role.replace('_', '.')}.{n}"


# --- the templates: real cases, played once -------------------------------------------------

def _play_templates(pack):
    """The demo's cases, then one more review kept and one removing its marker, so the copies
    carry completed reviews and removed markers too."""
    from sqlalchemy import select
    from workflows import demo
    from workflows.cases import engine
    from workflows.platform import clock
    from workflows.platform.db import transaction
    from workflows.platform.models import Alert, Case, HumanTask, OPEN_TASK

    with transaction() as db:
        demo.load(db, pack=pack)
    keep = {"support_in_place": "Tenancy sustainment officer visits", "risk_reduced": "no",
            "staff_information": "Two incidents reported by the repairs team", "measures_proportionate": "yes",
            "review_outcome": "keep", "review_reason": "Risk unchanged", "inform_tenant": "yes"}
    def step(find, values, who=None):
        with transaction() as db:
            task = db.scalar(find.order_by(HumanTask.id))
            if task is None:
                return None
            with clock.frozen_at(clock.now() + timedelta(hours=1)):
                try:
                    engine.complete_task(db, pack=pack, actor=engine.actor_for(db, pack, who or demo.demo_username(task.role)),
                                         task_id=task.id, values=values)
                except Exception as err:  # a pack whose forms ask otherwise: its demo cases still serve
                    print(f"  (a template step could not be completed: {err})")
                    db.rollback()
                    return None
            return task.case.alert_id

    open_step = (select(HumanTask).join(Case).join(Alert)
                 .where(HumanTask.kind == "step", HumanTask.status.in_(OPEN_TASK), Alert.restriction.is_(None)))
    for _ in range(3):  # the housing system kept in step with the markers decided
        step(select(HumanTask).join(Case).join(Alert).where(HumanTask.kind == "housing_system",
                                                             HumanTask.status.in_(OPEN_TASK), Alert.restriction.is_(None)),
             {"housing_system_reference": "RT-1"})
    kept = step(open_step.where(Case.kind == "review"), keep)  # a review kept: a completed review case
    step(open_step.where(Case.kind == "appeal"), {"appeal_outcome": "remove", "appeal_reasons": "Now stable"})
    if kept:  # ... and an appeal against that review, still to be heard
        with transaction() as db:
            try:
                engine.start_appeal(db, pack=pack, actor=engine.actor_for(db, pack, demo.demo_username("staff")),
                                    alert_id=kept, grounds="He says he has changed")
            except Exception as err:
                print(f"  (an appeal could not be lodged for the templates: {err})")
                db.rollback()


def _rows(db, table, condition):
    from sqlalchemy import select
    return [dict(r._mapping) for r in db.execute(select(table).where(condition))]


def _capture(db, pack):
    """Every alert's rows, as a template, and the completed review cases (history for old copies)."""
    from sqlalchemy import or_
    from workflows.platform.models import (Alert, AuditEvent, Case, HumanTask, HumanTaskExclusion, Letter,
                                           NonDisclosure, Note, RiskAssessment, OPEN_TASK)
    t = {m: m.__table__ for m in (Alert, AuditEvent, Case, HumanTask, HumanTaskExclusion, Letter, NonDisclosure,
                                  Note, RiskAssessment)}
    templates, history = [], []
    for alert in _rows(db, t[Alert], t[Alert].c.id > 0):
        cases = _rows(db, t[Case], t[Case].c.alert_id == alert["id"])
        case_ids = [c["id"] for c in cases]
        tasks = _rows(db, t[HumanTask], t[HumanTask].c.case_id.in_(case_ids))
        bundle = {
            "alert": alert, "cases": cases, "tasks": tasks,
            "exclusions": _rows(db, t[HumanTaskExclusion], t[HumanTaskExclusion].c.task_id.in_([x["id"] for x in tasks])),
            "letters": _rows(db, t[Letter], t[Letter].c.alert_id == alert["id"]),
            "non_disclosures": _rows(db, t[NonDisclosure], t[NonDisclosure].c.alert_id == alert["id"]),
            "assessments": _rows(db, t[RiskAssessment], t[RiskAssessment].c.alert_id == alert["id"]),
            "notes": _rows(db, t[Note], t[Note].c.alert_id == alert["id"]),
            "events": sorted(_rows(db, t[AuditEvent], or_(t[AuditEvent].c.alert_id == alert["id"],
                                                          t[AuditEvent].c.case_id.in_(case_ids))),
                             key=lambda e: e["id"]),
        }
        open_steps = [x for x in tasks if x["status"] in OPEN_TASK]
        kinds = {c["kind"] for c in cases if c["status"] == "running"}
        if alert["status"] == "removed":
            bundle["kind"] = "removed"
        elif alert["status"] == "not_placed":
            bundle["kind"] = "not_placed"
        elif alert["status"] == "under_assessment":
            bundle["kind"] = "open_assessment"
        elif "appeal" in kinds:
            bundle["kind"] = "appeal"
        elif any(x["kind"] == "housing_system" for x in open_steps):
            bundle["kind"] = "housing_step"
        elif open_steps:
            bundle["kind"] = "review_due"
        elif alert["status"] == "active":
            bundle["kind"] = "waiting"
        else:
            bundle["kind"] = "other"
        bundle["open"] = bool(open_steps)
        templates.append(bundle)
        for case in cases:
            if case["kind"] == "review" and case["status"] == "completed":
                history.append({"case": case, "tasks": [x for x in tasks if x["case_id"] == case["id"]],
                                "events": [e for e in bundle["events"] if e["case_id"] == case["id"]]})
    return templates, history


# --- the copies -------------------------------------------------------------------------------

class RawJSON(str):
    """JSON already written (a template's state with its ids replaced): stored as it is."""


def _json_serializer(value) -> str:
    return str(value) if isinstance(value, RawJSON) else json.dumps(value)


class Ids:
    """The next id of each table, counted here so every row goes in with its id (no round trip)."""

    def __init__(self, db, tables):
        from sqlalchemy import func, select
        self.next = {t.name: (db.scalar(select(func.max(t.c.id))) or 0) + 1 for t in tables}

    def take(self, table) -> int:
        n = self.next[table]
        self.next[table] = n + 1
        return n


class Copier:
    def __init__(self, pack, templates, history, ids, now, rng):
        self.pack, self.templates, self.history, self.ids, self.now, self.rng = pack, templates, history, ids, now, rng
        by_kind = {}
        for t in templates:
            by_kind.setdefault(t["kind"], []).append(t)
        self.kinds = [k for k in WEIGHTS if k in by_kind]
        self.weights = [WEIGHTS[k] for k in self.kinds]
        self.by_kind = by_kind
        self.restrictions = list(pack.restrictions.values())
        self.uuid_counter = 0
        self.split_states = {}
        self.out = {name: [] for name in ("customer", "alert", "workflow_case", "human_task", "human_task_exclusion",
                                          "letter", "non_disclosure", "risk_assessment", "note", "audit_event")}

    def _uuid(self) -> str:
        self.uuid_counter += 1
        n = self.uuid_counter
        return f"{self.rng.getrandbits(32):08x}-{n >> 48 & 0xffff:04x}-4{n >> 36 & 0xfff:03x}-8{n >> 24 & 0xfff:03x}-{n & 0xffffff:06x}{self.rng.getrandbits(24):06x}"

    def _person(self, name):
        """A demo user (asb.manager) as one of the benchmark's users of that role (asb.manager.3)."""
        if not name or name == "system" or name[-1:].isdigit():
            return name
        return f"{name}.{self.rng.randrange(USERS_PER_ROLE)}"

    def _shift(self, row, delta):
        from workflows.platform.clock import as_utc
        for k, v in row.items():
            if hasattr(v, "tzinfo") and hasattr(v, "hour"):
                row[k] = as_utc(v) - delta

    def customer(self, n):
        cid = self.ids.take("customer")
        self.out["customer"].append(dict(
            id=cid, reference=f"B{cid}", name=f"{FIRST[n % 20]} {LAST[(n // 20) % len(LAST)]}",
            address=f"{n % 200 + 1} {STREETS[n % 8]}, Derby", postcode=f"DE{1 + n % 24} {n % 9}{chr(65 + n % 26)}{chr(65 + n // 26 % 26)}"))
        return cid

    def copy(self, customer_id):
        rng = self.rng
        t = rng.choice(self.by_kind[rng.choices(self.kinds, self.weights)[0]])
        days = rng.uniform(0, OPEN_WORK_DAYS) if t["open"] else rng.uniform(0, 365 * YEARS)
        delta = timedelta(days=days)
        alert_id = self.ids.take("alert")
        alert = dict(t["alert"], id=alert_id, customer_id=customer_id, about_customer_id=None)
        self._shift(alert, delta)
        for k in ("reported_by", "decided_by", "placed_by", "staff_involved"):
            alert[k] = self._person(alert.get(k))
        if self.restrictions and rng.random() < RESTRICTED_SHARE:
            rule = rng.choice(self.restrictions)
            alert["restriction"] = rule.key
            if alert.get("marker_text"):
                alert["marker_text"], alert["control_measures"] = rule.staff_instruction, list(rule.control_measures)
        else:  # a restricted template's copy is as often open as any other
            alert["restriction"] = None
        if alert.get("next_review_at") is not None:  # a review waits within the coming year (a few late)
            alert["next_review_at"] = self._within_year(alert["next_review_at"])
        case_ids, uuids = {}, {}
        for case in t["cases"]:
            case_ids[case["id"]] = self.ids.take("workflow_case")
        if t["alert"].get("decision_case_id") is not None:
            alert["decision_case_id"] = case_ids.get(t["alert"]["decision_case_id"])
        self.out["alert"].append(alert)
        for case in t["cases"]:
            self._case(case, case_ids[case["id"]], alert_id, delta, uuids)
        task_ids = {}
        for task in t["tasks"]:
            task_ids[task["id"]] = self._task(task, case_ids[task["case_id"]], alert, delta, uuids)
        for x in t["exclusions"]:
            self.out["human_task_exclusion"].append(dict(x, task_id=task_ids[x["task_id"]],
                                                         username=self._person(x["username"])))
        for name, table in (("letters", "letter"), ("non_disclosures", "non_disclosure"),
                            ("assessments", "risk_assessment"), ("notes", "note")):
            for row in t[name]:
                row = dict(row, id=self.ids.take(table), alert_id=alert_id)
                if "case_id" in row:
                    row["case_id"] = case_ids.get(row["case_id"])
                if "customer_id" in row:
                    row["customer_id"] = customer_id
                self._shift(row, delta)
                if table == "letter":
                    self._delivered(alert, row)
                self.out[table].append(row)
        events = [self._event(e, alert_id, case_ids, delta) for e in t["events"]]
        # an older marker has been reviewed: a completed review case for every three years it has been on
        if alert["status"] in ("active", "removed") and self.history:
            for period in range(int(days // (365 * HISTORY_EVERY_YEARS))):
                events += self._history(alert, delta - timedelta(days=365 * HISTORY_EVERY_YEARS * (period + 1)))
        for e in sorted(events, key=lambda e: e["at"]):
            e["id"] = self.ids.take("audit_event")
            self.out["audit_event"].append(e)
        return alert_id

    def _delivered(self, alert, letter):
        """Most letters that told the tenant of the latest decision were delivered (the demo records
        none): as the delivery step would, the tenant is then told."""
        if (letter["delivered_at"] is None and letter["case_id"] == alert.get("decision_case_id")
                and letter["template"] not in self.pack.notices() and self.rng.random() < TOLD_SHARE):
            letter["delivered_at"] = letter["issued_at"] + timedelta(days=2)
            letter["delivery_method"] = self.pack.delivery_methods[0]
            alert["tenant_told"] = "letter"

    def _within_year(self, moment):
        while moment < self.now - timedelta(days=30):
            moment += timedelta(days=365)
        return moment

    def _state(self, state, alert_id, uuids):
        """The template's state as JSON text with fresh task ids and this alert's id: split once
        per template at the ids, then joined per copy (no JSON parsed or written per copy)."""
        key = id(state)
        parts = self.split_states.get(key)
        if parts is None:
            text = ALERT_ID.sub(lambda m: f"{m.group(1)}\x00", json.dumps(state))
            parts = self.split_states[key] = (state, re.split(f"({UUID.pattern}|\x00)", text))
        out = []
        for i, part in enumerate(parts[1]):
            if i % 2 == 0:
                out.append(part)
            else:
                out.append(str(alert_id) if part == "\x00" else uuids.setdefault(part, self._uuid()))
        return RawJSON("".join(out))

    def _case(self, case, new_id, alert_id, delta, uuids):
        row = dict(case, id=new_id, alert_id=alert_id, workflow_state=self._state(case["workflow_state"], alert_id, uuids))
        self._shift(row, delta)
        if row.get("next_timer_at") is not None:
            row["next_timer_at"] = self._within_year(row["next_timer_at"])
        row["started_by"] = self._person(row["started_by"])
        self.out["workflow_case"].append(row)

    def _task(self, task, case_id, alert, delta, uuids):
        new_id = self.ids.take("human_task")
        row = dict(task, id=new_id, case_id=case_id, alert_id=alert["id"], restriction=alert["restriction"],
                   task_uuid=uuids.setdefault(task["task_uuid"], self._uuid()))
        self._shift(row, delta)
        row["completed_by"] = self._person(row.get("completed_by"))
        if row.get("assignee"):
            row["assignee"] = self._person(row["assignee"])
        self.out["human_task"].append(row)
        return new_id

    def _event(self, e, alert_id, case_ids, delta):
        row = dict(e, alert_id=alert_id if e["alert_id"] is not None else None,
                   case_id=case_ids.get(e["case_id"]) if e["case_id"] is not None else None,
                   actor=self._person(e["actor"]), seq=None, prev_hash=None, hash=None)
        self._shift(row, delta)
        return row

    def _history(self, alert, delta):
        h = self.rng.choice(self.history)
        case_id, uuids = self.ids.take("workflow_case"), {}
        self._case(h["case"], case_id, alert["id"], delta, uuids)
        for task in h["tasks"]:
            self._task(task, case_id, alert, delta, uuids)
        return [self._event(e, alert["id"], {h["case"]["id"]: case_id}, delta) for e in h["events"]]


def _flush(engine, copier, tables, head):
    from sqlalchemy import insert, update
    from workflows.platform.models import AuditChainHead
    events = copier.out["audit_event"]
    from workflows.compliance import audit
    seq, prev = head
    for e in events:  # hashed onto the chain in order, as the engine's commit hook does
        seq += 1
        e["seq"], e["prev_hash"] = seq, prev
        e["hash"] = prev = audit.event_hash(seq=seq, prev_hash=prev, at=e["at"], actor=e["actor"], action=e["action"],
                                            case_id=e["case_id"], alert_id=e["alert_id"], detail=e["detail"])
    with engine.begin() as db:
        for name in ("customer", "alert", "workflow_case", "human_task", "human_task_exclusion", "letter",
                     "non_disclosure", "risk_assessment", "note", "audit_event"):
            rows = copier.out[name]
            if rows:
                db.execute(insert(tables[name]), rows)
                rows.clear()
        db.execute(update(AuditChainHead.__table__).where(AuditChainHead.__table__.c.id == 1).values(seq=seq, hash=prev))
    return seq, prev


def seed(url: str, alerts: int, *, pack_key: str = "derby", rng_seed: int = 20, quiet: bool = False) -> dict:
    """Migrate the empty database at `url` and fill it with `alerts` alerts (and their cases,
    steps, letters and audit events), the templates' included. Returns the row counts."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import func, select, text
    from workflows.accounts import credentials, people
    from workflows.definitions.pack import load_pack
    from workflows.platform import clock, config
    from workflows.platform.db import engine_for, transaction
    from workflows.platform.models import AuditChainHead, Base

    os.environ["DATABASE_URL"] = url
    command.upgrade(Config(str(config.PROJECT_ROOT / "alembic.ini")), "head")
    pack = load_pack(pack_key)
    started = time.perf_counter()
    _play_templates(pack)
    with transaction() as db:
        for role in pack.roles:
            for n in range(USERS_PER_ROLE):
                people.add_user(db, pack=pack, username=username(role, n), full_name=f"{pack.roles[role].name} {n}",
                                roles=[role])
            credentials.set_password(db, username=username(role, 0), password=PASSWORD, by="bench")
    with transaction() as db:
        templates, history = _capture(db, pack)
    if not quiet:
        print(f"templates: {len(templates)} alerts played through the engine "
              f"({', '.join(sorted({t['kind'] for t in templates}))}), {len(history)} completed review(s), "
              f"in {time.perf_counter() - started:.0f} s")
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    rng = random.Random(rng_seed)
    with transaction() as db:
        head = tuple(db.execute(select(AuditChainHead.seq, AuditChainHead.hash)).one())
        ids = Ids(db, [tables[n] for n in ("customer", "alert", "workflow_case", "human_task", "letter",
                                           "non_disclosure", "risk_assessment", "note", "audit_event")])
    copier = Copier(pack, templates, history, ids, clock.now(), rng)
    from sqlalchemy import create_engine
    bulk = create_engine(config.database_url(), json_serializer=_json_serializer)  # the models' tables, JSON as written
    customers = []
    made = len(templates)
    copying = time.perf_counter()
    while made < alerts:
        n = min(BATCH // 5, alerts - made)
        for i in range(n):
            # several markers on some customers: about 0.6 customers an alert
            if not customers or rng.random() < 0.6:
                customers.append(copier.customer(made + i))
            copier.copy(customers[-1] if rng.random() < 0.7 else rng.choice(customers))
        head = _flush(bulk, copier, tables, head)
        made += n
        if not quiet and made % 20000 < BATCH // 5:
            print(f"  {made:,} alerts ({time.perf_counter() - copying:.0f} s)")
    with transaction() as db:  # the copies' steps went in with Core: the open steps' tally counted from them
        from workflows.tasks import open_step_tally
        open_step_tally.rebuild(db)
    engine = engine_for(config.database_url())
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for name in ("customer", "alert", "workflow_case", "human_task", "letter", "non_disclosure",
                         "risk_assessment", "note", "audit_event"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {name}))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with transaction() as db:
        counts = {name: db.scalar(select(func.count()).select_from(tables[name])) for name in
                  ("alert", "customer", "workflow_case", "human_task", "audit_event", "letter")}
        counts["restricted alerts"] = db.scalar(select(func.count()).select_from(tables["alert"])
                                                .where(tables["alert"].c.restriction.is_not(None)))
    if not quiet:
        print(f"seeded in {time.perf_counter() - started:.0f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    return counts


def new_postgres_database(server: str, name: str) -> str:
    import psycopg
    from urllib.parse import urlsplit, urlunsplit
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}")).replace("postgresql://", "postgresql+psycopg://", 1)
    # a benchmark measuring two sizes in one run reuses the name: the pool of the first size's
    # database holds connections the drop has killed, which would fail the next size's first statements
    from workflows.platform.db import engine_for
    engine_for(url).dispose()
    return url


def drop_postgres_database(server: str, name: str) -> None:
    import psycopg
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--database", help="an empty database to fill (default: a new alertflow_bench on --server)")
    parser.add_argument("--server", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    url = args.database or new_postgres_database(args.server, "alertflow_bench")
    seed(url, args.alerts)
    print(f"DATABASE_URL={url}")


if __name__ == "__main__":
    main()

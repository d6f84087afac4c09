"""Server time of the inbox and check-before-visiting pages on a large PostgreSQL register.

Creates its own database (alertflow_bench), seeds 100,000 properties (60,000 customers living in
them, 10,000 with an earlier tenancy elsewhere), 100,000 alerts, 1,000,000 completed and
20,000 open human tasks (some on restricted records, some claimed, a share overdue), then
requests the pages in-process through the real Flask app (the inbox also with its filters,
search, sorting and a deep page; the team view; the register list paged and filtered) (sign-in, role checks, queries,
templates: everything but the network) and prints the median and p95. Drops the database at
the end unless --keep.

With --seeder seed, each size of --alerts (10,000 and 100,000 by default) is seeded instead by
benchmarks/seed.py, the realistic seeder every benchmark shares (real captured workflow states,
several cases per alert, steps over every role, 2% restricted, history over ten years; its
customers have no address on record, so the checks by street and postcode find no one), and the
same pages are timed on each.

With --url, the pages are timed on a database that exists already (a copy of one seed.py made, say
`createdb -T seed100k mine`), seeding and dropping nothing; --per-url adds each URL's median and
p95 under its line (a line's p95 is mostly its slowest URL's).

    python benchmarks/inbox.py [--server postgresql://postgres@127.0.0.1:5432/test] [--requests 200]
    python benchmarks/inbox.py --seeder seed [--alerts 10000 100000]
    python benchmarks/inbox.py --url postgresql://postgres@127.0.0.1:5432/mine [--per-url]
"""
import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DB_NAME = "alertflow_bench"
PASSWORD = "bench password"
ALERTS, COMPLETED, OPEN, CUSTOMERS, PROPERTIES, MOVED = 100_000, 1_000_000, 20_000, 60_000, 100_000, 10_000
# who the open steps wait for (per cent) and how many users hold each role
OPEN_ROLES = {"asb_manager": 30, "complex_needs_manager": 20, "head_of_service": 20, "asb_team": 20,
              "head_of_housing_management": 5, "investigating_officer": 5}
USERS_PER_ROLE = 10

SEED = f"""
INSERT INTO customer (id, reference, name)
SELECT i, 'B' || i,
       (ARRAY['John','Mary','Peter','Susan','Gary','Lisa','Dean','Karen','Paul','Sharon','Mark','Jean',
              'David','Helen','Ian','Julie','Kevin','Anne','Neil','Sarah'])[1 + i % 20] || ' ' ||
       (ARRAY['Smith','Jones','Brown','Taylor','Wilson','Davies','Evans','Thomas','Johnson','Roberts',
              'Walker','Wright','Robinson','Thompson','White','Hughes','Edwards','Green','Hall','Wood',
              'Harris','Lewis','Martin','Jackson','Clarke','Clark','Turner','Hill','Scott','Cooper',
              'Morris','Ward','Moore','King','Watson','Baker','Harrison','Morgan','Patel','Young',
              'Allen','Mitchell','James','Anderson','Phillips','Lee','Bell','Parker','Davis','Mellor'])[1 + (i / 20) % 50]
FROM generate_series(1, {CUSTOMERS}) AS i;

INSERT INTO property (id, reference, address, postcode, uprn)
SELECT i, 'P' || i, (i % 200 + 1) || ' ' || (ARRAY['Normanton Road','Osmaston Park Road','Stockbrook Street','Mansfield Road',
              'Sinfin Lane','Austin Square','Chester Green Road','Shaftesbury Crescent'])[1 + i % 8] || ', Derby',
       'DE' || (1 + i % 24) || ' ' || (i % 9) || chr(65 + i % 26) || chr(65 + (i / 26) % 26),
       (100000000000 + i)::text
FROM generate_series(1, {PROPERTIES}) AS i;

-- customer i lives at property i (since before records began); the first MOVED moved there a
-- year ago from a property no one lives in now
INSERT INTO tenancy (customer_id, property_id, reference, started_at, ended_at)
SELECT i, i, 'T' || i, CASE WHEN i <= {MOVED} THEN now() - interval '365 days' END, NULL
FROM generate_series(1, {CUSTOMERS}) AS i;
INSERT INTO tenancy (customer_id, property_id, reference, started_at, ended_at)
SELECT i, {CUSTOMERS} + i, 'T0' || i, now() - interval '3000 days', now() - interval '365 days'
FROM generate_series(1, {MOVED}) AS i;


INSERT INTO alert (id, customer_id, category, status, restriction, marker_text, control_measures,
                   reported_by, reported_at, decided_by, decided_role, decided_at, decision_no,
                   placed_at, review_count, next_review_at)
SELECT i, 1 + i % {CUSTOMERS},
       (ARRAY['rpo','partner_info','mental_health','complaints','near_miss'])[1 + i % 5],
       CASE WHEN i % 10 < 7 THEN 'active' WHEN i % 10 = 7 THEN 'removed'
            WHEN i % 10 = 8 THEN 'not_placed' ELSE 'under_assessment' END,
       CASE WHEN i % 50 = 0 THEN 'scheduled_offender' END,
       'Visit in pairs', '["Visit in pairs"]'::json,
       'staff.0', now() - (i % 900) * interval '1 day', 'asb.manager.0', 'asb_manager',
       now() - (i % 900) * interval '1 day', 1 + i % 5,
       now() - (i % 900) * interval '1 day', i % 10, now() + (i % 180) * interval '1 day'
FROM generate_series(1, {ALERTS}) AS i;

INSERT INTO workflow_case (id, alert_id, definition_id, kind, status, workflow_state, started_by,
                           created_at, updated_at, lock_version)
SELECT i, i, DEFINITION_ID, 'review', CASE WHEN i <= {OPEN} THEN 'running' ELSE 'completed' END,
       '{{}}'::json, 'system', now() - (i % 900) * interval '1 day', now(), 1
FROM generate_series(1, {ALERTS}) AS i;

-- 1,000,000 completed steps: ten per case
INSERT INTO human_task (case_id, alert_id, task_uuid, bpmn_id, title, role, assignee, status, due_at, created_at,
                        completed_at, completed_by, form_data)
SELECT 1 + i % {ALERTS}, 1 + i % {ALERTS}, md5('done' || i)::uuid::text, 'review', 'Review the marker', 'asb_manager',
       NULL, 'completed', now() - (i % 900) * interval '1 day', now() - (i % 900) * interval '1 day',
       now() - (i % 900) * interval '1 day', 'asb.manager.' || (i % {USERS_PER_ROLE}), '{{"review_outcome": "keep"}}'::json
FROM generate_series(1, {COMPLETED}) AS i;
"""


def postcode(i: int) -> str:
    """Property i's postcode, as SEED makes it."""
    return f"DE{1 + i % 24} {i % 9}{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}"


def open_tasks_sql():
    """20,000 open steps on the running cases, shared among the roles; a quarter claimed."""
    bounds, start = [], 0
    for role, share in OPEN_ROLES.items():
        end = start + OPEN * share // 100
        bounds.append(f"WHEN i <= {end} THEN '{role}'")
        start = end
    role = f"CASE {' '.join(bounds)} ELSE 'asb_manager' END"
    return f"""
INSERT INTO human_task (case_id, alert_id, task_uuid, bpmn_id, title, role, assignee, status, due_at, created_at)
SELECT i, i, md5('open' || i)::uuid::text, 'review', 'Review the marker', r.role,
       CASE WHEN i % 4 = 0 THEN replace(r.role, '_', '.') || '.' || (i % {USERS_PER_ROLE}) END,
       CASE WHEN i % 4 = 0 THEN 'claimed' ELSE 'ready' END,
       now() + ((i % 90) - 30) * interval '1 day', now() - interval '10 days'
FROM generate_series(1, {OPEN}) AS i, LATERAL (SELECT {role} AS role) AS r;
"""


# every step keeps its reporter off it; one in fifty open steps also the benchmarked manager
# (as the staff involved), so the inbox's NOT EXISTS filters real rows; each step carries its
# alert's restriction, as the engine keeps it
EXCLUSIONS_SQL = """
INSERT INTO human_task_exclusion (task_id, username, reason)
SELECT id, 'staff.0', 'reported_by' FROM human_task;
INSERT INTO human_task_exclusion (task_id, username, reason)
SELECT id, 'asb.manager.0', 'staff_involved' FROM human_task WHERE id % 50 = 0 AND status = 'ready';
UPDATE human_task SET restriction = alert.restriction FROM alert
WHERE alert.id = human_task.alert_id AND alert.restriction IS NOT NULL
"""


def create_database(server):
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return urlunsplit(urlsplit(server)._replace(path=f"/{DB_NAME}"))


def drop_database(server):
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def seed(url):
    from alembic import command
    from alembic.config import Config
    from workflows.accounts import credentials, people
    from workflows.platform import config
    from workflows.definitions import deployment
    from workflows.platform.db import transaction
    from workflows.definitions.pack import load_pack

    os.environ["DATABASE_URL"] = url
    command.upgrade(Config(str(config.PROJECT_ROOT / "alembic.ini")), "head")
    pack = load_pack("derby")
    with transaction() as db:
        deployed = deployment.install_pack(db, pack=pack, installed_by="bench")
        review = next(d.id for d in deployed if d.process_id == "derby_review")
        for role in pack.roles:
            for n in range(USERS_PER_ROLE):
                people.add_user(db, pack=pack, username=f"{role.replace('_', '.')}.{n}", full_name=f"{role} {n}",
                                roles=[role])
        for username in ("asb.manager.0", "head.of.service.0", "staff.0"):
            credentials.set_password(db, username=username, password=PASSWORD, by="bench")
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        for statement in ([s for s in SEED.split(";\n") if s.strip()] + [open_tasks_sql()]
                          + EXCLUSIONS_SQL.strip().split(";\n")):
            conn.execute(statement.replace("DEFINITION_ID", str(int(review))))
        for table in ("customer", "property", "tenancy", "alert", "workflow_case", "human_task"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        with transaction() as db:  # the steps went in as SQL: the open steps' tally counted from them
            from workflows.tasks import open_step_tally
            open_step_tally.rebuild(db)
        conn.execute("VACUUM ANALYZE")
        counts = {t: conn.execute(q).fetchone()[0] for t, q in {
            "alerts": "SELECT count(*) FROM alert",
            "completed tasks": "SELECT count(*) FROM human_task WHERE status = 'completed'",
            "open tasks": "SELECT count(*) FROM human_task WHERE status IN ('ready', 'claimed')",
            "customers": "SELECT count(*) FROM customer",
            "properties": "SELECT count(*) FROM property",
            "tenancies": "SELECT count(*) FROM tenancy"}.items()}
    print(f"seeded in {time.perf_counter() - started:.0f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))


def signed_in_client(app, username):
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/sign-in", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


PER_URL = False  # --per-url: each URL's figures under its line's


def timed(client, urls, requests):
    """Milliseconds per request, cycling through the URLs, after a warm-up round (with --per-url,
    the times by URL too, as the list's `by_url`)."""
    for url in urls * 3:
        client.get(url)
    times = Times()
    for n in range(requests):
        url = urls[n % len(urls)]
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        times.by_url.setdefault(url, []).append(times[-1])
        assert response.status_code == 200, (url, response.status_code)
    return times


class Times(list):
    def __init__(self):
        super().__init__()
        self.by_url = {}


def report(name, times):
    p95 = statistics.quantiles(times, n=20)[18]
    print(f"{name:52} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   (n={len(times)})")
    if PER_URL and len(getattr(times, "by_url", {})) > 1:
        for url, own in times.by_url.items():
            own_p95 = statistics.quantiles(own, n=20)[18] if len(own) > 1 else own[0]
            print(f"    {url:48} median {statistics.median(own):6.1f} ms   p95 {own_p95:6.1f} ms   (n={len(own)})")


# the inbox's pages with filters (benchmarks/inbox_plans.py reads the plans of the same)
FILTERED_MANAGER = ["/inbox?whose=roles&overdue=1", "/inbox?category=rpo&sort=age", "/inbox?q=Smith",
                    "/inbox?whose=roles&page=20", "/inbox?due_this_week=1"]
FILTERED_HEAD = ["/inbox?whose=roles&overdue=1", "/inbox?q=Smith", "/inbox?whose=roles&page=20"]
TEAM_HEAD = ["/inbox/team", "/inbox/team?overdue=1", "/inbox/team?page=40"]


def measure(requests, own_seed=True):
    """Time every page on the database DATABASE_URL names, as the seeded users (`own_seed`: seeded
    here, whose sizes the lines name)."""
    from webapp import create_app
    app = create_app({"TESTING": False})
    manager, head, staff = (signed_in_client(app, u) for u in ("asb.manager.0", "head.of.service.0", "staff.0"))
    report("inbox, ASB manager" + (" (6,000 open for the role)" if own_seed else ""), timed(manager, ["/inbox"], requests))
    report("inbox, Head of Service" + (" (4,000 open for the role)" if own_seed else ""), timed(head, ["/inbox"], requests))
    report("inbox with filters, ASB manager (overdue, category + age, search, page 20)",
           timed(manager, FILTERED_MANAGER, requests))
    report("inbox with filters, Head of Service", timed(head, FILTERED_HEAD, requests))
    report("team view, Head of Service (steps of the roles below)", timed(head, TEAM_HEAD, requests))
    report("register /alerts, Head of Service (page 1, search, newest p10, review before)",
           timed(head, ["/alerts", "/alerts?q=Smith", "/alerts?status=all&sort=newest&page=10",
                        "/alerts?review_before=2027-01-01&category=rpo"], requests))
    report("check before visiting (name, surname, ref, postcode, street)",
           timed(staff, ["/check?q=Mary+Mellor", "/check?q=Patel", "/check?q=B4242", "/check?q=DE23+5",
                         "/check?q=Sinfin+Lane"], requests))
    report(f"check before visiting by postcode ({PROPERTIES:,} properties)" if own_seed else
           "check before visiting by postcode (no addresses in seed.py: none found)",
           timed(staff, [f"/check?q={postcode(i).replace(' ', '+')}" for i in (7, 4242, 30_001, 65_000, 99_999)],
                 requests))


def main():
    global DB_NAME, PER_URL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="a PostgreSQL database to connect to while creating and dropping alertflow_bench")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the alertflow_bench database afterwards")
    parser.add_argument("--database", default="alertflow_bench",
                        help="the name of the database to create (another name when benchmarks run side by side)")
    parser.add_argument("--seeder", choices=("inbox", "seed"), default="inbox",
                        help="inbox: this file's own register (100,000 alerts); seed: benchmarks/seed.py at each --alerts")
    parser.add_argument("--alerts", type=int, nargs="+", default=[10_000, 100_000], help="with --seeder seed")
    parser.add_argument("--url", help="time the pages on this existing database (seed.py's, or a copy of it): "
                                      "nothing seeded, nothing dropped")
    parser.add_argument("--per-url", action="store_true", help="each URL's median and p95 too")
    args = parser.parse_args()
    DB_NAME, PER_URL = args.database, args.per_url
    if args.url:
        os.environ["DATABASE_URL"] = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
        with psycopg.connect(args.url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            alerts = conn.execute("SELECT count(*) FROM alert").fetchone()[0]
        print(f"{alerts:,} alerts (the database at {urlsplit(args.url).path.lstrip('/')}), {args.requests} requests a line")
        measure(args.requests, own_seed=False)
        return
    if args.seeder == "seed":
        from benchmarks import seed as realistic
        for n in args.alerts:
            url = realistic.new_postgres_database(args.server, DB_NAME)
            try:
                realistic.seed(url, n)
                print(f"{n:,} alerts (benchmarks/seed.py, PostgreSQL), {args.requests} requests a line")
                measure(args.requests, own_seed=False)
            finally:
                from workflows.platform.db import engine_for
                engine_for(url).dispose()
                if not args.keep:
                    drop_database(args.server)
        return
    url = create_database(args.server)
    try:
        seed(url)
        measure(args.requests)
    finally:
        if not args.keep:
            drop_database(args.server)


if __name__ == "__main__":
    main()

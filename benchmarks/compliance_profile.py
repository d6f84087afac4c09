"""Where the time of one /compliance request goes, on a database seeded by benchmarks/seed.py:
each SQL statement the request sends (its time as the app saw it, and PostgreSQL's own
EXPLAIN ANALYZE execution time with the rows it read), the Python time of oversight.dashboard
beside its SQL, and the template's time; as a Head of Service (not on the secure list) and a
Head of Housing Management (on it), so both sides of a restriction are measured.

    python benchmarks/compliance_profile.py --database URL [--as head.of.service.0 ...] [--requests 10]

Each figure is the median over --requests requests (after 3 unmeasured ones), so that a
single slow request on a shared machine moves it little; EXPLAIN ANALYZE runs each statement
once more, after the requests, with the parameters the request sent.
"""
import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.compliance import signed_in_client  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL database seeded by benchmarks/seed.py")
    parser.add_argument("--as", dest="who", nargs="+", default=["head.of.service.0", "head.of.housing.management.0"])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--sql", type=int, default=160, help="characters of each statement to print")
    parser.add_argument("--plan", type=int, nargs="*", default=[], metavar="N",
                        help="print statement N whole with its EXPLAIN ANALYZE plan")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database

    import flask
    from sqlalchemy import event, text
    from webapp import create_app

    app = create_app({"TESTING": False})
    statements: list = []
    timing = {"on": False}

    def before(conn, cursor, statement, parameters, context, executemany):
        context._profile_started = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        if timing["on"]:
            statements.append((statement, parameters, (time.perf_counter() - context._profile_started) * 1000))
    from sqlalchemy.engine import Engine
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)

    rendered = {"ms": 0.0}
    original_render = flask.render_template

    def timed_render(*a, **kw):
        started = time.perf_counter()
        out = original_render(*a, **kw)
        rendered["ms"] += (time.perf_counter() - started) * 1000
        return out
    import webapp.compliance as pages
    pages.render_template = timed_render

    for who in args.who:
        client = signed_in_client(app, who)
        for _ in range(3):
            assert client.get("/compliance").status_code == 200
        per_statement = defaultdict(list)
        walls, sqls, templates, cpus = [], [], [], []
        last = []
        for _ in range(args.requests):
            statements.clear()
            rendered["ms"] = 0.0
            timing["on"] = True
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get("/compliance")
            wall, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
            timing["on"] = False
            assert response.status_code == 200
            walls.append(wall)
            cpus.append(cpu)
            templates.append(rendered["ms"])
            sqls.append(sum(ms for *_, ms in statements))
            for i, (statement, parameters, ms) in enumerate(statements):
                per_statement[i].append(ms)
            last = list(statements)
        median = statistics.median
        print(f"\n/compliance as {who}: {len(last)} statements, {args.requests} requests, median of each")
        print(f"  wall {median(walls):7.1f} ms  (p95 {statistics.quantiles(walls, n=20)[18] if len(walls) > 1 else walls[0]:.1f})"
              f"   SQL as the app saw it {median(sqls):7.1f} ms   template {median(templates):6.1f} ms"
              f"   Python CPU {median(cpus):7.1f} ms")
        print(f"  {'#':>3} {'app ms':>8} {'exec ms':>8} {'rows':>7}  statement")
        with engine_connect(args.database) as conn:
            for i, (statement, parameters, _) in enumerate(last):
                exec_ms, rows = explain(conn, text, statement, parameters)
                one_line = " ".join(statement.split())
                print(f"  {i:>3} {median(per_statement[i]):8.2f} {exec_ms:>8} {rows:>7}  {one_line[:args.sql]}")
            for i in args.plan:
                statement, parameters, _ = last[i]
                print(f"\n--- statement {i}\n{statement}\n{parameters}")
                with conn.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    print("\n".join(r[0] for r in cur.fetchall()))


def engine_connect(url):
    import psycopg
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def explain(conn, text, statement, parameters):
    """PostgreSQL's execution time of the statement, and the rows its top node returned."""
    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
        return "-", "-"
    import json
    try:
        with conn.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            plan = cur.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
        return f"{plan[0]['Execution Time']:.2f}", str(plan[0]["Plan"].get("Actual Rows", "?"))
    except Exception as err:  # noqa: BLE001 - printed beside the statement
        return "err", str(err).splitlines()[0][:20]


if __name__ == "__main__":
    main()

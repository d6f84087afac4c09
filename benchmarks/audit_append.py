"""Audit events committed at once by the engine itself, on PostgreSQL: the chain's one head row
under real contention, through workflows/compliance/audit.py (not a model of it, as audit_head.py is).

`--processes` writers (separate processes: one Python process cannot commit in parallel) each
commit, for `--seconds`, transactions of `--events` audit events and one update of a row of their
own (a step's case), with the session and the hook a step uses. Prints commits a second and the
median and p95 time a commit takes, then verifies the chain (`alertflow audit verify`). `--before DIR` runs
the same writers with another checkout's code (PYTHONPATH=DIR) first, on a fresh database of its
own, so the code before a change and after it are measured back to back in one run.

    python benchmarks/audit_append.py [--processes 1,4,8] [--events 3] [--seconds 8]
                                      [--postgres URL] [--before /path/to/checkout]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sweep import drop_database  # noqa: E402


def writer(url: str, index: int, events: int, until: float) -> None:
    """One writer's loop (run in its own process by `main`): prints its commit times as JSON."""
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import text

    from workflows.compliance import audit
    from workflows.platform import db as database
    times = []
    while time.time() < until:
        started = time.perf_counter()
        with database.transaction() as db:
            db.execute(text("UPDATE bench_work SET v = v + 1 WHERE id = :id"), {"id": index})
            for n in range(events):
                audit.record(db, actor=f"writer{index}", action="task_completed", case_id=index, alert_id=index,
                             task="Review the marker", values={"review_outcome": "keep", "n": n})
        times.append(time.perf_counter() - started)
    print(json.dumps(times))


def run(code: Path, url: str, processes: int, events: int, seconds: float) -> tuple[int, list[float]]:
    until = time.time() + 2 + seconds  # every writer starts its loop before the clock starts counting
    env = {**os.environ, "PYTHONPATH": str(code), "DATABASE_URL": url}
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.audit_append import writer; "
              f"writer({url!r}, {{i}}, {events}, {until})")
    procs = [subprocess.Popen([sys.executable, "-c", script.format(i=i)], cwd=code, env=env,
                              stdout=subprocess.PIPE, text=True) for i in range(1, processes + 1)]
    times = [t for p in procs for t in json.loads(p.communicate()[0])]
    return len(times), times


def alertflow(code: Path, url: str, *args: str) -> str:
    """The command line of that checkout, on that database."""
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=code, capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(code), "DATABASE_URL": url}).stdout.strip()


def fresh_database(server: str, name: str, code: Path) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = urlsplit(server)._replace(path=f"/{name}").geturl().replace("postgresql://", "postgresql+psycopg://", 1)
    alertflow(code, url, "db", "upgrade")  # that checkout's migrations
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        conn.execute("CREATE TABLE bench_work (id int PRIMARY KEY, v bigint NOT NULL)")
        conn.execute("INSERT INTO bench_work SELECT g, 0 FROM generate_series(1, 64) g")
    return url


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,4,8")
    parser.add_argument("--events", type=int, default=3, help="audit events a transaction records")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--before", type=Path, help="another checkout, measured first on a database of its own")
    args = parser.parse_args()
    codes = ([("before", args.before.resolve())] if args.before else []) + [("this checkout", ROOT)]
    for label, code in codes:
        name = f"alertflow_bench_append_{os.getpid()}"
        url = fresh_database(args.postgres, name, code)
        try:
            print(f"{label} ({code}):")
            for processes in [int(p) for p in args.processes.split(",")]:
                load = os.getloadavg()[0]
                commits, times = run(code, url, processes, args.events, args.seconds)
                p95 = statistics.quantiles(times, n=20)[18] if len(times) > 1 else times[0]
                print(f"  {processes} writer(s): {commits / args.seconds:,.0f} commits a second, a commit "
                      f"median {statistics.median(times) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, load {load:.2f}",
                      flush=True)
            print(f"  {alertflow(code, url, 'audit', 'verify')}")
        finally:
            drop_database(args.postgres, name)


if __name__ == "__main__":
    main()

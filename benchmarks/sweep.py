"""The timer sweep on real Celery workers: N Derby review cases falling due at once.

For each number of worker processes (default 1 and 2), on a fresh PostgreSQL database and a
private redis-server: seed N markers whose reviews are due, move the shared clock past the
due date, start the workers (Celery, solo pool: one process each), send one sweep, and time
until every case has advanced (its timer fired, its review step created). Prints cases per
second and each worker's peak resident memory (VmHWM, read from /proc while it runs).

    python benchmarks/sweep.py [--cases 10000] [--workers 1,2] [--postgres URL]

Run it with `--cases 2000` as well to see whether a worker's memory grows with the number of
due cases (it should not: the sweep holds only case ids, each task loads one case).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def prepare_database(server, name):
    import psycopg
    from alembic import command
    from alembic.config import Config

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    os.environ["DATABASE_URL"] = url
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    return url


def drop_database(server, name):
    import psycopg
    from workflows.platform.db import get_engine
    get_engine().dispose()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(server, cases, workers, directory):
    from sqlalchemy import func, select

    from tests.workers.seed import AFTER, seed_due_reviews
    from workflows.platform import clock, db as database
    from workflows.definitions import deployment
    from workflows.accounts import people
    from workflows.platform.models import AuditEvent, Case
    from workflows.definitions.pack import load_pack

    name = f"alertflow_bench_sweep_{os.getpid()}"
    prepare_database(server, name)
    pack = load_pack("derby")
    with database.transaction() as db:
        deployment.install_pack(db, pack=pack, installed_by="bench")
        people.add_customer(db, reference="C1", name="John Smith")
    seeded = time.perf_counter()
    seed_due_reviews(pack, cases)
    print(f"  seeded {cases} due review cases in {time.perf_counter() - seeded:.1f}s", flush=True)

    clock_file = directory / "clock"
    clock.write_clock_file(clock_file, clock.parse_moment(AFTER))
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(directory)], stdout=subprocess.DEVNULL)
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", clock.CLOCK_FILE_ENV: str(clock_file),
           "ALERTFLOW_PACK": "derby"}
    os.environ.update(REDIS_URL=env["REDIS_URL"])
    procs, logs = [], []
    try:
        for i in range(workers):
            log = directory / f"w{i}.log"
            logs.append(log)
            procs.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "celery"), "-A", "workers", "worker", "--pool", "solo",
                 "--loglevel", "WARNING", "--hostname", f"bench{i}@%h", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT))
        time.sleep(4)  # let them connect (warm-up is not timed: the clock starts at the sweep)
        import workers as app_module
        peaks = [0] * workers

        def advanced():
            with database.transaction() as db:
                return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer_fired"))

        cpu_before = [cpu_seconds(proc.pid) for proc in procs]
        started = time.perf_counter()
        with app_module.app.connection_for_write(env["REDIS_URL"]) as connection:
            app_module.sweep.apply_async(kwargs={"if_idle": False}, connection=connection)
        done = 0
        while done < cases:
            time.sleep(0.5)
            peaks = [max(p, peak_kib(proc.pid)) for p, proc in zip(peaks, procs)]
            cpu = [cpu_seconds(proc.pid) - before for proc, before in zip(procs, cpu_before)]
            done = advanced()
            if any(proc.poll() is not None for proc in procs):
                raise SystemExit("a worker exited: see " + ", ".join(map(str, logs)))
        elapsed = time.perf_counter() - started
        with database.transaction() as db:
            still_due = db.scalar(select(func.count()).select_from(Case).where(
                Case.status == "running", Case.next_timer_at < clock.parse_moment(AFTER)))
            errors = db.scalar(select(func.count()).select_from(Case).where(Case.status == "error"))
        fired = advanced()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        redis.terminate()
        redis.wait()
        drop_database(server, name)
    print(f"  {workers} worker(s): {cases} cases advanced in {elapsed:.1f}s = {cases / elapsed:.0f} cases/s; "
          f"timers fired {fired} (once each: {fired == cases}), still due {still_due}, in error {errors}; "
          f"peak memory per worker: {', '.join(f'{p / 1024:.0f} MiB' for p in peaks)}; "
          f"worker CPU {sum(cpu):.0f}s = {1000 * sum(cpu) / cases:.1f} ms per case; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--workers", default="1,2", help="comma-separated numbers of worker processes")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    print(f"sweep benchmark: {args.cases} cases falling due at once; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    for n in (int(x) for x in args.workers.split(",")):
        directory = Path(tempfile.mkdtemp(prefix="alertflow-sweep-"))
        try:
            run(args.postgres, args.cases, n, directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()

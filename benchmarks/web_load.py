"""The web app under load: N signed-in people at once against `alertflow serve`, on PostgreSQL.

Seeds a fresh database (Derby's pack, people in four roles, `--reviews` markers whose review is
open in the ASB Manager's inbox), then for each `--workers` setting starts `alertflow serve
--workers W` as a real process on 127.0.0.1 and lets `--users` threads, each signed in as its
own person, go round their pages for `--seconds`: the ASB Manager's inbox, a review's task page,
its alert's story, and a claim and a release of that step (POSTs with the CSRF token); staff's
check before visiting and inbox; a Head of Service's and the ASB Team's inbox and check. Prints
requests per second, p50/p95/p99, errors (5xx or no answer) and each page's median per setting,
and the ratio between settings measured in the same run. Loopback only; each run bounded by
--seconds. The people and the server share the machine's cores with PostgreSQL: on a small
machine the figures are the whole system's, not the server's alone.

With --url, the people go round a database that exists already: a copy of one benchmarks/seed.py
filled (`createdb -T seed100k mine`), a big landlord's register with its people, markers on many
customers and steps on every role. Nothing is seeded or dropped, but the copy is changed: the
benchmark's password is set on the seed's people it signs in as, and steps are claimed and
released.

    python benchmarks/web_load.py [--users 20] [--seconds 20] [--workers 1,2] [--reviews 2000]
                                  [--postgres postgresql://postgres@127.0.0.1:5432/test]
    python benchmarks/web_load.py --url postgresql://postgres@127.0.0.1:5432/mine [--users 20] ...
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sweep import drop_database, free_port, prepare_database  # noqa: E402

PASSWORD = "bench password for the load test"
ROLES = ["asb_manager", "staff", "head_of_service", "asb_team"]  # Derby's, in turn per person


def own_username(index: int) -> str:
    return f"user{index}"


def seed(reviews: int) -> None:
    from tests.workers.seed import AFTER, seed_due_reviews
    from workflows.accounts import credentials, people
    from workflows.cases import timers
    from workflows.definitions import deployment
    from workflows.definitions.pack import load_pack
    from workflows.platform import clock, db as database

    pack = load_pack("derby")
    with database.transaction() as db:
        deployment.install_pack(db, pack=pack, installed_by="bench")
        people.add_customer(db, reference="C1", name="John Smith", address="1 High Street, Derby",
                            postcode="DE1 1AA")
        for i in range(max(USERS, len(ROLES))):
            people.add_user(db, pack=pack, username=own_username(i), full_name=f"User {i}",
                            roles=[ROLES[i % len(ROLES)]])
            credentials.set_password(db, username=own_username(i), password=PASSWORD, by="bench")
    seed_due_reviews(pack, reviews)
    with clock.frozen_at(clock.parse_moment(AFTER)):
        fired = timers.sweep(pack)
    print(f"  seeded {fired} review steps waiting for the ASB Manager", flush=True)


def seeded_username(index: int) -> str:
    """Person `index` of seed.py's people, the roles taken in turn as in ROLES."""
    from benchmarks.seed import USERS_PER_ROLE, username
    n = index // len(ROLES)
    if n >= USERS_PER_ROLE:
        raise SystemExit(f"seed.py seeds {USERS_PER_ROLE} people a role: at most "
                         f"{USERS_PER_ROLE * len(ROLES)} users with --url")
    return username(ROLES[index % len(ROLES)], n)


def set_passwords(users: int) -> None:
    from workflows.accounts import credentials
    from workflows.platform import db as database
    with database.transaction() as db:
        for i in range(users):
            credentials.set_password(db, username=USERNAME(i), password=PASSWORD, by="bench")


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def sign_in(base: str, index: int):
    """Person `index` signed in, with the round of pages their role goes through."""
    session = requests.Session()
    page = session.get(f"{base}/sign-in", timeout=60).text
    session.post(f"{base}/sign-in", timeout=60, data={
        "username": USERNAME(index), "password": PASSWORD, "csrf_token": csrf(page)})
    inbox = session.get(f"{base}/inbox", timeout=60).text
    task_ids = [int(t) for t in re.findall(r'href="/tasks/(\d+)"', inbox)]
    if ROLES[index % len(ROLES)] == "asb_manager":
        # each ASB Manager works on a step of their own, so that two never claim the same one
        task = (task_ids[index::max(1, USERS)] or task_ids[:1])[0]
        task_page = session.get(f"{base}/tasks/{task}", timeout=60).text
        alert = re.search(r'href="/alerts/(\d+)"', task_page).group(1)
        return session, csrf(task_page), [("GET", "/inbox"), ("GET", f"/tasks/{task}"), ("GET", f"/alerts/{alert}"),
                                          ("POST", f"/tasks/{task}/claim"), ("POST", f"/tasks/{task}/release")]
    return session, csrf(inbox), [("GET", "/inbox"), ("GET", "/check?q=Smith"), ("GET", "/check?q=DE1")]


def go_round(base: str, person, until: float, results: list, lock: threading.Lock):
    """One signed-in person going round their pages until `until`."""
    session, token, round_ = person
    timings, errors = [], 0
    while time.monotonic() < until:
        for method, path in round_:
            started = time.perf_counter()
            try:
                if method == "GET":
                    answer = session.get(base + path, timeout=30)
                else:
                    answer = session.post(base + path, data={"csrf_token": token}, timeout=30,
                                          allow_redirects=False)
                failed = answer.status_code >= 500 or (method == "GET" and answer.status_code != 200)
            except requests.RequestException:
                failed = True
            timings.append((_page(method, path), time.perf_counter() - started))
            errors += failed
    with lock:
        results.append((timings, errors))


def cpu_seconds() -> dict[tuple[str, int], float]:
    """CPU seconds used so far by each process of the server, of PostgreSQL and by this one (the
    people), read from /proc (Linux): where the machine's cores went during a run."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {("people", os.getpid()): time.process_time()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if name.startswith("postgres"):
            used[("PostgreSQL", int(entry.name))] = seconds
        elif int(entry.name) in SERVER_PIDS or int(fields[1]) in SERVER_PIDS:  # the server or its workers
            used[("server", int(entry.name))] = seconds
    return used


def cores_busy(before: dict, after: dict, elapsed: float) -> dict[str, float]:
    """Cores kept busy by each of the three over the run (a process started meanwhile from zero)."""
    busy = {"server": 0.0, "PostgreSQL": 0.0, "people": 0.0}
    for (who, pid), seconds in after.items():
        busy[who] += (seconds - before.get((who, pid), 0.0)) / elapsed
    return busy


SERVER_PIDS: set[int] = set()  # the running server's process


def load(base: str, people: list, seconds: float) -> dict:
    results, lock = [], threading.Lock()
    cpu_before = cpu_seconds()
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=go_round, args=(base, p, until, results, lock)) for p in people]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = cores_busy(cpu_before, cpu_seconds(), elapsed)
    timings = sorted(t for person_timings, _ in results for _, t in person_timings)
    q = statistics.quantiles(timings, n=100)
    pages = {}
    for person_timings, _ in results:
        for page, t in person_timings:
            pages.setdefault(page, []).append(t * 1000)
    return {"requests": len(timings), "per_second": len(timings) / elapsed, "p50": q[49] * 1000,
            "p95": q[94] * 1000, "p99": q[98] * 1000, "errors": sum(e for _, e in results),
            "pages": {page: statistics.median(ts) for page, ts in sorted(pages.items())}, "cpu": cpu}


def _page(method: str, path: str) -> str:
    """The page a request was for, its ids left out: GET /tasks/N."""
    return f"{method} {re.sub(r'/[0-9]+', '/N', path)}"


def serve(workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0",  # no background work: the web app alone
           "ALERTFLOW_PACK": "derby", "SECRET_KEY": "web load benchmark"}
    # `python -m` from this checkout: the server runs the code beside this file (the installed
    # `alertflow` command may be another checkout's, e.g. when timing the code before a change)
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--workers", str(workers),
                                "--port", str(port)], env=env, cwd=ROOT, stdout=open(log, "wb"),
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/sign-in", timeout=10).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the server did not start: see {log}")


def main():
    global USERS, USERNAME
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--reviews", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--url", help="go round this existing database (a copy of one seed.py filled): "
                                      "nothing seeded, nothing dropped")
    args = parser.parse_args()
    USERS = args.users
    if args.url:
        USERNAME = seeded_username
        os.environ["DATABASE_URL"] = args.url
        set_passwords(USERS)
        run(args)
        return
    name = f"alertflow_bench_web_{os.getpid()}"
    prepare_database(args.postgres, name)
    try:
        seed(args.reviews)
        run(args)
    finally:
        drop_database(args.postgres, name)


def run(args) -> None:
    """Each --workers setting in turn, then the ratios between them."""
    logs = f"/tmp/alertflow_bench_web_{os.getpid()}"
    figures = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        process, base = serve(workers, Path(f"{logs}_{workers}.log"))
        SERVER_PIDS.clear()
        SERVER_PIDS.add(process.pid)
        try:
            people = [sign_in(base, i) for i in range(USERS)]  # signing in is not timed
            load(base, people, 3)  # warm-up: connections, caches, the diagrams parsed
            figures[workers] = f = load(base, people, args.seconds)
        finally:
            process.terminate()
            process.wait(30)
        print(f"  --workers {workers}: {f['per_second']:.1f} requests/s ({f['requests']} in "
              f"{args.seconds:g} s), p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms, p99 {f['p99']:.0f} ms, "
              f"errors {f['errors']}", flush=True)
        print("    cores busy: " + ", ".join(f"{who} {cores:.2f}" for who, cores in f["cpu"].items())
              + f" (the machine has {os.cpu_count()})", flush=True)
        print("    medians by page: " + ", ".join(f"{page} {ms:.0f} ms" for page, ms in f["pages"].items()), flush=True)
    first = min(figures)
    for workers, f in figures.items():
        if workers != first:
            print(f"  --workers {workers} / --workers {first}: "
                  f"{f['per_second'] / figures[first]['per_second']:.2f}x the requests/s")


USERS = 20
USERNAME = own_username  # seeded_username with --url

if __name__ == "__main__":
    main()

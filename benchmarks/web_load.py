"""The web app under load: N signed-in people at once against `alertflow serve`, on PostgreSQL.

Seeds a fresh database (Derby's pack, people in four roles, `--reviews` markers whose review is
open in the ASB Manager's inbox), then for each `--workers` setting starts `alertflow serve
--workers W` as a real process on 127.0.0.1 and lets `--users` threads, each signed in as its
own person, go round their pages for `--seconds`: the ASB Manager's inbox, a review's task page,
its alert's story, and a claim and a release of that step (POSTs with the CSRF token); staff's
check before visiting and inbox; a Head of Service's and the ASB Team's inbox and check. Prints
requests per second, p50/p95/p99 and errors (5xx or no answer) per setting, and the ratio
between settings measured in the same run. Loopback only; each run bounded by --seconds.

    python benchmarks/web_load.py [--users 20] [--seconds 20] [--workers 1,2] [--reviews 2000]
                                  [--postgres postgresql://postgres@127.0.0.1:5432/test]
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
            people.add_user(db, pack=pack, username=f"user{i}", full_name=f"User {i}",
                            roles=[ROLES[i % len(ROLES)]])
            credentials.set_password(db, username=f"user{i}", password=PASSWORD, by="bench")
    seed_due_reviews(pack, reviews)
    with clock.frozen_at(clock.parse_moment(AFTER)):
        fired = timers.sweep(pack)
    print(f"  seeded {fired} review steps waiting for the ASB Manager", flush=True)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def sign_in(base: str, index: int):
    """Person `index` signed in, with the round of pages their role goes through."""
    session = requests.Session()
    page = session.get(f"{base}/sign-in", timeout=60).text
    session.post(f"{base}/sign-in", timeout=60, data={
        "username": f"user{index}", "password": PASSWORD, "csrf_token": csrf(page)})
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
            timings.append(time.perf_counter() - started)
            errors += failed
    with lock:
        results.append((timings, errors))


def load(base: str, people: list, seconds: float) -> dict:
    results, lock = [], threading.Lock()
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=go_round, args=(base, p, until, results, lock)) for p in people]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    timings = sorted(t for person_timings, _ in results for t in person_timings)
    q = statistics.quantiles(timings, n=100)
    return {"requests": len(timings), "per_second": len(timings) / elapsed, "p50": q[49] * 1000,
            "p95": q[94] * 1000, "p99": q[98] * 1000, "errors": sum(e for _, e in results)}


def serve(workers: int, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0",  # no background work: the web app alone
           "ALERTFLOW_PACK": "derby", "SECRET_KEY": "web load benchmark"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "alertflow"), "serve", "--workers", str(workers),
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
    global USERS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--reviews", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    USERS = args.users
    name = f"alertflow_bench_web_{os.getpid()}"
    prepare_database(args.postgres, name)
    try:
        seed(args.reviews)
        figures = {}
        for workers in [int(w) for w in args.workers.split(",")]:
            process, base = serve(workers, Path(f"/tmp/{name}_{workers}.log"))
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
        first = min(figures)
        for workers, f in figures.items():
            if workers != first:
                print(f"  --workers {workers} / --workers {first}: "
                      f"{f['per_second'] / figures[first]['per_second']:.2f}x the requests/s")
    finally:
        drop_database(args.postgres, name)


USERS = 20

if __name__ == "__main__":
    main()

"""`alertflow audit verify` over a long audit log, on PostgreSQL: seconds, microseconds an event,
CPU seconds and the verifying processes' peak memory, at two sizes so that growth shows.

For each size, on a fresh database: writes a valid hash chain of that many events (decisions,
steps, views, with the detail the engine records), with COPY, then runs `alertflow audit verify`
as a process, timed, reading the peak resident memory (VmHWM) of it and of every process it
starts from /proc while it runs, and its CPU time (user + system, its worker processes included)
when it ends. The load average is printed beside each run: wall time moves with it, CPU time less.

--jobs runs verify once for each value given (`--jobs N`; "auto" leaves the choice to verify).
--before DIR runs verify from another checkout (PYTHONPATH=DIR) on the same database first, so
that the code before a change and after it are timed back to back in one run.

    python benchmarks/audit_verify.py [--events 120000,1200000] [--postgres URL] [--database NAME]
                                      [--jobs auto,1,2] [--before /path/to/checkout]
"""
import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sweep import drop_database, peak_kib, prepare_database  # noqa: E402

ACTIONS = [
    ("task_completed", {"task": "Review the marker", "values": {"review_outcome": "keep", "risk_reduced": "no",
                                                                "review_reason": "Risk unchanged since the last review"}}),
    ("timer_fired", {"process": "derby_review", "timer": "six_months"}),
    ("restricted_record_viewed", {"page": "alert", "role": "asb_manager"}),
    ("marker_placed", {"marker_text": "Visit in pairs", "control_measures": ["visit_in_pairs"], "level": 2}),
]


def write_chain(url: str, count: int) -> None:
    import psycopg

    from workflows.compliance.audit import GENESIS, event_hash

    start = datetime(2016, 1, 4, 9, 0, tzinfo=timezone.utc)
    prev = GENESIS
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor().copy("COPY audit_event (id, at, actor, action, case_id, alert_id, detail, seq, "
                                "prev_hash, hash) FROM STDIN") as copy:
            for seq in range(1, count + 1):
                action, detail = ACTIONS[seq % len(ACTIONS)]
                at = start + timedelta(seconds=seq * 263)
                actor, case_id, alert_id = f"user.{seq % 50}", seq // 7 + 1, seq // 11 + 1
                digest = event_hash(seq=seq, prev_hash=prev, at=at, actor=actor, action=action,
                                    case_id=case_id, alert_id=alert_id, detail=detail)
                copy.write_row((seq, at, actor, action, case_id, alert_id, json.dumps(detail), seq, prev, digest))
                prev = digest
        conn.execute("UPDATE audit_chain_head SET seq = %s, hash = %s WHERE id = 1", (count, prev))
        conn.execute(f"SELECT setval(pg_get_serial_sequence('audit_event', 'id'), {count})")
        conn.execute("ANALYZE audit_event")


def verify(url: str, directory: Path, jobs: str = "auto", code: Path | None = None) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "ALERTFLOW_AUDIT_CHECKPOINTS": str(directory / "checkpoints.jsonl")}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    argv = [str(Path(sys.executable).parent / "alertflow"), "audit", "verify"]
    if jobs != "auto":
        argv += ["--jobs", jobs]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=code or ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    peaks = {}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        for each in [process.pid, *_descendants(process.pid)]:
            peaks[each] = max(peaks.get(each, 0), peak_kib(each))
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": elapsed, "cpu": usage.ru_utime + usage.ru_stime, "peak": peaks.pop(process.pid, 0),
            "workers": sorted(peaks.values(), reverse=True), "load": load, "said": process.stdout.read().strip()}


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        try:
            children = Path(f"/proc/{todo.pop()}/task").glob("*/children")
            kids = [int(k) for path in children for k in path.read_text().split()]
        except OSError:
            continue
        found += kids
        todo += kids
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="120000,1200000")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default=f"alertflow_bench_audit_{os.getpid()}",
                        help="the scratch database's name (dropped and made anew for each size)")
    parser.add_argument("--jobs", default="auto", help="comma-separated: auto, or a number of processes")
    parser.add_argument("--before", type=Path, help="another checkout whose verify runs first on the same database")
    args = parser.parse_args()
    directory = Path(f"/tmp/alertflow_bench_audit_{os.getpid()}")
    directory.mkdir(exist_ok=True)
    runs = ([("before", "auto", args.before)] if args.before else []) + [
        ("this code", jobs, None) for jobs in args.jobs.split(",")]
    for count in [int(n) for n in args.events.split(",")]:
        url = prepare_database(args.postgres, args.database)
        try:
            started = time.perf_counter()
            write_chain(url, count)
            print(f"  {count:,} events written in {time.perf_counter() - started:.0f} s", flush=True)
            for label, jobs, code in runs:
                run = verify(url, directory, jobs, code)
                print(f"  audit verify, {count:,} events, {label}" + (f" --jobs {jobs}" if jobs != "auto" else "")
                      + f": {run['wall']:.1f} s ({run['wall'] / count * 1e6:.0f} µs an event), "
                      f"CPU {run['cpu']:.1f} s ({run['cpu'] / count * 1e6:.0f} µs an event), "
                      f"peak memory {run['peak'] / 1024:.0f} MiB"
                      + (f" (and its worker processes: {' + '.join(f'{k / 1024:.0f}' for k in run['workers'])} MiB, "
                         f"pages shared with it counted in each)" if run['workers'] else "") + ", "
                      f"load {run['load']:.2f}; it said: {run['said'][:90]}", flush=True)
        finally:
            drop_database(args.postgres, args.database)


if __name__ == "__main__":
    main()

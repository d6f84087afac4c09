"""`alertflow audit verify` over a long audit log, on PostgreSQL: seconds, microseconds an event,
and the verifying process's peak memory, at two sizes so that growth shows.

For each size, on a fresh database: writes a valid hash chain of that many events (decisions,
steps, views, with the detail the engine records), with COPY, then runs `alertflow audit verify`
as a process, timed, reading its peak resident memory (VmHWM) from /proc while it runs.

    python benchmarks/audit_verify.py [--events 120000,1200000] [--postgres URL]
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


def verify(url: str, directory: Path) -> tuple[float, int, str]:
    env = {**os.environ, "DATABASE_URL": url, "ALERTFLOW_AUDIT_CHECKPOINTS": str(directory / "checkpoints.jsonl")}
    started = time.perf_counter()
    process = subprocess.Popen([str(Path(sys.executable).parent / "alertflow"), "audit", "verify"], env=env,
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, peak_kib(process.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    return elapsed, peak, process.stdout.read().strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="120000,1200000")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    directory = Path(f"/tmp/alertflow_bench_audit_{os.getpid()}")
    directory.mkdir(exist_ok=True)
    for count in [int(n) for n in args.events.split(",")]:
        name = f"alertflow_bench_audit_{os.getpid()}"
        url = prepare_database(args.postgres, name)
        try:
            started = time.perf_counter()
            write_chain(url, count)
            print(f"  {count:,} events written in {time.perf_counter() - started:.0f} s", flush=True)
            elapsed, peak, output = verify(url, directory)
            print(f"  audit verify, {count:,} events: {elapsed:.1f} s ({elapsed / count * 1e6:.0f} µs an event), "
                  f"peak memory {peak / 1024:.0f} MiB; it said: {output[:90]}", flush=True)
        finally:
            drop_database(args.postgres, name)


if __name__ == "__main__":
    main()

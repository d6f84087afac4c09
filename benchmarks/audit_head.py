"""What the audit chain's one head row costs steps committing at once, on PostgreSQL: a model of
the step's commit with pgbench, one global head against a head per chain.

Each transaction does what the end of an engine step does today (audit.py): a write to a row of
its own (its case), the head row write-locked and read (`UPDATE ... RETURNING`), then the events
inserted with the head moved in one statement, then COMMIT. "one head": every transaction locks
the one head row, as the engine does, so they queue behind it from that lock to the end of their
commit. "N heads": each takes the lowest-numbered head no other transaction holds
(`FOR UPDATE SKIP LOCKED`), the proposed chain per shard; the chain is verified per head.
The tables are a scratch model of audit_event and audit_chain_head (with a chain column), not
the engine itself: the figures are the commit's queueing, not a step's whole cost.

Prints transactions per second and average latency for each number of clients, with the load.

    python benchmarks/audit_head.py [--clients 1,4,8] [--heads 8] [--events 3] [--seconds 8]
                                    [--postgres URL] [--database NAME]
"""
import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

SCHEMA = """
CREATE TABLE head (id int PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL);
INSERT INTO head SELECT g, 0, repeat('0', 64) FROM generate_series(1, {heads}) g;
CREATE TABLE ev (id bigserial PRIMARY KEY, chain int NOT NULL, seq bigint NOT NULL, prev_hash text, hash text,
                 at timestamptz, actor text, action text, case_id int, detail json, UNIQUE (chain, seq));
CREATE TABLE work (id int PRIMARY KEY, v bigint);
INSERT INTO work SELECT g, 0 FROM generate_series(1, 1024) g;
"""

STEP = """BEGIN;
UPDATE work SET v = v + 1 WHERE id = :client_id + 1;
UPDATE head SET seq = seq WHERE id = {pick} RETURNING id AS c, seq AS s, hash AS h \\gset
WITH moved AS (UPDATE head SET seq = :s + {events}, hash = md5(random()::text) WHERE id = :c)
INSERT INTO ev (chain, seq, prev_hash, hash, at, actor, action, case_id, detail)
SELECT :c, :s + g, 'prev', md5(g::text), now(), 'anna', 'task_completed', :client_id,
       '{{"task": "Review the marker", "values": {{"review_outcome": "keep"}}}}'
FROM generate_series(1, {events}) g;
COMMIT;
"""
# the lowest-numbered head no other transaction holds; when every one is held, wait for the first
FREE_HEAD = ("COALESCE((SELECT id FROM head ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED), "
             "1 + :client_id % {heads})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--events", type=int, default=3, help="audit events a step appends")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default=f"alertflow_bench_head_{os.getpid()}")
    args = parser.parse_args()
    server = urlsplit(args.postgres)
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {args.database}")
    url = server._replace(path=f"/{args.database}").geturl()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA.format(heads=args.heads))
        with tempfile.TemporaryDirectory() as directory:
            scripts = {}
            for label, pick in (("one head", "1"), (f"{args.heads} heads", FREE_HEAD.format(heads=args.heads))):
                path = Path(directory) / f"{len(scripts)}.sql"
                path.write_text(STEP.format(pick=pick, events=args.events))
                scripts[label] = path
            for clients in [int(c) for c in args.clients.split(",")]:
                for label, path in scripts.items():
                    load = os.getloadavg()[0]
                    out = subprocess.run(
                        ["pgbench", "-n", "-h", server.hostname or "127.0.0.1", "-p", str(server.port or 5432),
                         "-U", server.username or "postgres", "-f", str(path), "-c", str(clients),
                         "-j", str(min(clients, 2)), "-T", str(args.seconds), args.database],
                        capture_output=True, text=True, check=True).stdout
                    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
                    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
                    failed = re.search(r"number of failed transactions: (\d+)", out)
                    print(f"  {clients} client(s), {label}: {tps:,.0f} steps' commits a second, latency "
                          f"{latency:.1f} ms, failed {failed.group(1) if failed else 0}, load {load:.2f}",
                          flush=True)
        with psycopg.connect(url) as conn:  # every chain stays one unbroken sequence
            gaps = conn.execute("SELECT count(*) FROM (SELECT seq - lag(seq) OVER (PARTITION BY chain ORDER BY seq) "
                                "AS step FROM ev) s WHERE step <> 1").fetchone()[0]
            chains = conn.execute("SELECT count(DISTINCT chain) FROM ev").fetchone()[0]
            print(f"  chains used: {chains}; gaps in any chain's seq: {gaps}")
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()

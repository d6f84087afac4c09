"""Importing the existing register: rows per second for a large CSV, on SQLite and PostgreSQL.

For each database: a fresh one (SQLite in a temporary folder; PostgreSQL a database of its own on
the server given), Derby's pack deployed, an administrator; a generated CSV of N good rows (every
column filled, a tenth not told with a reason, a fifth with notes). Times reading and checking the
file (the dry run) and the import itself (the markers, their review cases, the audit events, the
commit: one transaction, as `alertflow import markers` runs it), and prints rows per second and
the process's peak memory.

    python benchmarks/import.py [--rows 50000] [--postgres postgresql://postgres@127.0.0.1:5432/test] [--only sqlite]
"""
import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = "2026-06-01T09:00"
HEADER = ["customer_reference", "customer_name", "address", "postcode", "category", "instruction", "level", "code",
          "date_placed", "decided_by", "tenant_told", "not_told_reason", "next_review_date", "notes"]
CATEGORIES = ["rpo", "partner_info", "mental_health", "complaints", "near_miss"]


def generate(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(HEADER) + "\n")
        for i in range(1, rows + 1):
            told = i % 10 != 0
            f.write(",".join([
                f"B{i}", f"Customer {i}", f"\"{i % 200 + 1} Normanton Road, Derby\"", f"DE{1 + i % 24} {i % 9}AB",
                CATEGORIES[i % 5], "Visit in pairs; phone the office first", "", "",
                f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", "Anna Smith", "yes" if told else "no",
                "" if told else "Police asked us not to", f"{1 + i % 28:02d}/{7 + i % 6:02d}/2026",
                "\"Known to the police since 2019\"" if i % 5 == 0 else "",
            ]) + "\n")


def run(url: str, rows: int, csv_path: Path) -> None:
    os.environ["DATABASE_URL"] = url
    from alembic import command
    from alembic.config import Config

    from workflows.accounts import people
    from workflows.cases import engine
    from workflows.definitions import deployment
    from workflows.definitions.pack import load_pack
    from workflows.platform import clock, db as database
    from workflows.register import importing

    database.get_engine().dispose()
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    clock.set_now(clock.parse_moment(NOW))
    pack = load_pack("derby")
    with database.transaction() as db:
        deployment.install_pack(db, pack=pack, installed_by="bench")
        people.add_user(db, pack=pack, username="admin", full_name="Admin", roles=["admin"])
    content = csv_path.read_bytes()
    started = time.perf_counter()
    with database.transaction() as db:
        report = importing.check(db, pack, importing.read_csv(content, csv_path.name))
    checked = time.perf_counter()
    assert not report.bad, report.problems[:5]
    with database.transaction() as db:
        actor = engine.actor_for(db, pack, "admin")
        count = importing.import_rows(db, pack=pack, actor=actor, report=report)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  dry run (read and check): {rows / (checked - started):,.0f} rows/s ({checked - started:.1f}s)")
    print(f"  import (one transaction, commit included): {count / (done - checked):,.0f} rows/s "
          f"({done - checked:.1f}s)")
    print(f"  peak memory of this process so far: {peak:,.0f} MB", flush=True)
    database.get_engine().dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a server where the benchmark may create and drop its own database")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "register.csv"
        generate(csv_path, args.rows)
        print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1024 / 1024:.1f} MB", flush=True)
        if args.only != "postgresql":
            print("SQLite:", flush=True)
            run(f"sqlite:///{tmp}/bench.db", args.rows, csv_path)
        if args.only != "sqlite":
            import psycopg
            name = f"alertflow_bench_import_{os.getpid()}"
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            try:
                print("PostgreSQL:", flush=True)
                run(urlunsplit(urlsplit(args.postgres)._replace(path=f"/{name}")), args.rows, csv_path)
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()

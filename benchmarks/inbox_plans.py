"""What each inbox page asks of PostgreSQL, as figures the machine's load moves little: for each URL
benchmarks/inbox.py times, the SQL statements one request runs, their EXPLAIN ANALYZE execution
times added up (the median of --runs) and the buffers they touch (shared hit + read, added up; the
statement touching most after it). Runs on a database that exists already (seed.py's, or a copy).

    python benchmarks/inbox_plans.py --url postgresql://postgres@127.0.0.1:5432/mine [--runs 3]
"""
import argparse
import os
import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.inbox import FILTERED_HEAD, FILTERED_MANAGER, TEAM_HEAD, signed_in_client  # noqa: E402

PAGES = {"asb.manager.0": ["/inbox", *FILTERED_MANAGER], "head.of.service.0": ["/inbox", *FILTERED_HEAD, *TEAM_HEAD]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the database (PostgreSQL) to read the plans on")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    from sqlalchemy import event
    from webapp import create_app
    from workflows.platform import config
    from workflows.platform.db import engine_for
    app = create_app({"TESTING": False})
    statements = []

    @event.listens_for(engine_for(config.database_url()), "after_cursor_execute")
    def kept(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    explain = psycopg.connect(args.url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)
    print(f"{'user':18} {'page':32} statements  execution (median of {args.runs})  buffers (the most in one)")
    for user, urls in PAGES.items():
        client = signed_in_client(app, user)
        for url in urls:
            client.get(url)
            statements.clear()
            assert client.get(url).status_code == 200, url
            ran = list(statements)
            runs = []
            for _ in range(args.runs):
                ms, touched = 0.0, []
                for statement, parameters in ran:
                    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                        continue
                    plan = explain.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement,
                                           parameters).fetchone()[0][0]
                    ms += plan["Execution Time"]
                    touched.append(plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0))
                runs.append((ms, touched))
            touched = runs[0][1]
            print(f"{user:18} {url:32} {len(ran):10}  {statistics.median(r[0] for r in runs):9.1f} ms"
                  f"{'':15}{sum(touched):7,} ({max(touched, default=0):,})")


if __name__ == "__main__":
    main()

"""The impact of a changed diagram on N running cases: `alertflow pack impact` (and the table
under Check) works each case's move out in memory, so its cost grows with the running cases.

On a fresh SQLite database (or --postgres URL): Derby's pack installed, N review cases waiting
on their six-month timers (tests/workers/seed.py), then the impact of derby_review with P3M,
timed as the process owner's command runs it. Prints cases per second.

    python benchmarks/impact.py [--cases 1000] [--postgres URL]
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--postgres", default=None, help="a database URL to use instead of a new SQLite file")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="alertflow-bench-impact-")
    os.environ["DATABASE_URL"] = args.postgres or f"sqlite:///{folder}/bench.db"
    from alembic import command
    from alembic.config import Config
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")

    from tests.workers.seed import AFTER, seed_due_reviews
    from workflows.accounts import people
    from workflows.cases import engine
    from workflows.definitions import deployment, policy_changes
    from workflows.definitions.pack import load_pack
    from workflows.platform import clock, db as database

    pack = load_pack("derby")
    with database.transaction() as db:
        deployment.install_pack(db, pack=pack, installed_by="bench")
        people.add_customer(db, reference="C1", name="John Smith")
        people.add_user(db, pack=pack, username="paula", full_name="Paula", roles=["process_owner"])
    seed_due_reviews(pack, args.cases)
    content = (ROOT / "bpmn" / "derby" / "derby_review.bpmn").read_bytes().replace(b">P6M<", b">P3M<", 1)
    with clock.frozen_at(clock.parse_moment(AFTER)), database.transaction() as db:
        paula = engine.actor_for(db, pack, "paula")
        started = time.perf_counter()
        checked = policy_changes.check_file(db, pack=pack, content=content, filename="derby_review.bpmn")
        rows = policy_changes.impact(db, pack=pack, actor=paula, checked=checked, content=content)["derby_review"]
        took = time.perf_counter() - started
    moving = sum(1 for r in rows if r.changes)
    print(f"impact of derby_review P6M -> P3M on {len(rows)} running cases ({moving} with a review moving): "
          f"{took:.2f}s, {len(rows) / took:.0f} cases/s ({os.environ['DATABASE_URL'].split(':')[0]})")


if __name__ == "__main__":
    main()

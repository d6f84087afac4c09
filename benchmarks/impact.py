"""The impact of a change on N running cases, as `alertflow pack impact` (and the table under Check)
works it out: of a changed diagram, each case's move worked out in memory, and of a changed pack.toml,
the database asked for the cases each changed setting reaches; both costs grow with the cases.

On a fresh SQLite database (or --postgres URL): Derby's pack installed, N review cases on their
six-month timers (tests/workers/seed.py), all past due (so every one is a late review that
`review_from_due_date = false` reaches); then, timed as the process owner's command runs them, the
impact of pack.toml with review_from_due_date = false, of derby_review with P3M, and of pack.toml
carrying one more name to each review (review_carries: each case's saved state read). Prints cases
per second for each and their ratio. Run on a quiet machine, or compare only the ratio.

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
    from workflows.definitions.pack import PackSource, load_pack, read_pack_files
    from workflows.platform import clock, db as database

    pack = load_pack("derby")
    with database.transaction() as db:
        deployment.install_pack(db, pack=pack, installed_by="bench")
        people.add_customer(db, reference="C1", name="John Smith")
        people.add_user(db, pack=pack, username="paula", full_name="Paula", roles=["process_owner"])
    seed_due_reviews(pack, args.cases)
    _, source = read_pack_files("derby", ROOT / "bpmn")
    edited = PackSource(source.pack_toml.replace("[pack]\n", "[pack]\nreview_from_due_date = false\n", 1), source.letters)
    diagram = (ROOT / "bpmn" / "derby" / "derby_review.bpmn").read_bytes().replace(b">P6M<", b">P3M<", 1)
    with clock.frozen_at(clock.parse_moment(AFTER)), database.transaction() as db:
        paula = engine.actor_for(db, pack, "paula")
        started = time.perf_counter()
        checked = policy_changes.check_settings(db, pack=pack, source=edited)
        settings_rows = policy_changes.impact_of_settings(db, pack=pack, actor=paula, checked=checked)
        settings_took = time.perf_counter() - started
        started = time.perf_counter()
        checked = policy_changes.check_file(db, pack=pack, content=diagram, filename="derby_review.bpmn")
        diagram_rows = policy_changes.impact(db, pack=pack, actor=paula, checked=checked, content=diagram)["derby_review"]
        diagram_took = time.perf_counter() - started
        # [pack] review_carries reads what each running case knows (its saved state), as a move does
        carrying = PackSource(source.pack_toml.replace('review_carries = ["complex_needs_consulted"]',
                                                       'review_carries = ["complex_needs_consulted", "partner_source"]'),
                              source.letters)
        started = time.perf_counter()
        checked = policy_changes.check_settings(db, pack=pack, source=carrying)
        carried_rows = policy_changes.impact_of_settings(db, pack=pack, actor=paula, checked=checked)
        carried_took = time.perf_counter() - started
    kind = os.environ["DATABASE_URL"].split(":")[0]
    print(f"impact of pack.toml review_from_due_date = false on {len(settings_rows)} late reviews: "
          f"{settings_took:.2f}s, {len(settings_rows) / settings_took:.0f} cases/s ({kind})")
    print(f"impact of derby_review P6M -> P3M on {len(diagram_rows)} running cases: "
          f"{diagram_took:.2f}s, {len(diagram_rows) / diagram_took:.0f} cases/s ({kind})")
    print(f"impact of pack.toml review_carries + partner_source on {len(carried_rows)} running cases: "
          f"{carried_took:.2f}s, {len(carried_rows) / carried_took:.0f} cases/s ({kind})")
    print(f"the pack.toml impact took {settings_took / diagram_took:.2f}x the diagram's")


if __name__ == "__main__":
    main()

"""Server time of the case page of a marker with a long history, on a big landlord's register.

For each size, seeds a new database with benchmarks/seed.py (or takes one seeded already), then
plays one more marker through the engine as people would: reported, assessed and placed, then
reviewed again and again, a linked incident bringing the review forward before every fourth
review (benchmarks/step_cost.py's rounds), until the marker has `--cases` cases of history. Its
case page (/alerts/<id>: the story, every case's tab, the timeline) is then requested in-process
through the real Flask app as the Head of Service who assessed it, beside the case page of a
marker just placed (its assessment and its first review period), so the cost of the history
shows as a ratio measured in the same run. Prints p50/p95 and the HTML's size.

    python benchmarks/case_page.py [--alerts 10000 100000] [--cases 22] [--requests 50]
    python benchmarks/case_page.py --alerts 100000 --database URL   # seeded already (one marker is added to it)
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.seed import PASSWORD, drop_postgres_database, new_postgres_database, seed  # noqa: E402

DB_NAME = "alertflow_bench_case_page"


def add_people(pack):
    """The three people step_cost's rounds play (a Head of Service, the ASB team, staff), signed in with PASSWORD."""
    from sqlalchemy import select
    from workflows.accounts import credentials, people
    from workflows.platform import db as database
    from workflows.platform.models import User
    with database.transaction() as db:
        for username, role in (("helen", "head_of_service"), ("tina", "asb_team"), ("sam", "staff")):
            if db.scalar(select(User.id).where(User.username == username)) is None:
                people.add_user(db, pack=pack, username=username, full_name=username.title(), roles=[role])
                credentials.set_password(db, username=username, password=PASSWORD, by="bench")


def marker_with_history(pack, cases: int, prefix: str) -> int:
    """A marker played through the engine until it has `cases` cases (assessment, reviews, incidents)."""
    from sqlalchemy import func, select
    from benchmarks.step_cost import INCIDENT_EVERY, place_markers, review_rounds
    from workflows.platform import db as database
    from workflows.platform.models import Case
    alert_id = place_markers(pack, 1, prefix)[0]
    # placed: the assessment and the first review period; each review held starts the next period's
    # case, and every INCIDENT_EVERY-th brings a linked incident's case too
    reviews = 0
    while 2 + reviews + reviews // INCIDENT_EVERY < cases:
        reviews += 1
    if reviews:
        review_rounds(pack, [alert_id], reviews)
    with database.transaction() as db:
        made = db.scalar(select(func.count()).select_from(Case).where(Case.alert_id == alert_id))
    assert made == cases, (made, cases)
    return alert_id


def timed(client, url, requests):
    """Median and p95 (ms) of the page, and its size (compliance.timed's requests)."""
    from benchmarks.compliance import timed as requested
    times, size = requested(client, url, requests)
    return statistics.median(times), statistics.quantiles(times, n=20)[18], size


def measure(url, alerts, cases, requests, seeded=False):
    if not seeded:
        seed(url, alerts)
    os.environ["DATABASE_URL"] = url
    from benchmarks.compliance import signed_in_client
    from workflows.definitions.pack import active_pack
    from webapp import create_app
    pack = active_pack()
    add_people(pack)
    stamp = str(int(time.time()))[-6:]  # a marker of its own on a database measured before
    new = marker_with_history(pack, 2, f"CP2-{stamp}-")
    long = marker_with_history(pack, cases, f"CP{cases}-{stamp}-")
    app = create_app({"TESTING": False})
    client = signed_in_client(app, "helen")
    return timed(client, f"/alerts/{new}", requests), timed(client, f"/alerts/{long}", requests)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--cases", type=int, default=22)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--server", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="a PostgreSQL server to create the benchmark's database on")
    parser.add_argument("--database", nargs="+", metavar="URL",
                        help="measure these databases, seeded already by seed.py, one for each size in --alerts")
    args = parser.parse_args()
    if args.database and len(args.database) != len(args.alerts):
        parser.error(f"--database: give one database for each of the {len(args.alerts)} sizes in --alerts")
    databases = dict(zip(args.alerts, args.database or []))
    for alerts in args.alerts:
        url = databases.get(alerts) or new_postgres_database(args.server, DB_NAME)
        (m1, p1, s1), (m, p, s) = measure(url, alerts, args.cases, args.requests, seeded=alerts in databases)
        print(f"{alerts:,} alerts: case page, a new marker (2 cases): p50 {m1:.1f} ms, p95 {p1:.1f} ms, {s1 / 1024:.0f} KB; "
              f"{args.cases} cases: p50 {m:.1f} ms, p95 {p:.1f} ms, {s / 1024:.0f} KB; "
              f"p95 {p / p1:.2f}x the new marker's", flush=True)
        if alerts not in databases:
            drop_postgres_database(args.server, DB_NAME)


if __name__ == "__main__":
    main()

"""Server time of the compliance pages on a big landlord's register, at each size asked for.

For each size, seeds a new database with benchmarks/seed.py (real captured workflow states,
several cases per alert, steps over every role, 2% restricted, history over ten years), then
counts the dashboard's charts as the background round does (timed), then
requests /compliance, /compliance/register (its first page and one deep in the list) and
/compliance/register.csv in-process through the real Flask app (sign-in, need to know,
queries, templates: everything but the network) as a Head of Service (a register reader who may
not see the restricted records). Prints p50/p95 and the HTML's size for the pages; for the CSV,
its time, size and the peak memory Python allocated while streaming it (tracemalloc).

    python benchmarks/compliance.py [--alerts 10000 100000] [--requests 40] [--sqlite DIR]
    python benchmarks/compliance.py --alerts 10000 100000 --database URL_10000 URL_100000   # seeded already
"""
import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.seed import PASSWORD, drop_postgres_database, new_postgres_database, seed  # noqa: E402

DB_NAME = "alertflow_bench_compliance"
WHO = "head.of.service.0"


def signed_in_client(app, username):
    import re
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/sign-in", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def timed(client, url, requests):
    for _ in range(3):
        client.get(url)
    times, size = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        size = len(body)
    return times, size


def _stream(client, url):
    """Bytes and lines of the CSV as it streams, each chunk dropped."""
    response = client.get(url, buffered=False)
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    response.close()
    return size, lines


def streamed_csv(client, url):
    """Seconds, bytes, rows and the peak Python memory while the CSV streams. Timed and traced in
    two runs: tracemalloc hooks every allocation, which made the timed run about 4x slower."""
    started = time.perf_counter()
    size, lines = _stream(client, url)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    _stream(client, url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, size, lines - 1, peak


def measure(url, alerts, requests, seeded=False):
    if not seeded:
        seed(url, alerts)
    os.environ["DATABASE_URL"] = url
    from webapp import create_app
    from workflows import background
    from workflows.definitions.pack import active_pack
    app = create_app({"TESTING": False})
    started = time.perf_counter()  # the background round's count of the dashboard's charts, as a running round leaves it
    sets = background.count_dashboard(active_pack())
    round_ms = (time.perf_counter() - started) * 1000
    client = signed_in_client(app, WHO)
    rows = []
    for name, path in (("/compliance", "/compliance"), ("/compliance/register", "/compliance/register"),
                       ("/compliance/register, page 41", "/compliance/register?start=2000")):
        times, size = timed(client, path, requests)
        rows.append((name, statistics.median(times), statistics.quantiles(times, n=20)[18], size))
    csv = streamed_csv(client, "/compliance/register.csv")
    return rows, csv, (sets, round_ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--server", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="a PostgreSQL server to create the benchmark's database on")
    parser.add_argument("--sqlite", metavar="DIR", help="seed SQLite files in DIR instead of PostgreSQL")
    parser.add_argument("--keep", action="store_true", help="keep the database (of the last size)")
    parser.add_argument("--database", nargs="+", metavar="URL",
                        help="measure these databases, seeded already by seed.py, one for each size in --alerts "
                             "(so one run can measure code before and after a change on the same data)")
    args = parser.parse_args()
    if args.database and len(args.database) != len(args.alerts):
        parser.error(f"--database: give one database for each of the {len(args.alerts)} sizes in --alerts")
    databases = dict(zip(args.alerts, args.database or []))
    results = {}
    for n in args.alerts:
        if args.database:
            url = databases[n]
        elif args.sqlite:
            path = Path(args.sqlite) / f"compliance-{n}.db"
            path.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        else:
            url = new_postgres_database(args.server, DB_NAME)
        try:
            results[n] = measure(url, n, args.requests, seeded=bool(args.database))
        finally:
            if not args.sqlite and not args.keep and not args.database:
                from workflows.platform.db import engine_for
                engine_for(url).dispose()
                drop_postgres_database(args.server, DB_NAME)
        pages, (seconds, size, lines, peak), (sets, round_ms) = results[n]
        print(f"\n{n:,} alerts ({'SQLite' if args.sqlite else 'PostgreSQL'}), as {WHO}, {args.requests} requests a page")
        for name, median, p95, html in pages:
            print(f"  {name:34} median {median:7.1f} ms   p95 {p95:7.1f} ms   HTML {html / 1024:7.1f} KB")
        print(f"  the background round's count of the dashboard's charts: {round_ms:7.0f} ms for {sets} set(s) of readers")
        print(f"  {'/compliance/register.csv':34} {seconds * 1000:7.0f} ms for {lines:,} rows, {size / 1024 / 1024:5.1f} MB,"
              f" peak Python memory while streaming {peak / 1024 / 1024:5.2f} MB")


if __name__ == "__main__":
    main()

"""What reading the deployed pack.toml costs each time a face asks for the active pack
(`pack.active_pack()`: one small query for which pack is active and its newest settings version,
the Pack built once per version), against the file-only cache it replaced, with the active pack
named by ALERTFLOW_PACK and then chosen in the database (`pack use`), with the statements each
call sends; and what building a new version costs the first request after a deploy. SQLite in a
temporary folder, or PostgreSQL with --postgres URL.

    python benchmarks/pack_settings.py [--calls 2000] [--postgres URL]
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
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--postgres", default=None, help="an empty PostgreSQL database's URL")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = args.postgres or f"sqlite:///{folder}/bench.db"
    from alembic import command
    from alembic.config import Config
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(config, "head")

    from workflows.definitions import deployment, pack_versions
    from workflows.definitions.pack import active_pack, cached_pack, files_pack, read_pack_files
    from workflows.platform.config import packs_dir
    from workflows.platform.db import transaction
    with transaction() as db:
        deployment.install_pack(db, pack=files_pack(), installed_by="bench")

    from sqlalchemy import event
    from workflows.platform import db as database
    sent = []
    event.listen(database.get_engine(), "before_cursor_execute", lambda *a: sent.append(1))

    def per_call(ask):
        ask()
        sent.clear()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.calls):
            ask()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return (f"{wall / args.calls * 1e6:8.1f} µs a call ({cpu / args.calls * 1e6:.1f} µs CPU), "
                f"{len(sent) / args.calls:.0f} statement(s)")

    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.calls} calls each")
    key = active_pack().key
    print(f"cached_pack() (the file cache, as before): {per_call(lambda: cached_pack(key, str(packs_dir())))}")
    print(f"active_pack() (newest deployed version):  {per_call(active_pack)}")
    try:
        from workflows.platform.models import ActivePack
    except ImportError:  # the code before the active pack was chosen in the database
        ActivePack = None
    if ActivePack is not None:
        with transaction() as db:  # what `pack use` writes
            db.add(ActivePack(id=1, pack=key, chosen_by="bench"))
        print(f"active_pack(), chosen in the database:    {per_call(active_pack)}")
    if args.postgres:  # the statement itself, without the round trip
        from sqlalchemy import text
        asked = getattr(pack_versions, "_ACTIVE", None)
        statement, params = (asked, {"default": key}) if asked is not None else (pack_versions._NEWEST, {"pack": key})
        with database.get_engine().connect() as conn:
            times = sorted(conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + statement.text), params)
                           .scalar()[0]["Execution Time"] for _ in range(200))
        print(f"its statement, EXPLAIN ANALYZE: median {times[100]:.3f} ms, 90th percentile {times[180]:.3f} ms")
    _, source = read_pack_files()
    with transaction() as db:
        pack_versions.deploy(db, pack_key=active_pack().key,
                             source=type(source)(source.pack_toml + "\n# a change\n", source.letters),
                             deployed_by="bench", change_note="a benchmark")
    start = time.perf_counter()
    active_pack()
    print(f"first active_pack() after a deploy (builds the version): {(time.perf_counter() - start) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()

"""What reading the deployed pack.toml costs each time a face asks for the active pack
(`pack.active_pack()`: one small query for the newest settings version, the Pack built once per
version), against the file-only cache it replaced, and what building a new version costs the
first request after a deploy. SQLite in a temporary folder, or PostgreSQL with --postgres URL.

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
    from workflows.definitions.pack import active_pack, files_pack, read_pack_files
    from workflows.platform.db import transaction
    with transaction() as db:
        deployment.install_pack(db, pack=files_pack(), installed_by="bench")

    def per_call(ask):
        ask()
        start = time.perf_counter()
        for _ in range(args.calls):
            ask()
        return (time.perf_counter() - start) / args.calls * 1e6

    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.calls} calls each")
    print(f"files_pack() (the file cache, as before): {per_call(files_pack):8.1f} µs a call")
    print(f"active_pack() (newest deployed version):  {per_call(active_pack):8.1f} µs a call")
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

"""Take docs/dashboard.png: the seeded compliance world (conftest.py) in a fresh SQLite
database, the web app on a local port with the clock at NOW, Chromium signed in as the Head of
Housing Management.
    python -m tests.compliance.screenshot docs/dashboard.png"""
import os
import sys
import tempfile
import threading


def main(path: str):
    folder = tempfile.mkdtemp(prefix="alertflow-shot-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/alertflow.db"
    from alembic import command
    from alembic.config import Config
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from tests.compliance.conftest import NOW, PASSWORD, Seeded
    from tests.helpers import Cli, DerbyWorld
    from webapp import create_app
    from workflows.accounts import credentials
    from workflows.platform import clock, config, db as database

    command.upgrade(Config(str(config.PROJECT_ROOT / "alembic.ini")), "head")
    cli = Cli()
    Seeded(DerbyWorld(cli), cli)
    with database.transaction() as db:
        credentials.set_password(db, username="hugo", password=PASSWORD, by="screenshot")
    clock.set_now(clock.parse_moment(NOW))
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900},
                                base_url=f"http://127.0.0.1:{server.server_port}")
        page.goto("/sign-in")
        page.get_by_label("Username").fill("hugo")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/inbox")
        page.goto("/compliance")
        page.screenshot(path=path, full_page=True)
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png")

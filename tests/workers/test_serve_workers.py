"""`alertflow serve --workers 2` as a real process on PostgreSQL: two web server processes and one
background process beside them; a signed-in person is served by either worker; each due review
fires exactly once although two workers run; Ctrl-C stops all of them."""
import os
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import func, select

from tests.conftest import free_port
from tests.helpers import PASSWORD, csrf_token
from tests.workers.conftest import wait_for
from tests.workers.seed import AFTER, seed_due_reviews
from workflows.definitions.pack import active_pack
from workflows.platform import db as database
from workflows.platform.models import AuditEvent, HumanTask

REVIEWS = 12


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def review_steps_per_case() -> list[int]:
    with database.transaction() as db:
        return list(db.scalars(select(func.count()).select_from(HumanTask)
                               .where(HumanTask.title == "Review the marker").group_by(HumanTask.case_id)))


def timers_fired() -> int:
    with database.transaction() as db:
        return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer_fired"))


def signed_in_session(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/sign-in", timeout=10).text
    answer = session.post(f"{base}/sign-in", timeout=10, allow_redirects=False, data={
        "username": "wendy", "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert answer.status_code == 302, answer.text
    return session


def test_two_web_workers_and_one_background_process(derby, cli, shared_clock, tmp_path):
    cli("users", "add", "wendy", "--name", "Wendy Ward", "--role", "asb_manager", "--password", PASSWORD)
    seed_due_reviews(active_pack(), REVIEWS)
    shared_clock.set(AFTER)
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen(
        [shutil.which("alertflow") or str(Path(os.sys.executable).parent / "alertflow"),
         "serve", "--workers", "2", "--port", str(port), "--minutes", "0.02"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "REDIS_URL": ""})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), "the server to answer", timeout=60)
        started = children(server.pid)
        lines = [command_line(pid) for pid in started]
        assert sum("--background-only" in line for line in lines) == 1, lines
        assert sum("--background-only" not in line for line in lines) == 2, lines

        # the background process fires every due review once, although two web workers run
        wait_for(lambda: timers_fired() >= REVIEWS, "the due reviews to fire", timeout=90)
        assert review_steps_per_case() == [1] * REVIEWS

        # one session, many requests at once: whichever worker answers knows the person
        session = signed_in_session(base)
        with ThreadPoolExecutor(8) as pool:
            pages = list(pool.map(lambda _: session.get(f"{base}/inbox", timeout=20), range(24)))
        assert {page.status_code for page in pages} == {200}
        assert all("Sign out wendy" in page.text and page.text.count("Review the marker") >= REVIEWS for page in pages)
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(30) == 0
        log.close()
    assert not [pid for pid in started if Path(f"/proc/{pid}").exists()
                and "zombie" not in Path(f"/proc/{pid}/status").read_text()], "a process outlived the server"
    assert "Booting worker" in (tmp_path / "serve.log").read_text()


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/sign-in", timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a worker still starting
        return False

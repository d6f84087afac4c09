"""The process pages' tests: Derby's world plus paula the process owner and cora the compliance
officer, all with a password; Flask's test client for HTTP; and for the browser test one live
server (waitress) per module and one headless Chromium per run."""
import re
from html import unescape

import pytest

from tests.conftest import serve_app
from tests.helpers import PASSWORD, USERS, Browser, Cli, DerbyWorld, one_hash_per_password, sign_in_with_chromium
from workflows.platform import config

STAFF = {"paula": "process_owner", "cora": "compliance_officer"}


def add_staff():
    """paula (process owner) and cora (compliance officer) beside Derby's staff, all with PASSWORD."""
    from workflows.accounts import credentials, people
    from workflows.platform.db import transaction
    from workflows.definitions.pack import active_pack
    with one_hash_per_password(), transaction() as db:
        for username, role in STAFF.items():
            people.add_user(db, pack=active_pack(), username=username, full_name=username.title(), roles=[role])
        for username in [*USERS, *STAFF]:
            credentials.set_password(db, username=username, password=PASSWORD, by="test")


def add_admin_ada():
    """ada the administrator (may look at the processes, not change them)."""
    from workflows.accounts import credentials, people
    from workflows.platform.db import transaction
    from workflows.definitions.pack import active_pack
    with one_hash_per_password(), transaction() as db:
        people.add_user(db, pack=active_pack(), username="ada", full_name="Ada Admin", roles=["admin"])
        credentials.set_password(db, username="ada", password=PASSWORD, by="test")


@pytest.fixture
def world(derby):
    add_staff()
    return derby


@pytest.fixture
def signed_in(app, world):
    return lambda username: Browser(app, username)


# --- the browser test: one database and server per module, one Chromium per run (tests/conftest.py) ---

@pytest.fixture(scope="module")
def live(live_database):
    """The real app under waitress on a free port, with the Derby world loaded: (base URL, world)."""
    world = DerbyWorld(Cli())
    add_staff()
    url, server = serve_app()
    yield url, world
    server.close()


@pytest.fixture
def browser_as(chromium, live):
    """A new browser context (its own cookies) signed in as someone; closed after the test."""
    contexts = []

    def open_as(username, width=1400, height=900):
        context = chromium.new_context(viewport={"width": width, "height": height}, base_url=live[0])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in_with_chromium(page, username)
        page.wait_for_url(lambda url: "/sign-in" not in url)  # where their role lands (lands_on)
        return page

    yield open_as
    for context in contexts:
        context.close()


# pages and diagrams as the process tests read them
DERBY_DIAGRAMS = config.PROJECT_ROOT / "bpmn" / "derby"


def text(response) -> str:
    """A page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(code|span|small|strong|em|a|time)\b[^>]*>", "", html)  # inline: no gap
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def review_xml() -> bytes:
    return (DERBY_DIAGRAMS / "derby_review.bpmn").read_bytes()


def edited(content: bytes, old: str, new: str) -> bytes:
    assert old.encode() in content, f"{old!r} not in the diagram"
    return content.replace(old.encode(), new.encode(), 1)

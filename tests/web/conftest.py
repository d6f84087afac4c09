"""The web app's tests: the Derby world with passwords, Flask's test client for HTTP, and for
the browser tests one live server (waitress) per module and one headless Chromium per run."""
import re

import pytest

from tests.conftest import serve_app
from tests.helpers import Cli, DerbyWorld, one_hash_per_password

PASSWORD = "correct horse battery"


def set_passwords(usernames):
    from workflows.accounts import credentials
    from workflows.platform.db import transaction
    with one_hash_per_password(), transaction() as db:
        for username in usernames:
            credentials.set_password(db, username=username, password=PASSWORD, by="test")


def add_admin():
    from workflows.accounts import people
    from workflows.platform.db import transaction
    from workflows.definitions.pack import active_pack
    with transaction() as db:
        people.add_user(db, pack=active_pack(), username="ada", full_name="Ada Admin", roles=["admin"])


@pytest.fixture
def world(derby):
    """Derby's staff (tests/helpers.py) plus ada the administrator, all with PASSWORD."""
    from tests.helpers import USERS
    add_admin()
    set_passwords([*USERS, "ada"])
    return derby


@pytest.fixture
def app(database_url):
    from webapp import create_app
    return create_app({"TESTING": True})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Browser:
    """Flask's test client, signed in as someone, posting forms with their CSRF token."""

    def __init__(self, app, username=None):
        self.client = app.test_client()
        if username:
            self.sign_in(username)

    def sign_in(self, username, password=PASSWORD):
        page = self.client.get("/sign-in").get_data(as_text=True)
        return self.client.post("/sign-in", data={"username": username, "password": password,
                                                  "csrf_token": csrf_token(page)})

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, token_from="/inbox"):
        page = self.client.get(token_from).get_data(as_text=True)
        return self.client.post(url, data={**(data or {}), "csrf_token": csrf_token(page)})


@pytest.fixture
def as_user(app):
    return lambda username=None: Browser(app, username)


# --- browser tests: one database and server per module, one Chromium per run (tests/conftest.py) ---

@pytest.fixture(scope="module")
def live_server(live_database):
    """The real app under waitress on a free port, with the Derby world loaded."""
    from tests.helpers import USERS

    DerbyWorld(Cli())
    add_admin()
    set_passwords([*USERS, "ada"])
    url, server = serve_app()
    yield url
    server.close()


@pytest.fixture
def sign_in_page(chromium, live_server):
    """A new browser context (its own cookies) signed in as someone; closed after the test."""
    contexts = []

    def open_as(username, width=1280, height=900):
        context = chromium.new_context(viewport={"width": width, "height": height}, base_url=live_server)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/sign-in")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/inbox")
        return page

    yield open_as
    for context in contexts:
        context.close()

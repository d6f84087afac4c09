"""The web app's tests: the Derby world with passwords, Flask's test client for HTTP, and for
the browser tests one live server (waitress) per module and one headless Chromium per run."""
import pytest
from sqlalchemy import select

from tests.conftest import serve_app
from tests.helpers import PASSWORD, RISK, Browser, Cli, DerbyWorld, one_hash_per_password, sign_in_with_chromium
from workflows.platform.db import transaction
from workflows.platform.models import Case, Letter



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
        sign_in_with_chromium(page, username)
        page.wait_for_url(lambda url: "/sign-in" not in url)  # where their role lands (lands_on)
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def records(world, cli):
    """An ordinary marker with a letter, a scheduled offender's marker with a letter and an
    appeal waiting on the Head of Housing Management, and a fresh report waiting on the ASB managers."""
    marker = {"place_marker": "yes", "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs",
              "inform_tenant": "yes", **RISK}
    alert = world.report("near_miss", customer="C3")
    world.complete("helen", world.open_task("helen", alert)["task"], {"assessment_method": "Talked", **marker})
    world.complete("tina", world.open_task("tina", alert)["task"], {"housing_system_reference": "RT-1"})
    ralert = world.report("rpo", customer="C2")
    world.complete("anna", world.open_task("anna", ralert)["task"],
                   {"offence_date": "2025-01-01", "offence_nature": "Scheduled", "scheduled_offender": "yes", **marker})
    cli("appeal", ralert, "--as", "anna", "--grounds", "Not a risk now")
    fresh = world.report("rpo", customer="C1")
    with transaction() as db:
        def one(query):
            return db.scalar(query.limit(1))
        ids = {
            "task": world.open_task("anna", fresh)["task"],
            "rtask": world.open_task("hugo", ralert)["task"],
            "alert": alert, "ralert": ralert,
            "case": one(select(Case.id).where(Case.alert_id == alert)),
            "rcase": one(select(Case.id).where(Case.alert_id == ralert)),
            "letter": one(select(Letter.id).where(Letter.alert_id == alert)),
            "rletter": one(select(Letter.id).where(Letter.alert_id == ralert)),
        }
    assert all(ids.values()), ids
    return ids

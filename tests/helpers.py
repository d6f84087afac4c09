"""Driving Alertflow through its command line, as staff would."""
import json
import re
from contextlib import contextmanager

from click.testing import CliRunner

from cli.main import main

PASSWORD = "correct horse battery"  # every account the web, process and compliance tests seed

USERS = {
    "sam": ["staff"], "tina": ["asb_team"], "anna": ["asb_manager"], "alex": ["asb_manager"],
    "carl": ["complex_needs_manager"], "helen": ["head_of_service"], "harry": ["head_of_service"],
    "ivy": ["investigating_officer"], "hugo": ["head_of_housing_management"],
    "arthur": ["area_housing_manager"], "sean": ["service_manager"], "pat": ["personnel_manager"],
}

RISK = {
    "risk_source": "Police", "risk_nature": "physical_harm", "evidence": "Incident log",
    "likelihood": "medium", "impact": "high", "decision_reason": "Real risk to staff",
}


_SEEDED_HASHES: dict[str, str] = {}


@contextmanager
def one_hash_per_password():
    """While a fixture seeds accounts: each password is hashed once per run (by the app's own
    generate_password_hash, its method and cost unchanged) and that hash is given to every
    account seeded with it, instead of a fresh scrypt hash (~0.1-0.2 s) per account per test.
    Only the salt is shared among seeded accounts; signing in still checks the hash at full cost,
    and a password set by a test itself (web page, `users password`) is hashed as in production."""
    from workflows.accounts import credentials

    real = credentials.generate_password_hash

    def hashed_once(password, *args, **kwargs):
        if args or kwargs:
            return real(password, *args, **kwargs)
        if password not in _SEEDED_HASHES:
            _SEEDED_HASHES[password] = real(password)
        return _SEEDED_HASHES[password]

    credentials.generate_password_hash = hashed_once
    try:
        yield
    finally:
        credentials.generate_password_hash = real


class Cli:
    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args, now=None):
        """Run a command that must succeed; returns what it printed."""
        result = self._run(args, now)
        assert result.exit_code == 0, f"alertflow {' '.join(map(str, args))}\n{result.output}{result.exception!r}"
        return result.stdout

    def fails(self, *args, now=None):
        """Run a command that must fail cleanly (status 1); returns its error output."""
        result = self._run(args, now)
        assert result.exit_code == 1, f"expected failure: alertflow {' '.join(map(str, args))}\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.stderr

    def json(self, *args, now=None):
        return json.loads(self(*args, "--json", now=now))

    def _run(self, args, now):
        argv = (["--now", now] if now else []) + [str(a) for a in args]
        return self.runner.invoke(main, argv)


def settings(values: dict) -> list[str]:
    """--set options for a form."""
    out = []
    for field, value in values.items():
        out += ["--set", f"{field}={value}"]
    return out


class DerbyWorld:
    def __init__(self, cli: Cli):
        self.cli = cli
        cli("pack", "deploy")
        for username, roles in USERS.items():
            cli("users", "add", username, "--name", username.title(), *sum((["--role", r] for r in roles), []))
        for ref, name in (("C1", "John Smith"), ("C2", "Mary Jones"), ("C3", "Peter Brown")):
            cli("customers", "add", ref, "--name", name, "--address", f"{ref[1:]} High Street, Derby",
                "--postcode", "DE1 1AA")

    def report(self, category, customer="C1", who="sam", now=None) -> int:
        out = self.cli("report", "--as", who, "--customer", customer, "--category", category,
                       "--description", "Something happened", now=now)
        return int(re.search(r"alert (\d+) reported", out).group(1))

    def inbox(self, who, now=None) -> list[dict]:
        return self.cli.json("inbox", "--as", who, now=now)

    def open_task(self, who, alert_id, now=None) -> dict:
        """The one open step for this alert in this person's inbox."""
        tasks = [t for t in self.inbox(who, now) if t["alert"] == alert_id]
        assert len(tasks) == 1, f"{who} has {len(tasks)} steps for alert {alert_id}: {tasks}"
        return tasks[0]

    def complete(self, who, task_id, values, now=None) -> str:
        return self.cli("task", "complete", task_id, "--as", who, *settings(values), now=now)

    def refuse(self, who, task_id, values, now=None) -> str:
        return self.cli.fails("task", "complete", task_id, "--as", who, *settings(values), now=now)

    def alert(self, alert_id, who="hugo", now=None) -> dict:
        return self.cli.json("alerts", "show", alert_id, "--as", who, now=now)

    def fire_timers(self, now) -> int:
        return int(self.cli("timers", "fire", now=now).split()[0])


# --- Derby's pack played through the command line, shared by the Derby tests ---------------------
RECORDED = "2026-03-04T10:00"  # when the ASB team puts a decided marker on the red triangle
MARKER = {"place_marker": "yes", "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs",
          "inform_tenant": "yes", **RISK}
KEEP = {"support_in_place": "Tenancy sustainment officer visits", "staff_information": "Two incidents reported by the repairs team", "risk_reduced": "no",
        "measures_proportionate": "yes", "review_outcome": "keep", "review_reason": "Risk unchanged",
        "inform_tenant": "yes"}


def record_on_red_triangle(derby, alert_id, now=RECORDED, change="place the marker", who="tina"):
    """The ASB team's step the register gave them for a change to the marker (§4): done with the
    red triangle's reference, and only with it."""
    task = derby.open_task(who, alert_id, now)
    assert task["kind"] == "housing_system" and task["title"] == f"Update the red triangle: {change}"
    assert "housing_system_reference" in derby.refuse(who, task["task"], {}, now=now)
    derby.complete(who, task["task"], {"housing_system_reference": "RT-1"}, now=now)
    assert not [t for t in derby.inbox(who, now) if t["alert"] == alert_id]


def place_near_miss_marker(derby, customer, now):
    """A near-miss marker decided, recorded and waiting for its first review."""
    alert_id = derby.report("near_miss", customer=customer, now=now)
    task = derby.open_task("helen", alert_id, now)
    derby.complete("helen", task["task"], {"assessment_method": "x", **MARKER}, now=now)
    record_on_red_triangle(derby, alert_id, now=now)
    return alert_id


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


# --- the web app through Flask's test client ---------------------------------------------------
def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


# --- two-step sign-in, as a person with an authenticator app does it -------------------------------
# The roles the pack marks ([pack] mfa_required_for: by default the administrator, process owner
# and compliance roles) sign in with a password and a code. The sign-in helpers below go through
# the real pages: at a first sign-in they enrol (read the key the set-up page shows, type a code
# from it), and later they type a current code, like the person's phone. Nothing in the product
# is bypassed.
_SECRETS: dict[tuple[str, str], str] = {}  # (DATABASE_URL, username) -> the key the helper enrolled with


def remember_secret(username: str, secret: str) -> None:
    import os
    _SECRETS[(os.environ.get("DATABASE_URL", ""), username)] = secret.replace(" ", "")


def current_code(username: str) -> str:
    """What the person's authenticator app shows now. A code works once (RFC 6238 §5.2), and a
    test may sign the same person in a dozen times within one 30-second step, which no person
    does: so the helper first forgets the step of the last code used. That changes the test's
    database only, as if the last sign-in were a minute ago; the once-only rule itself is tested
    in tests/web/test_second_factor.py."""
    import os

    import pyotp
    from sqlalchemy import update

    from workflows.platform.db import transaction
    from workflows.platform.models import User
    secret = _SECRETS[(os.environ.get("DATABASE_URL", ""), username)]
    with transaction() as db:
        db.execute(update(User).where(User.username == username).values(mfa_last_step=None))
    return pyotp.TOTP(secret).now()


def _location(response) -> str:
    return response.headers.get("Location", "") if response.status_code == 302 else ""


class Browser:
    """Flask's test client, signed in as someone, posting forms with their CSRF token."""

    def __init__(self, app, username=None, password=PASSWORD):
        self.client = app.test_client()
        if username:
            response = self.sign_in(username, password)
            assert response.status_code == 302, f"{username} could not sign in"

    def password_step(self, username, password=PASSWORD, url="/sign-in", **kw):
        page = self.client.get("/sign-in", **kw).get_data(as_text=True)
        return self.client.post(url, data={"username": username, "password": password,
                                           "csrf_token": csrf_token(page)}, **kw)

    def sign_in(self, username, password=PASSWORD, url="/sign-in", **kw):
        """Sign in as a person would; the answer to the last form sent (302 to the page asked
        for, when it worked). Two-step sign-in, where asked for: set up on the first sign-in
        (in a browser of its own), then a current code."""
        response = self.password_step(username, password, url, **kw)
        if _location(response).endswith("/sign-in/set-up"):
            Browser(self.client.application).enrol(username, password)
            response = self.password_step(username, password, url, **kw)
        if _location(response).endswith("/sign-in/code"):
            page = self.client.get("/sign-in/code", **kw).get_data(as_text=True)
            response = self.client.post("/sign-in/code", data={"code": current_code(username),
                                                               "csrf_token": csrf_token(page)}, **kw)
        return response

    def enrol(self, username, password=PASSWORD) -> list[str]:
        """A first sign-in that sets two-step sign-in up; returns the recovery codes shown."""
        response = self.password_step(username, password)
        assert _location(response).endswith("/sign-in/set-up"), f"{username} was not asked to set up a code"
        page = self.client.get("/sign-in/set-up").get_data(as_text=True)
        secret = re.search(r'id="secret">([^<]+)<', page).group(1)
        remember_secret(username, secret)
        import pyotp
        done = self.client.post("/sign-in/set-up", data={"code": pyotp.TOTP(secret.replace(" ", "")).now(),
                                                         "csrf_token": csrf_token(page)})
        assert done.status_code == 200 and 'id="recovery-codes"' in done.get_data(as_text=True), done.get_data(as_text=True)
        return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def token(self, page="/inbox"):
        return csrf_token(self.client.get(page).get_data(as_text=True))

    def post(self, url, data=None, token_from="/inbox", **kw):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token(token_from)}, **kw)

    def upload(self, content: bytes, filename="diagram.bpmn", action="check", note="A change tested"):
        from io import BytesIO
        return self.post("/processes/upload", {"diagram": (BytesIO(content), filename), "action": action,
                                               "change_note": note}, content_type="multipart/form-data")


def sign_in_with_chromium(page, username, password=PASSWORD):
    """Sign in on a Playwright page as a person would, the second step too (see current_code);
    leaves the page where sign-in lands."""
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/sign-in/set-up" in page.url:
        remember_secret(username, page.locator("#secret").inner_text())
        page.get_by_label("Code").fill(current_code(username))
        page.get_by_role("button", name="Confirm and sign in").click()
        page.get_by_role("link", name="I have kept them: continue").click()
    elif "/sign-in/code" in page.url:
        page.get_by_label("Code").fill(current_code(username))
        page.get_by_role("button", name="Sign in").click()


def settings_edited_by_hand():
    """The pack folder's pack.toml and letters put in the database as its newest settings version
    without the check, as someone editing the database by hand would: for tests of what the engine
    still refuses at run time (a letter reading a field the case lacks)."""
    from workflows.definitions import pack_versions
    from workflows.definitions.pack import read_pack_files
    from workflows.platform.db import transaction
    from workflows.platform import config
    _, source = read_pack_files()
    with transaction() as db:
        pack_versions.deploy(db, pack_key=config.pack_name(), source=source, deployed_by="test",
                             change_note="edited by hand, unchecked")


# --- the modeler in Chromium: what the browser tests and the process owner's screenshots both do ---

def open_review_timer(page, select=True):
    """The review timer (selected on the canvas, or already), its Timer group open: the Value box."""
    if select:
        page.locator('.djs-element[data-element-id="due"]').click()
    value = page.locator("#bio-properties-panel-timerEventDefinitionValue")
    if not value.is_visible():
        page.locator('[data-group-id="group-timer"] .bio-properties-panel-group-header').click()
    return value


def draw_choice_without_default(page):
    """With the modeler's own tools: a choice ('choice', "Which way?") after the start, with two ends
    and no default flow (a finding the check names)."""
    page.evaluate("""() => { const m = alertflowModeler, modeling = m.get('modeling');
        const start = m.get('elementRegistry').get('start');
        const gateway = modeling.appendShape(start, {type: 'bpmn:ExclusiveGateway'}, {x: 380, y: 140});
        modeling.updateProperties(gateway, {id: 'choice', name: 'Which way?'});
        modeling.appendShape(gateway, {type: 'bpmn:EndEvent'}, {x: 520, y: 140});
        modeling.appendShape(gateway, {type: 'bpmn:EndEvent'}, {x: 520, y: 220}); }""")

"""Issue 17: a captured session cookie dies with sign-out, a new password, a role change or a
switch-off; failed sign-ins hold up the guessing address at that name only, with a ceiling, and
answer the same for unknown names; the last administrator stays; nobody is left without roles.
Sign-in throttling counts on the business clock (moved here); sessions count real time."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import PASSWORD, Browser
from workflows.accounts import credentials
from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.models import User

ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


def captured(app, browser):
    """A second client holding a copy of the browser's session cookie, as a thief would."""
    name = app.config["SESSION_COOKIE_NAME"]
    thief = Browser(app)
    thief.client.set_cookie(name, browser.client.get_cookie(name).value)
    return thief


def signed_out(browser):
    response = browser.get("/inbox")
    return response.status_code == 302 and "/sign-in" in response.headers["Location"]


ANNA_AS_SHE_IS = {"roles": "asb_manager", "active": "y"}
CHANGES = {
    "sign-out": lambda anna, ada, cli: anna.post("/sign-out"),
    "password on the admin page": lambda anna, ada, cli: ada.post(
        "/admin/users/anna", {**ANNA_AS_SHE_IS, "password": "a new password"}, token_from="/admin/users/anna"),
    "password on the command line": lambda anna, ada, cli: cli("users", "password", "anna", "--password", "a new password"),
    "role on the admin page": lambda anna, ada, cli: ada.post(
        "/admin/users/anna", {**ANNA_AS_SHE_IS, "roles": ["asb_manager", "asb_team"]}, token_from="/admin/users/anna"),
    "role on the command line": lambda anna, ada, cli: cli("users", "roles", "anna", "--add", "asb_team"),
    "switched off on the admin page": lambda anna, ada, cli: ada.post(
        "/admin/users/anna", {"roles": "asb_manager"}, token_from="/admin/users/anna"),
    "switched off on the command line": lambda anna, ada, cli: cli("users", "deactivate", "anna"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_captured_session_cookie_stops_working(world, app, cli, change):
    anna, ada, alex = Browser(app, "anna"), Browser(app, "ada"), Browser(app, "alex")
    thief = captured(app, anna)
    assert thief.get("/inbox").status_code == 200  # the copy works, until...
    CHANGES[change](anna, ada, cli)
    assert signed_out(thief)
    assert signed_out(anna)
    assert alex.get("/inbox").status_code == 200  # only anna's sessions end
    assert ada.get("/inbox").status_code == 200


def test_saving_a_user_unchanged_keeps_their_session(world, app):
    anna, ada = Browser(app, "anna"), Browser(app, "ada")
    assert ada.post("/admin/users/anna", ANNA_AS_SHE_IS, token_from="/admin/users/anna").status_code == 302
    assert anna.get("/inbox").status_code == 200


def test_signing_in_again_after_sign_out_gives_a_working_session(world, app):
    anna = Browser(app, "anna")
    anna.post("/sign-out")
    assert anna.sign_in("anna").status_code == 302
    assert anna.get("/inbox").status_code == 200


# --- failed sign-ins ---

def _from(app, address):
    browser = Browser(app)
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser


def _page(response):
    return response.get_data(as_text=True)


def test_unknown_and_held_off_names_get_the_same_answer(world, app):
    clock.set_now(clock.parse_moment("2026-05-01T09:00"))
    guesser = _from(app, ATTACKER)
    for _ in range(3):
        known, unknown = guesser.sign_in("anna", "wrong password"), guesser.sign_in("annabel", "wrong password")
        assert known.status_code == unknown.status_code == 401
        assert credentials.REFUSED in _page(known) and credentials.REFUSED in _page(unknown)
    known, unknown = guesser.sign_in("anna", "wrong password"), guesser.sign_in("annabel", "wrong password")
    assert known.status_code == unknown.status_code == 401
    message = "Too many failed sign-ins with this username. Try again in 2 seconds."
    assert message in _page(known) and message in _page(unknown)
    assert "for this account" not in _page(known)
    with transaction() as db:  # the same through the accounts functions
        answers = {credentials.sign_in(db, username=name, password="wrong password", address=ATTACKER).message
                   for name in ("anna", "annabel")}
    assert answers == {message}


def test_every_answer_costs_one_password_check(world, monkeypatch):
    """The same work for a known name, an unknown one, a held-off one and a held-off address."""
    checks = []
    real = credentials.check_password_hash
    monkeypatch.setattr(credentials, "check_password_hash", lambda *a: checks.append(1) or real(*a))
    clock.set_now(clock.parse_moment("2026-05-01T09:00"))

    def attempt(name, password="wrong password", address=ATTACKER):
        checks.clear()
        with transaction() as db:
            result = credentials.sign_in(db, username=name, password=password, address=address)
        assert len(checks) == 1, (name, result.message)
        return result

    for name in ("anna", "nobody", "anna", "nobody", "anna", "nobody"):
        assert attempt(name).message == credentials.REFUSED
    assert "Try again" in attempt("anna", PASSWORD).message  # held off, even the right password
    assert "Try again" in attempt("nobody").message
    for n in range(credentials.ADDRESS_FAILURES):
        attempt(f"sprayed{n}")
    assert "from this network address" in attempt("alex", PASSWORD).message


def test_an_attackers_misses_do_not_lock_the_owner_out(world, app):
    clock.set_now(clock.parse_moment("2026-05-01T09:00"))
    attacker = _from(app, ATTACKER)
    for _ in range(5):
        attacker.sign_in("anna", "wrong password")
    assert "Try again" in _page(attacker.sign_in("anna"))  # the attacker's address is held off
    assert _from(app, OWNER).sign_in("anna").status_code == 302  # anna at her own desk is not
    assert attacker.sign_in("alex").status_code == 302  # nor is another name from that address


def test_the_eleventh_guess_from_one_address_is_refused_until_the_window_passes(world, app):
    start = clock.parse_moment("2026-05-01T09:00")
    clock.set_now(start)
    guesser, now = _from(app, ATTACKER), start
    for failures in range(credentials.PAIR_FAILURES):
        now += timedelta(seconds=credentials.wait_seconds(failures) + 1)  # waiting out each doubling wait
        clock.set_now(now)
        assert credentials.REFUSED in _page(guesser.sign_in("anna", f"guess {failures}"))
    # well past the doubling wait for ten misses, yet inside the window: still refused
    clock.set_now(now + timedelta(seconds=credentials.wait_seconds(credentials.PAIR_FAILURES) + 1))
    eleventh = guesser.sign_in("anna")
    assert eleventh.status_code == 401 and "Try again in" in _page(eleventh) and "minutes" in _page(eleventh)
    first_failure = start + timedelta(seconds=1)
    clock.set_now(first_failure + credentials.ADDRESS_WINDOW - timedelta(seconds=1))
    assert guesser.sign_in("anna").status_code == 401
    clock.set_now(first_failure + credentials.ADDRESS_WINDOW + timedelta(seconds=1))
    assert guesser.sign_in("anna").status_code == 302  # the window has passed


def test_a_new_password_forgives_the_failures_at_that_name(world, app, cli):
    clock.set_now(clock.parse_moment("2026-05-01T09:00"))
    guesser = _from(app, ATTACKER)
    for _ in range(4):
        guesser.sign_in("anna", "wrong password")
    cli("users", "password", "anna", "--password", "a fresh password")
    assert guesser.sign_in("anna", "a fresh password").status_code == 302


# --- the last administrator, and roles ---

def _roles(username):
    with transaction() as db:
        user = db.scalar(select(User).where(User.username == username))
        return user.role_keys, user.active


def test_the_only_administrator_keeps_the_role_and_stays_on_on_the_admin_page(world, app, cli):
    ada = Browser(app, "ada")
    refused = ada.post("/admin/users/ada", {"roles": "staff", "active": "y"}, token_from="/admin/users/ada")
    assert refused.status_code == 422
    assert "ada is the only active administrator and cannot lose the administrator role" in _page(refused)
    refused = ada.post("/admin/users/ada", {"roles": "admin"}, token_from="/admin/users/ada")  # active unticked
    assert refused.status_code == 422
    assert "ada is the only active administrator and cannot be switched off" in _page(refused)
    assert _roles("ada") == ({"admin"}, True)
    cli("users", "roles", "alex", "--add", "admin")
    ok = ada.post("/admin/users/ada", {"roles": "staff", "active": "y"}, token_from="/admin/users/ada")
    assert ok.status_code == 302 and _roles("ada") == ({"staff"}, True)  # another administrator remains


def test_the_only_administrator_keeps_the_role_and_stays_on_on_the_command_line(world, cli):
    assert ("error: ada is the only active administrator and cannot lose the administrator role"
            in cli.fails("users", "roles", "ada", "--remove", "admin", "--add", "staff"))
    assert "error: ada is the only active administrator and cannot be switched off" in cli.fails("users", "deactivate", "ada")
    assert _roles("ada") == ({"admin"}, True)
    cli("users", "add", "adam", "--name", "Adam", "--role", "admin")
    cli("users", "deactivate", "adam")  # an inactive administrator does not count
    assert "only active administrator" in cli.fails("users", "deactivate", "ada")
    cli("users", "activate", "adam")
    cli("users", "deactivate", "ada")
    assert _roles("ada") == ({"admin"}, False)


def test_a_user_cannot_be_left_with_no_roles(world, app, cli):
    ada = Browser(app, "ada")
    refused = ada.post("/admin/users/anna", {"active": "y", "password": "a new password"}, token_from="/admin/users/anna")
    assert refused.status_code == 422
    assert "anna would be left with no roles: a user needs at least one role" in _page(refused)
    assert _roles("anna") == ({"asb_manager"}, True)
    assert Browser(app).sign_in("anna").status_code == 302  # the password in the same form was not saved
    assert ("error: anna would be left with no roles: a user needs at least one role"
            in cli.fails("users", "roles", "anna", "--remove", "asb_manager"))
    assert "error: give the user at least one role" in cli.fails("users", "add", "rolf", "--name", "Rolf")
    with transaction() as db:
        assert db.scalar(select(User).where(User.username == "rolf")) is None
    assert _roles("anna") == ({"asb_manager"}, True)

"""Signing in and out over HTTP: hashed passwords, throttled failures, expiring sessions, the
admin page for users and roles, and passwords set from the command line."""
import re
import time
from datetime import timedelta

from sqlalchemy import func, select

from tests.helpers import PASSWORD, Browser
from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.models import AuditEvent, User


def test_passwords_are_stored_hashed_and_sign_out_ends_the_session(world, as_user):
    with transaction() as db:
        stored = db.scalar(select(User.password_hash).where(User.username == "anna"))
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    anna = as_user("anna")
    assert anna.get("/inbox").status_code == 200
    assert anna.post("/sign-out").status_code == 302
    response = anna.get("/inbox")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_wrong_password_is_refused_and_repeated_failures_are_slowed(world, as_user):
    clock.set_now(clock.parse_moment("2026-05-01T09:00"))
    browser = as_user()
    for _ in range(3):
        response = browser.sign_in("anna", "wrong password")
        assert response.status_code == 401
        assert "do not match an active account" in response.get_data(as_text=True)
    # the fourth try, even with the right password, must wait
    response = browser.sign_in("anna")
    assert response.status_code == 401 and "Try again in 2 seconds" in response.get_data(as_text=True)
    clock.set_now(clock.parse_moment("2026-05-01T09:00:03"))
    browser.sign_in("anna", "wrong again")
    clock.set_now(clock.parse_moment("2026-05-01T09:00:05"))
    assert "Try again in 2 seconds" in browser.sign_in("anna").get_data(as_text=True)  # 4 misses: 4 s
    clock.set_now(clock.parse_moment("2026-05-01T09:00:08"))
    assert browser.sign_in("anna").status_code == 302  # waited: the right password works, the count resets
    for _ in range(3):  # three misses again before any wait
        assert "do not match an active account" in browser.sign_in("anna", "wrong password").get_data(as_text=True)
    assert as_user().sign_in("nobody", "whatever").status_code == 401  # unknown names answer the same


def test_many_failures_from_one_address_slow_that_address_whichever_names_it_tries(world, app):
    """Password spraying: one password against many accounts, from one address."""
    from workflows.accounts import credentials

    clock.set_now(clock.parse_moment("2026-05-01T09:00"))
    sprayer, colleague = Browser(app), Browser(app)
    sprayer.client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    colleague.client.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    names = [f"user{n}" for n in range(credentials.ADDRESS_FAILURES - 2)] + ["anna", "bob"]  # none of them thrice
    for name in names:
        assert sprayer.sign_in(name, "Summer2026!").status_code == 401
    refused = sprayer.sign_in("carl")  # even the right password, from that address
    assert refused.status_code == 401
    assert "Too many failed sign-ins from this network address. Try again in 15 minutes." in refused.get_data(as_text=True)
    assert colleague.sign_in("carl").status_code == 302  # another address is not held up
    clock.set_now(clock.parse_moment("2026-05-01T09:15:01"))
    assert sprayer.sign_in("carl").status_code == 302  # the window has passed
    with transaction() as db:
        throttled = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sign_in_throttled"))
    assert throttled == 1


def test_sessions_expire(world, app):
    app.config["SESSION_IDLE"] = timedelta(seconds=1)
    browser = Browser(app, "anna")
    assert browser.get("/inbox").status_code == 200
    time.sleep(2.2)
    response = browser.get("/inbox")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_session_ends_at_its_maximum_age_however_busy(world, as_user, monkeypatch):
    from webapp import auth
    monkeypatch.setattr(auth, "SESSION_MAX_AGE", timedelta(seconds=2))  # twelve hours, unless configured
    anna = as_user("anna")
    for _ in range(3):  # in use all the while: the idle limit never comes into it
        assert anna.get("/inbox").status_code == 200
        time.sleep(0.5)
    time.sleep(1.0)
    response = anna.get("/inbox")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert anna.get("/inbox").status_code == 302  # signed out, not just turned away once
    assert "please sign in again" in anna.get("/sign-in").get_data(as_text=True)


def test_the_admin_page_adds_users_changes_roles_and_switches_accounts_off(world, as_user):
    ada = as_user("ada")
    bad = ada.post("/admin/users", {"username": "", "full_name": "Zoe", "password": "short"}, token_from="/admin/users")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for field, message in (("username", "Enter a username"), ("password", "At least 8 characters"),
                           ("roles", "Give at least one role")):
        assert message in page, field
    with transaction() as db:
        assert db.scalar(select(User).where(User.full_name == "Zoe")) is None  # nothing half-saved
    ok = ada.post("/admin/users", {"username": "zoe", "full_name": "Zoe", "roles": "asb_team",
                                   "password": "zoe's password"}, token_from="/admin/users")
    assert ok.status_code == 302
    zoe = as_user()
    assert zoe.sign_in("zoe", "zoe's password").status_code == 302
    assert zoe.get("/compliance/register").status_code == 200  # the ASB team reads the register (pack.toml)
    ada.post("/admin/users/zoe", {"roles": "staff", "active": "y"}, token_from="/admin/users/zoe")
    assert zoe.get("/compliance/register").status_code == 302  # a role change applies at once: signed out
    assert zoe.sign_in("zoe", "zoe's password").status_code == 302
    assert zoe.get("/compliance/register").status_code == 403  # in the new role, no register
    ada.post("/admin/users/zoe", {"roles": "staff"}, token_from="/admin/users/zoe")  # active unticked
    assert zoe.get("/inbox").status_code == 302  # switched off: signed out
    assert as_user().sign_in("zoe", "zoe's password").status_code == 401


def test_passwords_from_the_command_line(world, cli, as_user):
    cli("users", "add", "nina", "--name", "Nina", "--role", "staff", "--password", "first password")
    assert as_user().sign_in("nina", "first password").status_code == 302
    cli("users", "password", "nina", "--password", "second password")
    assert as_user().sign_in("nina", "first password").status_code == 401
    assert as_user().sign_in("nina", "second password").status_code == 302
    assert "at least 8 characters" in cli.fails("users", "password", "nina", "--password", "short")


def test_a_manager_reassigns_a_step_to_someone_who_may_do_it(world, as_user):
    alert = world.report("rpo")
    task = world.open_task("anna", alert)["task"]
    helen = as_user("helen")
    page = helen.get(f"/tasks/{task}").get_data(as_text=True)
    assert re.findall(r'<option value="([a-z]+)">', page) == ["alex", "anna"]  # the ASB managers
    refused = helen.post(f"/tasks/{task}/reassign", {"assignee": "sam"})
    assert refused.status_code == 403 and "sam does not hold the ASB Manager role" in refused.get_data(as_text=True)
    assert helen.post(f"/tasks/{task}/reassign", {"assignee": "alex"}).status_code == 302
    assert f'data-task="{task}"' in as_user("alex").get("/inbox").get_data(as_text=True).split('id="unclaimed"')[0]
    assert f'data-task="{task}"' not in as_user("anna").get("/inbox").get_data(as_text=True)
    assert as_user("anna").post(f"/tasks/{task}/reassign", {"assignee": "anna"}).status_code == 403  # a peer may not


def test_an_administrator_records_someone_away_and_nothing_is_half_saved(world, as_user):
    ada = as_user("ada")
    bad = ada.post("/admin/users/anna", {"roles": ["asb_manager", "asb_team"], "active": "y",
                                         "away_from": "2026-06-10", "away_until": "2026-06-01"},
                   token_from="/admin/users/anna")
    assert bad.status_code == 422
    assert "the last day away (2026-06-01) is before the first (2026-06-10)" in bad.get_data(as_text=True)
    with transaction() as db:  # the role given in the same form was not saved either
        assert db.scalar(select(User).where(User.username == "anna")).role_keys == {"asb_manager"}
    ok = ada.post("/admin/users/anna", {"roles": "asb_manager", "active": "y", "away_from": "2026-06-01",
                                        "away_until": "2026-06-10"}, token_from="/admin/users/anna")
    assert ok.status_code == 302
    with transaction() as db:
        anna = db.scalar(select(User).where(User.username == "anna"))
        assert (str(anna.away_from), str(anna.away_until)) == ("2026-06-01", "2026-06-10")
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user_away")) == 1


def test_a_refused_name_is_shown_beside_the_name_not_the_username(world, as_user):
    ada = as_user("ada")
    page = ada.post("/admin/users", {"username": "zed", "full_name": "Zed\u0007 Smith", "roles": "asb_team",
                                     "password": "zed's long password"}, token_from="/admin/users")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert re.search(r'<p class="error" id="full_name-error">full name contains a control character \(U\+0007\) '
                     r'at position 4; remove it</p>', html), html
    assert 'id="username-error"' not in html

"""Two-step sign-in for the roles the pack marks ([pack] mfa_required_for; by default the
administrator, process owner and compliance roles), through the web pages and the command line:
enrolment right after the password, a code (or a recovery code, once) at every sign-in after,
wrong codes held off like wrong passwords, an administrator's reset; other roles are not asked."""
from datetime import timedelta

import pyotp
from sqlalchemy import select

from tests.helpers import PASSWORD, Browser, csrf_token
from workflows.accounts import second_factor
from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.models import AuditEvent, MfaRecoveryCode, User


def events(action):
    with transaction() as db:
        return [e.detail | {"actor": e.actor} for e in db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def secret_on(page: str) -> str:
    import re
    return re.search(r'id="secret">([^<]+)<', page).group(1).replace(" ", "")


def send_code(browser, code, url="/sign-in/code"):
    page = browser.get(url).get_data(as_text=True)
    return browser.client.post(url, data={"code": code, "csrf_token": csrf_token(page)})


def test_a_marked_role_sets_up_a_code_right_after_the_password_and_reaches_nothing_before(world, app):
    ada = Browser(app)
    response = ada.password_step("ada")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in/set-up"
    # not signed in: every page, by URL, sends her back to set the code up
    for url in ("/inbox", "/admin/users", "/alerts", "/sign-in/code", "/api/openapi.json"):
        got = ada.get(url)
        assert got.status_code == 302 and got.headers["Location"] == "/sign-in/set-up", (url, got.status_code)
    page = ada.get("/sign-in/set-up").get_data(as_text=True)
    assert "<svg" in page and 'id="qr-code"' in page and "otpauth://totp/" in page  # the QR code, inline
    secret = secret_on(page)
    assert secret == secret_on(ada.get("/sign-in/set-up").get_data(as_text=True))  # a reload keeps the key
    with transaction() as db:  # stored encrypted, not as the key itself
        stored = db.scalar(select(User.mfa_secret).where(User.username == "ada"))
        assert secret not in stored
    wrong = send_code(ada, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111", "/sign-in/set-up")
    assert wrong.status_code == 401 and second_factor.REFUSED in wrong.get_data(as_text=True)
    assert ada.get("/inbox").status_code == 302
    done = send_code(ada, pyotp.TOTP(secret).now(), "/sign-in/set-up")
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and body.count("<li><code>") == second_factor.RECOVERY_CODES
    assert ada.get("/admin/users").status_code == 200  # signed in now
    assert [e["actor"] for e in events("mfa_enrolled")] == ["ada"]
    assert [e["reason"] for e in events("mfa_code_failed")] == ["wrong code at enrolment"]


def test_after_set_up_every_sign_in_asks_for_a_code_which_works_once(world, app):
    Browser(app).enrol("ada")
    with transaction() as db:
        secret = second_factor._secret(db.scalar(select(User).where(User.username == "ada")))
    first = Browser(app)
    assert first.password_step("ada").headers["Location"] == "/sign-in/code"
    assert first.get("/admin/users").headers["Location"] == "/sign-in/code"
    code = pyotp.TOTP(secret).now()
    wrong = send_code(first, str((int(code) + 1) % 1_000_000).zfill(6))
    assert wrong.status_code == 401 and second_factor.REFUSED in wrong.get_data(as_text=True)
    with transaction() as db:  # the enrolment's code is spent: make way for a fresh one in this step
        db.get(User, db.scalar(select(User.id).where(User.username == "ada"))).mfa_last_step -= 1
    signed_in = send_code(first, code)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/admin/users"  # where ada's role lands
    assert first.get("/admin/users").status_code == 200
    # the same code, seen over her shoulder, does not sign anyone else in
    thief = Browser(app)
    thief.password_step("ada")
    replay = send_code(thief, code)
    assert replay.status_code == 401 and thief.get("/inbox").status_code == 302


def test_a_recovery_code_signs_in_once_only(world, app):
    codes = Browser(app).enrol("ada")
    assert len(codes) == second_factor.RECOVERY_CODES and len(set(codes)) == len(codes)
    with transaction() as db:  # kept as hashes only
        hashes = set(db.scalars(select(MfaRecoveryCode.code_hash)))
        assert len(hashes) == len(codes) and not hashes & set(codes)
    once = Browser(app)
    once.password_step("ada")
    assert send_code(once, codes[0].upper().replace("-", " ")).status_code == 302  # as typed from paper
    again = Browser(app)
    again.password_step("ada")
    refused = send_code(again, codes[0])
    assert refused.status_code == 401 and second_factor.REFUSED in refused.get_data(as_text=True)
    assert send_code(again, codes[1]).status_code == 302
    assert [e["codes_left"] for e in events("mfa_recovery_code_used")] == [9, 8]


def test_wrong_codes_are_held_off_like_wrong_passwords(world, app):
    Browser(app).enrol("ada")
    with transaction() as db:
        secret = second_factor._secret(db.scalar(select(User).where(User.username == "ada")))
    guesser = Browser(app)
    guesser.password_step("ada")
    right = pyotp.TOTP(secret).now()
    wrong = str((int(right) + 500_000) % 1_000_000).zfill(6)
    start = clock.now()
    clock.set_now(start)
    for _ in range(3):
        assert second_factor.REFUSED in send_code(guesser, wrong).get_data(as_text=True)
    held = send_code(guesser, wrong).get_data(as_text=True)
    assert "Too many wrong codes for this account. Try again in 2 seconds." in held
    # counted against the account, not the browser or the address: a fresh sign-in is held too
    other = Browser(app)
    other.password_step("ada")
    assert "Too many wrong codes" in send_code(other, right).get_data(as_text=True)
    for seconds in (10, 30, 60, 120, 180, 300, 480):  # waiting out each doubling hold: 2, 4, ... 128 s
        clock.set_now(start + timedelta(seconds=seconds))
        assert second_factor.REFUSED in send_code(guesser, wrong).get_data(as_text=True)
    clock.set_now(start + timedelta(seconds=700))  # 10 wrong in the window: no code until it has passed
    assert "Too many wrong codes for this account. Try again in 4 minutes." in send_code(other, right).get_data(as_text=True)
    assert events("mfa_code_throttled")


def test_roles_the_pack_does_not_mark_sign_in_with_a_password_alone(world, app):
    for username, lands in (("anna", "/inbox"), ("sam", "/check"), ("hugo", "/inbox")):
        response = Browser(app).password_step(username)
        assert response.status_code == 302 and response.headers["Location"] == lands, username
    assert not events("mfa_passed") and not events("mfa_enrolled")


def test_the_command_line_resets_someones_two_step_sign_in_as_an_administrator(world, app, cli):
    ada = Browser(app, "ada")  # enrolled, signed in
    assert "may not reset two-step sign-in: only an administrator" in cli.fails("users", "reset-mfa", "ada", "--as", "anna")
    assert "two-step sign-in reset for ada" in cli("users", "reset-mfa", "ada", "--as", "ada")
    assert ada.get("/admin/users").status_code == 302  # her sessions ended
    assert Browser(app).password_step("ada").headers["Location"] == "/sign-in/set-up"  # she sets it up again
    assert [(e["actor"], e["username"]) for e in events("mfa_reset")] == [("ada", "ada")]
    assert "nothing to reset" in cli.fails("users", "reset-mfa", "ada", "--as", "ada")


def test_an_administrator_resets_someones_two_step_sign_in_on_their_page(world, app, cli):
    cli("users", "add", "adam", "--name", "Adam", "--role", "admin", "--password", PASSWORD)
    ada, adam = Browser(app, "ada"), Browser(app, "adam")
    page = adam.get("/admin/users/ada").get_data(as_text=True)
    assert "Set up on " in page and 'id="reset-two-step"' in page
    response = adam.post("/admin/users/ada/reset-two-step", token_from="/admin/users/ada")
    assert response.status_code == 302
    assert "Not set up yet: their role needs it" in adam.get("/admin/users/ada").get_data(as_text=True)
    assert ada.get("/inbox").status_code == 302
    assert [(e["actor"], e["username"]) for e in events("mfa_reset")] == [("adam", "ada")]
    assert Browser(app).password_step("anna").status_code == 302  # and anna never needed it
    assert "Not set up (their roles do not need it)." in adam.get("/admin/users/anna").get_data(as_text=True)


def test_the_pack_says_which_roles_need_it_and_the_check_refuses_an_unknown_role(pack_dir, cli, app):
    toml = pack_dir / "pack.toml"
    text = toml.read_text()
    toml.write_text(text.replace("[pack]\n", '[pack]\nmfa_required_for = ["asb_manger"]\n', 1))
    assert "[pack] mfa_required_for names unknown roles ['asb_manger']" in cli.fails("pack", "check")
    toml.write_text(text.replace("[pack]\n", '[pack]\nmfa_required_for = ["asb_manager"]\n', 1))
    cli("pack", "deploy")
    cli("users", "add", "anna", "--name", "Anna", "--role", "asb_manager", "--password", PASSWORD)
    cli("users", "add", "ada", "--name", "Ada", "--role", "admin", "--password", PASSWORD)
    assert Browser(app).password_step("anna").headers["Location"] == "/sign-in/set-up"
    assert Browser(app).password_step("ada").headers["Location"] == "/admin/users"  # the pack unmarked the administrator


def test_a_half_signed_in_session_lapses_if_the_account_changes_meanwhile(world, app, cli):
    ada = Browser(app)
    ada.password_step("ada")
    cli("users", "password", "ada", "--password", "a new password")
    response = ada.get("/sign-in/set-up")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert ada.get("/inbox").headers["Location"].startswith("/sign-in")


def test_a_new_key_takes_over_the_secrets_and_nobody_sets_their_app_up_again(world, app, cli, monkeypatch):
    from cryptography.fernet import Fernet
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("ALERTFLOW_MFA_KEY", old)
    Browser(app).enrol("ada")
    monkeypatch.setenv("ALERTFLOW_MFA_KEY", f"{new},{old}")
    assert "1 two-step sign-in secrets re-encrypted" in cli("users", "rekey-mfa")
    monkeypatch.setenv("ALERTFLOW_MFA_KEY", new)  # the old key dropped
    assert Browser(app).sign_in("ada").headers["Location"] == "/admin/users"
    monkeypatch.setenv("ALERTFLOW_MFA_KEY", old)  # a server with the wrong key says so, no server error
    ada = Browser(app)
    ada.password_step("ada")
    refused = send_code(ada, "123456")
    assert refused.status_code == 422 and "cannot be read with the key this server has" in refused.get_data(as_text=True)

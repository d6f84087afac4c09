"""Two-step sign-in in real headless Chromium under the app's Content-Security-Policy: the
administrator's first sign-in sets it up (the QR code drawn as inline SVG, the key as text), and
her next sign-in takes a code from the key, as her authenticator app would give it."""
import time

import pyotp
from playwright.sync_api import expect

from tests.helpers import PASSWORD


def test_an_administrator_sets_up_two_step_sign_in_then_signs_in_with_a_code(chromium, live_server):
    context = chromium.new_context(base_url=live_server)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        violations = []
        page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
        page.goto("/sign-in")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/sign-in/set-up")
        qr = page.locator("#qr-code svg")
        assert qr.is_visible() and qr.bounding_box()["width"] >= 150  # drawn, big enough to scan
        secret = page.locator("#secret").inner_text().replace(" ", "")
        page.goto("/admin/users")  # nothing else until it is set up
        page.wait_for_url("**/sign-in/set-up")
        page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Confirm and sign in").click()
        expect(page.locator("#recovery-codes li")).to_have_count(10)  # once the next page has loaded
        page.get_by_role("link", name="I have kept them: continue").click()
        page.wait_for_url("**/admin/users")  # where the administrator lands
        page.get_by_role("button", name="Sign out ada").click()
        page.wait_for_url("**/sign-in")

        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/sign-in/code")
        page.get_by_label("Code").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        page.get_by_role("button", name="Sign in").click()
        assert "That code is not right" in page.locator("#code-problem").inner_text()
        totp = pyotp.TOTP(secret)  # the set-up spent this 30 seconds' code: the app's next one is taken too
        page.get_by_label("Code").fill(totp.at(time.time() + totp.interval))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/admin/users")  # where the administrator lands
        assert page.goto("/admin/users").status == 200 and page.url.endswith("/admin/users")
        assert not violations, violations
    finally:
        context.close()

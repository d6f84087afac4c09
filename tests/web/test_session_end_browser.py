"""In a real Chromium: a long assessment's answers survive the session ending before the form is
sent (idle past ALERTFLOW_SESSION_MINUTES): sign in again and they are back on the form."""
import re
import time

import pytest
from playwright.sync_api import expect

from tests.helpers import PASSWORD, Cli, sign_in_with_chromium

# long enough that signing in and opening the step fit in one idle span on a loaded CI machine (at
# 6 seconds, the task page was once asked for after the session had ended)
SESSION_SECONDS = 15


@pytest.fixture(scope="module")
def live_server(live_database):
    """This module's own server, whose sessions end after SESSION_SECONDS idle."""
    from tests.conftest import serve_app
    from tests.helpers import USERS, DerbyWorld
    from tests.web.conftest import add_admin, set_passwords
    DerbyWorld(Cli())
    add_admin()
    set_passwords([*USERS, "ada"])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ALERTFLOW_SESSION_MINUTES", str(SESSION_SECONDS / 60))
        url, server = serve_app()
    yield url
    server.close()


def test_answers_typed_before_the_session_ended_are_back_on_the_form_after_signing_in(chromium, live_server):
    out = Cli()("report", "--as", "sam", "--customer", "C2", "--category", "rpo", "--description", "Long form")
    alert_id = re.search(r"alert (\d+) reported", out).group(1)
    context = chromium.new_context(base_url=live_server)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in_with_chromium(page, "anna")
        page.locator("#unclaimed tr", has_text=f"alert {alert_id}").get_by_role("link").click()
        page.wait_for_url("**/tasks/*")
        task_url = page.url
        page.locator("#f-offence_nature").fill("Convicted of assault, 2019")
        # the manager is called away; the session ends meanwhile (the draft saved a second after typing
        # counts as use, so the wait runs past the idle span by more than that)
        time.sleep(SESSION_SECONDS + 4)
        page.locator("#f-evidence").fill("Police disclosure of 3 May")  # typed just before sending
        page.get_by_role("button", name="Complete this step").click()
        page.wait_for_url("**/sign-in**")
        expect(page.locator(".flash")).to_contain_text("Your answers are kept: sign in again")
        page.get_by_label("Username").fill("anna")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(task_url)
        expect(page.locator("#draft-restored")).to_contain_text("Your unsaved answers from")
        expect(page.locator("#f-offence_nature")).to_have_value("Convicted of assault, 2019")
        expect(page.locator("#f-evidence")).to_have_value("Police disclosure of 3 May")
    finally:
        context.close()

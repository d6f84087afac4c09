"""Work not lost: a step's answers kept as a draft while typed (across a closed tab), kept when the
form is sent after the session ended, and a concern's answers kept while searching for the customer."""
import re
import time
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.helpers import Cli
from workflows.platform.db import transaction
from workflows.platform.models import Alert, HumanTask, TaskDraft, TaskStatus

TYPED = {"offence_nature": "Convicted of assault, 2019", "risk_source": "Police", "likelihood": "high"}


def drafts():
    with transaction() as db:
        return {(d.task_id, d.username): d.answers for d in db.scalars(select(TaskDraft))}


def status(task_id):
    with transaction() as db:
        return db.get(HumanTask, task_id).status


def test_a_draft_comes_back_on_the_form_until_the_step_is_completed(records, world, as_user):
    task = records["task"]
    anna = as_user("anna")
    saved = anna.post(f"/tasks/{task}/draft", {**TYPED, "not_a_field": "x"}, token_from=f"/tasks/{task}")
    assert saved.status_code == 200 and saved.json["saved"].startswith("Draft saved at ")
    assert drafts() == {(task, "anna"): TYPED}  # only the step's own fields are kept
    page = anna.get(f"/tasks/{task}").get_data(as_text=True)
    assert "Your unsaved answers from" in page, page
    assert ">Convicted of assault, 2019</textarea>" in page and '<option value="high" selected>' in page

    # someone who may not work the step keeps no draft of it, and sees none
    sam = as_user("sam")
    refused = sam.post(f"/tasks/{task}/draft", TYPED, token_from="/report")
    assert refused.status_code in (403, 404) and list(drafts()) == [(task, "anna")]

    world.complete("anna", task, {"offence_date": "2025-01-01", "offence_nature": "Scheduled",
                                  "scheduled_offender": "no", "place_marker": "no", "risk_source": "Police",
                                  "risk_nature": "physical_harm", "evidence": "Log", "likelihood": "low",
                                  "impact": "low", "decision_reason": "No risk now"})
    assert drafts() == {}  # the answers are the step's now


def test_a_draft_saved_while_the_step_is_sent_cannot_undo_what_the_step_said(records, as_user):
    """The session lives in the cookie: a draft save still on its way when the form goes answers
    last, and if it sent the cookie back it would be the cookie as it was before the step, without
    the step's "done" message. A request that changes nothing in the session sends no cookie."""
    task = records["task"]
    anna = as_user("anna")
    token = anna.token(f"/tasks/{task}")
    late_save = anna.client.post(f"/tasks/{task}/draft", data={**TYPED, "csrf_token": token},
                                 headers={"X-CSRFToken": token})
    assert late_save.status_code == 200 and "Set-Cookie" not in late_save.headers
    assert "Set-Cookie" not in anna.client.get("/inbox/counts.json").headers
    assert "Set-Cookie" not in anna.client.get("/inbox").headers


def test_a_session_in_use_stays_signed_in_though_the_cookie_is_not_sent_each_time(records, app, as_user):
    app.config["SESSION_IDLE"] = timedelta(seconds=2)
    anna = as_user("anna")
    for _ in range(6):  # 3.6 s in all, each request well inside the idle time of the one before
        time.sleep(0.6)
        assert anna.get("/inbox").status_code == 200
    time.sleep(2.2)
    assert "/sign-in" in anna.get("/inbox").headers["Location"]


def test_a_draft_can_be_discarded(records, as_user):
    task = records["task"]
    anna = as_user("anna")
    anna.post(f"/tasks/{task}/draft", TYPED, token_from=f"/tasks/{task}")
    anna.post(f"/tasks/{task}/draft/discard", token_from=f"/tasks/{task}")
    assert drafts() == {}
    assert "Your unsaved answers from" not in anna.get(f"/tasks/{task}").get_data(as_text=True)


def test_a_step_sent_after_the_session_ended_keeps_its_answers_for_after_signing_in(records, app, as_user):
    task = records["task"]
    app.config["SESSION_IDLE"] = timedelta(seconds=1)
    anna = as_user("anna")
    token = anna.token(f"/tasks/{task}")
    time.sleep(2.2)  # idle past the session's lifetime (its age is counted in whole seconds)
    sent = anna.client.post(f"/tasks/{task}/complete", data={**TYPED, "csrf_token": token})
    assert sent.status_code == 302 and sent.headers["Location"].startswith("/sign-in?next=")
    assert status(task) == TaskStatus.READY  # nothing was completed
    sign_in_page = anna.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Your answers are kept: sign in again" in sign_in_page
    app.config["SESSION_IDLE"] = timedelta(minutes=30)
    back = anna.sign_in("anna", url=sent.headers["Location"])
    assert back.headers["Location"] == f"/tasks/{task}"
    page = anna.get(f"/tasks/{task}").get_data(as_text=True)
    assert ">Convicted of assault, 2019</textarea>" in page and "Your unsaved answers from" in page


def test_a_forged_or_stale_form_keeps_nothing(records, app, as_user):
    task = records["task"]
    anna = as_user("anna")
    forged = anna.client.post(f"/tasks/{task}/complete", data={**TYPED, "csrf_token": "forged"})
    assert forged.status_code == 400 and "Form expired" in forged.get_data(as_text=True)
    # a session ended in another browser (Flask-Login's strong protection) keeps nothing either
    app.config["SESSION_IDLE"] = timedelta(seconds=1)
    token = anna.token(f"/tasks/{task}")
    time.sleep(2.2)
    other_browser = anna.client.post(f"/tasks/{task}/complete", data={**TYPED, "csrf_token": token},
                                     headers={"User-Agent": "Another browser"})
    assert other_browser.status_code == 302 and drafts() == {}  # signed out, nothing kept


def test_a_session_past_its_longest_life_keeps_the_answers_too(records, as_user, monkeypatch):
    import webapp.auth
    task = records["task"]
    anna = as_user("anna")
    token = anna.token(f"/tasks/{task}")
    monkeypatch.setattr(webapp.auth, "SESSION_MAX_AGE", timedelta(seconds=0))  # ALERTFLOW_SESSION_MAX_HOURS
    sent = anna.client.post(f"/tasks/{task}/complete", data={**TYPED, "csrf_token": token})
    assert sent.status_code == 302 and f"next=/tasks/{task}" in sent.headers["Location"].replace("%2F", "/")
    assert drafts() == {(task, "anna"): TYPED} and status(task) == TaskStatus.READY


def test_searching_for_the_customer_keeps_what_was_typed_about_the_concern(world, as_user):
    sam = as_user("sam")
    page = sam.post("/report", {"q": "Jones", "find": "1", "category": "rpo",
                                "description": "He shouted at me on the stairs"}, token_from="/report")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "He shouted at me on the stairs</textarea>" in html and '<option data-on="person" selected value="rpo">' in html
    assert "(C2)" in html or "Jones" in html  # the customers found are offered
    assert 'class="error"' not in html  # searching is not reporting: nothing is judged yet
    with transaction() as db:
        assert db.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_draft_survives_closing_the_tab(chromium, live_server):
    from tests.helpers import sign_in_with_chromium
    out = Cli()("report", "--as", "sam", "--customer", "C2", "--category", "rpo", "--description", "Draft")
    alert_id = re.search(r"alert (\d+) reported", out).group(1)
    context = chromium.new_context(base_url=live_server)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in_with_chromium(page, "anna")
        page.wait_for_url("**/inbox")
        page.locator("#unclaimed tr", has_text=f"alert {alert_id}").get_by_role("link").click()
        task_url = page.url
        with page.expect_response(lambda r: r.url.endswith("/draft") and r.ok):
            page.locator("#f-offence_nature").fill("Convicted of assault, 2019")
        expect(page.locator("#draft-status")).to_contain_text("Draft saved at")
        page.close()  # the tab closed without completing the step
        again = context.new_page()
        again.goto(task_url)
        expect(again.locator("#draft-restored")).to_contain_text("Your unsaved answers from")
        expect(again.locator("#f-offence_nature")).to_have_value("Convicted of assault, 2019")
    finally:
        context.close()


def test_the_task_and_case_pages_reflow_at_320_pixels(sign_in_page):
    """WCAG 2.2 reflow (1.4.10): nothing scrolls sideways at 320 CSS pixels wide."""
    out = Cli()("report", "--as", "sam", "--customer", "C2", "--category", "rpo", "--description", "Narrow")
    alert_id = re.search(r"alert (\d+) reported", out).group(1)
    page = sign_in_page("anna", width=320, height=640)
    page.locator("#unclaimed tr", has_text=f"alert {alert_id}").get_by_role("link").click()
    widths = {}
    for name in ("task", "case"):
        # measure only once the page has arrived: the click returns while it is still loading
        if name == "task":
            page.get_by_role("link", name="Case page").wait_for()
        else:
            page.get_by_role("link", name="Case page").click()
            page.wait_for_selector("#diagram")
        page.wait_for_load_state()
        widths[name] = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert all(scroll <= client for scroll, client in widths.values()), widths


def test_the_accessibility_statement_is_open_to_everyone_and_linked_from_every_page(chromium, live_server):
    context = chromium.new_context(base_url=live_server)
    try:
        page = context.new_page()
        page.goto("/sign-in")
        page.get_by_role("link", name="Accessibility statement").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Accessibility statement")
        expect(page.locator("main")).to_contain_text("WCAG) 2.2 at level AA")
    finally:
        context.close()

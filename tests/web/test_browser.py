"""Real headless Chromium against the real app under waitress: staff and managers take a Derby
case from report to marker to appeal through the pages alone, meet a validation error, race
each other to the same step, and use the pages at phone width with the keyboard."""
import os
import re
from datetime import datetime, timezone

from playwright.sync_api import expect

SCREENSHOTS = os.environ.get("ALERTFLOW_SCREENSHOTS")  # a folder: save the README's screenshots there

OFFENDER = {
    "offence_date": "2025-01-01", "offence_nature": "Assault occasioning actual bodily harm (2024)", "scheduled_offender": "no",
    "risk_source": "Police", "risk_nature": "physical_harm", "evidence": "Police disclosure letter",
    "likelihood": "medium", "impact": "high", "place_marker": "yes", "decision_reason": "Recent violence",
    "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs,phone_before_visiting",
    "inform_tenant": "yes",
}


def fill(page, values):
    """Answer a task form as a person would: type, pick, tick."""
    for name, value in values.items():
        single = page.locator(f"#f-{name}")
        if single.count():
            if single.evaluate("e => e.tagName") == "SELECT":
                single.select_option(value)
            else:
                single.fill(value)
            continue
        for choice in value.split(","):
            page.locator(f"#field-{name} input[value='{choice}']").check()


def flash(page):
    return page.locator(".flash").inner_text()


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def unlabelled(page):
    """Form controls on the page with no label a screen reader would read."""
    return page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name || e.id)""")


def test_a_derby_case_from_report_to_marker_to_appeal(sign_in_page):
    sam = sign_in_page("sam")
    sam.get_by_role("link", name="Report a concern").click()
    sam.get_by_label("Find the customer").fill("Smith")
    sam.get_by_role("button", name="Search").click()
    sam.get_by_label(re.compile("John Smith")).check()
    sam.get_by_label("What kind of concern").select_option(label="RPO or criminal offender")
    sam.get_by_label("What happened").fill("Probation told us he was convicted of assault last year.")
    assert unlabelled(sam) == []
    sam.get_by_role("button", name="Report").click()
    expect(sam.locator(".flash")).to_contain_text("It is with the ASB Manager")
    alert_id = re.search(r"alert (\d+)", flash(sam)).group(1)

    anna = sign_in_page("anna")
    row = anna.locator("#unclaimed tr", has_text="John Smith")
    expect(row).to_contain_text("Assess risk from offending")
    row.get_by_role("button", name=re.compile("Claim")).click()
    expect(anna.locator(".flash")).to_contain_text("is now yours")
    anna.get_by_role("link", name="Inbox").click()
    expect(anna.locator("#nav-inbox .count").first).to_have_text("1")  # the header counts what is mine
    anna.locator("#mine").get_by_role("link", name=re.compile("Assess risk from offending")).click()
    expect(anna.get_by_role("heading", name="The story so far")).to_be_visible()
    expect(anna.locator(".story")).to_contain_text("Probation told us he was convicted")
    assert unlabelled(anna) == []

    # half an answer: the server says what is missing, beside each field, and saves nothing
    fill(anna, {k: v for k, v in OFFENDER.items() if k not in ("marker_text", "evidence")})
    anna.locator("#f-offence_nature").fill("")
    anna.get_by_role("button", name="Complete this step").click()
    expect(anna.locator("#error-summary")).to_contain_text("3 answers need attention")
    expect(anna.locator("#error-summary")).to_be_focused()
    expect(anna.locator("#field-evidence .error")).to_have_text("Fill in 'Evidence considered'")
    expect(anna.locator("#field-marker_text .error")).to_contain_text("Fill in 'Marker wording staff will see")
    expect(anna.locator("#field-offence_nature .error")).to_have_text("Fill in 'Nature of the offence(s)'")
    expect(anna.locator("#field-decision_reason .error")).to_have_count(0)
    expect(anna.locator("#f-decision_reason")).to_have_value("Recent violence")  # what was typed is kept
    shot(anna, "task-form.png")
    fill(anna, OFFENDER)
    anna.get_by_role("button", name="Complete this step").click()
    expect(anna.locator(".flash")).to_contain_text("is in the inbox of ASB Team")

    tina = sign_in_page("tina")
    tina.locator("#unclaimed").get_by_role("link", name=re.compile("Update the red triangle")).click()
    expect(tina.locator("#instructions")).to_contain_text("Instruction to staff:")  # what to enter on the red triangle
    expect(tina.locator("#instructions")).not_to_contain_text("Recent violence")  # never the reasons
    fill(tina, {"housing_system_reference": "RT-77"})
    tina.get_by_role("button", name="Complete this step").click()
    expect(tina.locator(".flash")).to_contain_text("No further step is waiting")

    sam.get_by_role("link", name="Check before visiting").click()
    sam.get_by_label("Customer name, reference or address").fill("John Smith")
    sam.get_by_role("button", name="Check").click()
    expect(sam.locator(".check.marker")).to_contain_text("Visit in pairs")
    expect(sam.locator(".check.marker")).not_to_contain_text("Recent violence")  # never the reasons

    tina.goto(f"/alerts/{alert_id}")
    expect(tina.locator("#diagram")).to_have_attribute("data-drawn", "true")
    expect(tina.locator("#diagram .djs-element.done").first).to_be_attached()
    letter = tina.get_by_role("link", name="Download PDF")
    pdf = tina.request.get(letter.get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M")
    tina.get_by_label("How it was delivered").select_option("hand delivered")
    tina.get_by_label("When it was delivered").fill(now)
    tina.get_by_role("button", name="Record delivery").click()
    expect(tina.locator(".delivered")).to_contain_text("hand delivered")

    tina.get_by_label("The tenant's grounds for appeal").fill("He says he has changed.")
    tina.get_by_role("button", name="Record appeal").click()
    expect(tina.locator(".flash")).to_contain_text("The appeal is recorded")
    expect(tina.locator("#diagram")).to_have_attribute("data-drawn", "true")
    expect(tina.locator("#diagram .djs-element.current")).to_have_count(1)  # waiting at the hearing
    drawn_at = tina.locator("#diagram .viewport").get_attribute("transform")
    tina.get_by_role("button", name="Zoom in").click()  # zoom by keyboard or pointer, without a wheel
    expect(tina.locator("#diagram .viewport")).not_to_have_attribute("transform", drawn_at)
    shot(tina, "case.png")

    assert "Hear the appeal" not in anna.goto("/inbox").text()  # not the one who decided
    helen = sign_in_page("helen")
    shot(helen, "inbox.png")
    helen.locator("#unclaimed").get_by_role("link", name="Hear the appeal").click()
    fill(helen, {"appeal_outcome": "uphold", "appeal_reasons": "The assessment was sound."})
    helen.get_by_role("button", name="Complete this step").click()
    expect(helen.locator(".flash")).to_contain_text("Done: 'Hear the appeal'")
    helen.goto(f"/alerts/{alert_id}")
    expect(helen.locator(".timeline")).to_contain_text("appeal decided")
    expect(helen.get_by_role("link", name="Download PDF")).to_have_count(2)  # the outcome letter too


def test_two_managers_complete_the_same_step_at_once(sign_in_page, live_server):
    from tests.helpers import Cli
    out = Cli()("report", "--as", "sam", "--customer", "C2", "--category", "rpo", "--description", "Race")
    alert_id = re.search(r"alert (\d+) reported", out).group(1)
    pages = [sign_in_page("anna"), sign_in_page("alex")]
    for page in pages:
        page.locator("#unclaimed tr", has_text=f"alert {alert_id}").get_by_role("link").click()
        fill(page, {**OFFENDER, "marker_text": f"Decided by {page.locator('.top button.link').inner_text()}"})
    for page in pages:  # the drafts saved as they typed have been answered (a save still in flight
        page.wait_for_load_state("networkidle")  # rewrites the session cookie, the flash with it)
    # both forms go at the same moment: submit without waiting, then see where each landed
    for page in pages:
        page.evaluate("document.getElementById('task-form').requestSubmit()")
    for page in pages:
        page.wait_for_load_state()
    outcomes = []
    for page in pages:
        page.wait_for_selector(".flash, #problem")
        outcomes.append(page.locator(".flash, #problem").first.inner_text())
    won = [o for o in outcomes if o.startswith("Done")]
    lost = [o for o in outcomes if not o.startswith("Done")]
    assert len(won) == 1 and len(lost) == 1, outcomes
    winner = "anna" if outcomes[0] in won else "alex"
    assert f"was completed by {winner} at the same moment; nothing you entered was saved" in lost[0], lost[0]


def test_check_before_visiting_at_phone_width_by_keyboard(chromium, live_server):
    context = chromium.new_context(viewport={"width": 375, "height": 740}, base_url=live_server)
    page = context.new_page()
    page.goto("/check")
    for _ in range(6):  # signed out: sent to sign in; Tab to the username as a keyboard user would
        if page.evaluate("document.activeElement.id") == "username":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("sam")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_url("**/check")  # back where they were going
    expect(page.locator("#q")).to_be_focused()  # the search box has the focus (once the page has loaded)
    page.keyboard.type("High Street")
    page.keyboard.press("Enter")
    expect(page.locator("article.check")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing off the side
    assert unlabelled(page) == []
    page.goto("/inbox")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()


def test_a_follow_up_appears_only_when_it_applies_and_a_failed_submit_focuses_the_summary(sign_in_page):
    """Issue 18: the requiredWhen follow-up shows once its condition holds (form.js), hides again
    when it does not; after a failed submit the summary has the focus and its links reach the fields."""
    from tests.helpers import Cli
    cli = Cli()  # the live server's Derby world
    out = cli("report", "--as", "sam", "--customer", "C2", "--category", "partner_info", "--description", "Told")
    alert_id = int(re.search(r"alert (\d+) reported", out).group(1))
    task = [t for t in cli.json("inbox", "--as", "anna") if t["alert"] == alert_id][0]["task"]
    anna = sign_in_page("anna")
    anna.goto(f"/tasks/{task}")
    follow_up = anna.locator("#field-complex_needs_input")
    expect(follow_up).to_be_hidden()  # not asked until it applies
    anna.locator("#f-complex_needs_consulted-yes").check()
    expect(follow_up).to_be_visible()
    expect(follow_up).to_contain_text("required if you answered Yes to 'Support sought from the Complex Needs Manager?'")
    anna.locator("#f-complex_needs_consulted-no").check()
    expect(follow_up).to_be_hidden()
    anna.locator("#f-complex_needs_consulted-yes").check()
    anna.get_by_role("button", name="Complete this step").click()  # nothing else answered
    summary = anna.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name=re.compile("Complex Needs Manager's input"))).to_be_visible()
    expect(follow_up).to_be_visible()  # the answers say it applies, so it is shown with its error
    summary.get_by_role("link", name=re.compile("Fill in 'Evidence considered'")).click()
    expect(anna.locator("#f-evidence")).to_be_focused()

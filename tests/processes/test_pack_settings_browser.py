"""Real headless Chromium against the real app under waitress: a process owner edits Derby's letter
telling a tenant of a new marker and a review setting of pack.toml (`review_from_due_date`) on the
web, checks them, sees in the impact table the running case whose late review's successor would
fall due on another day, deploys them with a change note (shown in the versions list), and a new
case uses both at once, with no restart: its letter carries the new line, and its late review's
successor counts from the day it was held. The case in the table gets the date the table gave; a
case already waiting keeps the review date it was given."""
import re

from playwright.sync_api import expect

from tests.helpers import KEEP, place_near_miss_marker
from tests.processes.test_modeler_browser import at

PHONE_LINE = "Questions? Call the ASB team on 01332 888777."


def test_a_letter_and_a_review_setting_edited_on_the_web_checked_deployed_and_used_by_a_new_case(browser_as, live):
    _, derby = live
    # a review due on 1 January 2026, under way and late on the day the settings are changed
    late = place_near_miss_marker(derby, "C3", "2025-07-01T09:00")
    assert derby.fire_timers("2026-01-01T09:01") == 1
    late_review = derby.open_task("helen", late, "2026-01-01T09:01")
    late_case = next(t["case"] for t in derby.alert(late)["tasks"] if t["task"] == late_review["task"])
    waiting = place_near_miss_marker(derby, "C1", "2026-01-10T09:00")
    assert PHONE_LINE not in derby.alert(waiting)["letters"][0]["body"]

    paula = browser_as("paula")
    with at("2026-01-10T12:00"):
        paula.goto("/processes")
        paula.get_by_role("link", name="pack.toml and letters").click()
        expect(paula.locator("#settings-version-1 .change-note")).to_have_text("installed from the pack's files")
        paula.get_by_role("link", name="Edit pack.toml and letters").click()

        letter = paula.get_by_label("Letter template letters/marker_placed.txt")
        letter.fill(letter.input_value() + PHONE_LINE + "\n")
        toml = paula.get_by_label("pack.toml", exact=True)
        expect(toml).to_have_value(re.compile(r"^# Derby Homes"))
        toml.fill(toml.input_value().replace("[pack]\n", "[pack]\nreview_from_due_date = false\n", 1))
        paula.get_by_role("button", name="Check").click()
        result = paula.locator("#check-result")
        expect(result).to_contain_text("No problems found")
        expect(result.locator("ul.changes li")).to_have_text([
            "added [pack] review_from_due_date = false",
            "changed letter template letters/marker_placed.txt:",
            f"+{PHONE_LINE}"])
        # what would change for the cases running now: the late review's successor, counted from today
        table = result.locator("#impact-settings")
        expect(table.locator("caption")).to_contain_text("1 case or marker something changes for (0 could not go on)")
        row = table.locator(f"#impact-case-{late_case}")
        expect(row).to_contain_text(f"A{late:06d}")
        expect(row.locator(".verdict")).to_have_text("yes")
        expect(row.locator(".moves")).to_have_text(
            "its next review, once this late review (due 1 January 2026) is done, moves from 1 July 2026 to "
            "10 July 2026 (were it done today, 10 January 2026)")
        # the edit came back as typed: deploy it with a change note
        expect(paula.get_by_label("Letter template letters/marker_placed.txt")).to_have_value(re.compile(re.escape(PHONE_LINE)))
        paula.get_by_label(re.compile("Change note")).fill("Reviews count from the day held; our number in the letter")
        paula.get_by_role("button", name="Deploy as a new version").click()
        expect(paula.locator(".flash")).to_contain_text("Deployed pack.toml and letters version 2")
        expect(paula.locator("#settings-version-2 .change-note")).to_contain_text(
            "Reviews count from the day held; our number in the letter")
        expect(paula.locator("#settings-version-2 .deployed-by")).to_have_text("paula")

    # the late review done that day: its successor falls due on the day the table gave
    derby.complete("helen", late_review["task"], KEEP, now="2026-01-10T12:00")
    assert derby.alert(late)["next_review_at"].startswith("2026-07-10")
    # a new case uses both, in the same running server and command line
    new = place_near_miss_marker(derby, "C2", "2026-01-10T09:00")
    assert PHONE_LINE in derby.alert(new)["letters"][0]["body"]
    assert PHONE_LINE not in derby.alert(waiting)["letters"][0]["body"]  # a letter issued keeps its text
    assert derby.alert(new)["next_review_at"].startswith("2026-07-10")
    assert derby.fire_timers("2026-07-10T09:01") == 2
    review = derby.open_task("helen", new, "2026-07-10T09:01")
    derby.complete("helen", review["task"], KEEP, now="2026-07-20T09:00")  # ten days late
    assert derby.alert(new)["next_review_at"].startswith("2027-01-20")  # from the day held, as deployed

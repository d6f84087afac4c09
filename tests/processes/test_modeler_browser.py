"""Real headless Chromium against the real app under waitress: a process owner changes Derby's
six-monthly review to three months in the web modeler (the timer's value, typed into the
properties panel), checks and deploys it; a new case's review falls due after three months
while an existing case's stays at six; the existing case is migrated after a dry run, and its
next review follows the new version."""
import re

from playwright.sync_api import expect

from tests.helpers import open_review_timer
from workflows.platform import clock, config


def elements(xml: bytes) -> list:
    """A diagram as its elements, each with its attributes, its text (whitespace aside) and the
    id of the element it belongs to; in no particular order, as the modeler may draw lanes in
    another order."""
    from lxml import etree

    def owner(e):
        e = e.getparent()
        while e is not None and not e.get("id"):
            e = e.getparent()
        return e.get("id") if e is not None else None

    return sorted(repr((owner(e), e.tag, sorted(e.attrib.items()), (e.text or "").strip()))
                  for e in etree.fromstring(xml).iter() if isinstance(e.tag, str))


def at(moment: str):
    """Run the web app's requests at a moment: the live server reads the one clock."""
    return clock.frozen_at(clock.parse_moment(moment))


def test_the_review_period_changed_in_the_web_modeler_checked_deployed_and_cases_migrated(browser_as, live):
    from tests.helpers import place_near_miss_marker
    from tests.helpers import KEEP
    _, derby = live
    existing = place_near_miss_marker(derby, "C1", "2026-01-10T09:00")
    assert derby.alert(existing)["next_review_at"].startswith("2026-07-10")

    paula = browser_as("paula")
    with at("2026-01-10T12:00"):
        paula.goto("/processes")
        versions = paula.locator("#process-derby_review")
        expect(versions.locator("#version-derby_review-1 .running")).to_have_text("1")
        versions.get_by_role("link", name="Edit in the modeler").click()
        expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")

        # select the review timer on the canvas and type the new duration into the properties panel
        value = open_review_timer(paula)
        expect(value).to_have_value("P6M")
        value.fill("P3M")
        value.press("Tab")

        paula.get_by_role("button", name="Check").click()
        result = paula.locator("#check-result")
        expect(result).to_contain_text("No problems found in derby_review.bpmn")
        # the modeler saved the whole file back, and the only change is the edit
        expect(result.locator("ul.changes li")).to_have_text(["changed 'due' timer: timeDuration P6M -> timeDuration P3M"])
        expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
        paula.get_by_label(re.compile("Change note")).fill("Reviews every three months (board decision)")
        paula.get_by_role("button", name="Deploy as a new version").click()
        expect(paula.locator(".flash")).to_contain_text("Deployed derby_review version 2")
        expect(paula.locator("#version-derby_review-2 .deployed-by")).to_have_text("paula")
        expect(paula.locator("#version-derby_review-2 .change-note")).to_have_text(
            "Reviews every three months (board decision)")
        expect(paula.locator("#version-derby_review-1 .running")).to_have_text("1")

    # what the modeler saved is the file it opened, element for element, apart from the edit
    v1 = paula.request.get("/processes/derby_review/versions/1/download").body()
    v2 = paula.request.get("/processes/derby_review/versions/2/download").body()
    assert v1 == (config.PROJECT_ROOT / "bpmn" / "derby" / "derby_review.bpmn").read_bytes()
    from collections import Counter
    before, after = Counter(elements(v1)), Counter(elements(v2))
    timer = "('due_def', '{http://www.omg.org/spec/BPMN/20100524/MODEL}timeDuration', " \
            "[('{http://www.w3.org/2001/XMLSchema-instance}type', 'bpmn:tFormalExpression')], '%s')"
    assert list((before - after).elements()) == [timer % "P6M"]
    assert list((after - before).elements()) == [timer % "P3M"]

    # a new case follows version 2; the existing case stays at six months
    new = place_near_miss_marker(derby, "C2", "2026-01-10T09:00")
    assert derby.alert(new)["next_review_at"].startswith("2026-04-10")
    assert derby.alert(existing)["next_review_at"].startswith("2026-07-10")

    with at("2026-01-11T09:00"):
        paula.goto("/processes/derby_review/changes")
        expect(paula.locator("#changes li")).to_have_text(["changed 'due' timer: timeDuration P6M -> timeDuration P3M"])
        paula.goto("/processes")
        paula.get_by_role("link", name="Migrate waiting cases to version 2").click()
        moves = paula.locator("#moves")
        expect(moves.locator("caption")).to_contain_text("Dry run: 1 running case on other versions, 1 can move")
        expect(moves.locator("tbody tr")).to_have_count(1)
        expect(moves.locator("tbody tr .verdict")).to_have_text("can move")
        expect(moves).to_contain_text(f"alert {existing}")
        paula.get_by_role("button", name=re.compile("Move the 1 case")).click()
        expect(paula.locator(".flash")).to_contain_text("Moved 1 case to version 2")
        expect(paula.locator("#moves tbody tr .verdict")).to_have_text("moved")

    # the migrated case kept its start (10 January) and follows three months; so does its next review
    alert = derby.alert(existing)
    assert alert["next_review_at"].startswith("2026-04-10T09:00")
    assert [c["version"] for c in alert["cases"] if c["kind"] == "review"] == [2]
    assert [e["actor"] for e in alert["events"] if e["action"] == "case_migrated"] == ["paula"]
    assert derby.fire_timers("2026-04-10T09:01") == 2  # both markers' reviews fall due together
    review = derby.open_task("helen", existing, "2026-04-10T09:01")
    derby.complete("helen", review["task"], KEEP, now="2026-04-11T09:00")
    assert derby.alert(existing)["next_review_at"].startswith("2026-07-10T09:00")  # three months from the due date, not the late day


def test_a_finding_about_a_timer_selects_the_event_holding_it(browser_as, live):
    """The check names a timer's definition (due_def): Show in the diagram selects its event."""
    paula = browser_as("paula")
    paula.goto("/processes/derby_review/edit")
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    value = open_review_timer(paula)
    value.fill("3 months")
    value.press("Tab")
    paula.get_by_role("button", name="Check").click()
    finding = paula.locator(".findings li[data-element='due_def']")
    expect(finding).to_contain_text("'3 months' is not an ISO 8601 duration: write P3M")
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    paula.evaluate("alertflowModeler.get('selection').select([])")
    finding.get_by_role("button", name="Show in the diagram").click()
    assert paula.evaluate("alertflowModeler.get('selection').get().map(e => e.id)") == ["due"]
    expect(paula.locator("#properties")).to_contain_text("Six months")

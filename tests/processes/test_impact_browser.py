"""Real headless Chromium against the real app: a process owner changes Derby's review from six
months to three in the web modeler, checks it and sees, before deploying, the running case whose
next review would move (10 July 2026 to 10 April 2026); deploys it. Then creates a new process
(a blank diagram with the pack's lanes), is warned before leaving it unsaved, clicks a check
finding to select its element in the diagram, finishes it and deploys it. An edit to a diagram
already deployed is warned of before leaving too."""
import re

from playwright.sync_api import expect

from tests.helpers import draw_choice_without_default, open_review_timer
from tests.processes.test_modeler_browser import at


def test_the_impact_of_a_changed_review_period_is_shown_before_it_is_deployed(browser_as, live):
    from tests.helpers import place_near_miss_marker
    _, derby = live
    alert = place_near_miss_marker(derby, "C1", "2026-01-10T09:00")
    paula = browser_as("paula")
    with at("2026-02-01T12:00"):
        paula.goto("/processes/derby_review/edit")
        expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
        value = open_review_timer(paula)
        value.fill("P3M")
        value.press("Tab")
        paula.get_by_role("button", name="Check").click()
        table = paula.locator("#impact-derby_review")
        expect(table.locator("caption")).to_contain_text("1 running case (1 could move to version 2)")
        row = table.locator("tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"A{alert:06d}")
        expect(row.locator(".verdict")).to_have_text("yes")
        expect(row.locator(".moves")).to_have_text("its next review moves from 10 July 2026 to 10 April 2026")
        paula.get_by_label(re.compile("Change note")).fill("Reviews every three months (board decision)")
        paula.get_by_role("button", name="Deploy as a new version").click()
        expect(paula.locator(".flash")).to_contain_text("Deployed derby_review version 2")
    # deploying moved nothing: the case keeps its six months until it is migrated
    assert derby.alert(alert)["next_review_at"].startswith("2026-07-10")


def test_a_new_process_is_created_in_the_modeler_with_the_pack_lanes_and_deployed(browser_as, live):
    paula = browser_as("paula")
    paula.goto("/processes")
    paula.get_by_role("link", name="Create a new process").click()
    paula.get_by_label("Name of the process").fill("Derby Homes: information request")
    paula.get_by_label("Its identifier").fill("bad id")
    paula.get_by_role("button", name="Open it in the modeler").click()
    # the browser's own pattern check stops a bad identifier first; the server says so too
    paula.evaluate("document.getElementById('process_id').removeAttribute('pattern')")
    paula.get_by_role("button", name="Open it in the modeler").click()
    expect(paula.locator("#new-problem")).to_contain_text("'bad id' cannot be a process identifier")
    paula.get_by_label("Its identifier").fill("derby_information_request")
    paula.get_by_role("button", name="Open it in the modeler").click()
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    lanes = paula.evaluate("alertflowModeler.get('elementRegistry').filter(e => e.type === 'bpmn:Lane')"
                           ".map(e => e.businessObject.name)")
    assert {"ASB Manager", "Head of Service", "ASB Team"} <= set(lanes)

    # leaving with the new diagram not deployed asks first
    asked = []
    paula.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    paula.evaluate("location.href = '/processes'")
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    assert asked == ["beforeunload"]
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")

    # draw (with the modeler's own tools) a choice with two ends and no default: Check names the gateway
    draw_choice_without_default(paula)
    paula.get_by_role("button", name="Check").click()
    finding = paula.locator(".findings li[data-element='choice']")
    expect(finding).to_contain_text("has no default flow")
    finding.get_by_role("button", name="Show in the diagram").click()
    assert paula.evaluate("alertflowModeler.get('selection').get().map(e => e.id)") == ["choice"]
    expect(paula.locator("#properties")).to_contain_text("Which way?")

    # give it its default flow and deploy
    paula.evaluate("""() => { const m = alertflowModeler, gateway = m.get('elementRegistry').get('choice');
        const modeling = m.get('modeling'), moddle = m.get('moddle');
        modeling.updateProperties(gateway, {default: gateway.outgoing[0].businessObject});
        modeling.updateProperties(gateway.outgoing[1], {conditionExpression:
            moddle.create('bpmn:FormalExpression', {body: 'False'})}); }""")
    paula.get_by_label(re.compile("Change note")).fill("Information requests get their own process")
    paula.get_by_role("button", name="Deploy the new process").click()
    expect(paula.locator(".flash")).to_contain_text("Deployed derby_information_request version 1")
    expect(paula.locator("#version-derby_information_request-1 .deployed-by")).to_have_text("paula")


def test_leaving_the_modeler_after_editing_a_deployed_diagram_asks_first(browser_as, live):
    paula = browser_as("paula")
    asked = []
    paula.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    # opened and looked at, not edited: leaving asks nothing
    paula.goto("/processes/derby_review/edit")
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    paula.locator('.djs-element[data-element-id="due"]').click()
    paula.evaluate("location.href = '/processes'")
    paula.wait_for_url(re.compile(r"/processes$"))
    assert asked == []

    # the review period edited in the properties panel, not deployed: leaving asks, and staying keeps the edit
    paula.goto("/processes/derby_review/edit")
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    value = open_review_timer(paula)
    value.fill("P4M")
    value.press("Tab")
    paula.evaluate("location.href = '/processes'")
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    assert asked == ["beforeunload"]
    assert "/processes/derby_review/edit" in paula.url
    assert paula.evaluate("alertflowModeler.get('elementRegistry').get('due')"
                          ".businessObject.eventDefinitions[0].timeDuration.body") == "P4M"
    # Check sends the form: no question then, and the page it returns still holds the edit undeployed
    paula.get_by_role("button", name="Check").click()
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    assert asked == ["beforeunload"]
    paula.evaluate("location.href = '/processes'")
    expect(paula.locator("#modeler")).to_have_attribute("data-ready", "true")
    assert asked == ["beforeunload", "beforeunload"]

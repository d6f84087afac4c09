"""Real headless Chromium under the real Content-Security-Policy: the bpmn-js pages (case page,
process editor) work with no policy violation, and a diagram row crafted in the database to
carry an event handler in a field id renders inert on the task page."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.helpers import Cli
from tests.web.conftest import set_passwords
from workflows.definitions import deployment
from workflows.platform.db import transaction
from workflows.platform.models import Case, HumanTask, ProcessDefinition

CRAFTED = 'x&quot; autofocus onfocus=&quot;window.pwned=1;alert(1)'


def watch(page):
    """Console messages about the policy, and any dialog a script opened."""
    seen = []
    page.on("console", lambda m: "Content Security Policy" in m.text and seen.append(m.text))
    page.on("dialog", lambda d: (seen.append(f"dialog: {d.message}"), d.dismiss()))
    return seen


@pytest.fixture(scope="module")
def world(live_server):
    cli = Cli()
    cli("users", "add", "olive", "--name", "Olive Owner", "--role", "process_owner")
    set_passwords(["olive"])
    return cli


def report(cli, category="rpo", customer="C1"):
    out = cli("report", "--as", "sam", "--customer", customer, "--category", category, "--description", "Seen")
    return int(re.search(r"alert (\d+) reported", out).group(1))


def test_the_case_page_and_the_editor_work_under_the_policy(sign_in_page, world):
    cli = world
    alert_id = report(cli)
    anna = sign_in_page("anna")
    seen = watch(anna)
    anna.goto(f"/alerts/{alert_id}")
    expect(anna.locator("#diagram")).to_have_attribute("data-drawn", "true")
    with transaction() as db:
        process_id = db.scalar(select(ProcessDefinition.process_id).limit(1))
    olive = sign_in_page("olive")
    seen += watch(olive)
    olive.goto(f"/processes/{process_id}/edit")
    expect(olive.locator("#modeler .djs-element").first).to_be_attached()
    olive.locator("#modeler .djs-element.djs-shape").nth(1).click()
    expect(olive.locator("#properties .bio-properties-panel")).to_be_visible()
    assert seen == []


def test_a_crafted_field_id_in_the_database_is_inert_in_the_browser(sign_in_page, world, monkeypatch):
    cli = world
    alert_id = report(cli, customer="C2")
    with transaction() as db:
        task = db.scalar(select(HumanTask).join(Case, HumanTask.case_id == Case.id)
                         .where(Case.alert_id == alert_id, HumanTask.status == "ready"))
        definition = db.get(ProcessDefinition, db.get(Case, task.case_id).definition_id)
        assert 'formField id="evidence"' in definition.bpmn_xml
        task_id, original = task.id, definition.bpmn_xml
        definition.bpmn_xml = original.replace('formField id="evidence"', f'formField id="{CRAFTED}"')
    monkeypatch.setattr(deployment, "_parsed", {})  # the server parses the crafted row
    try:
        anna = sign_in_page("anna")
        seen = watch(anna)
        anna.goto(f"/tasks/{task_id}")
        field = anna.locator("textarea[name^='x\"']")
        expect(field).to_have_count(1)
        field.click()
        anna.keyboard.press("Tab")
        assert anna.evaluate("() => window.pwned") is None
        assert anna.evaluate("() => [...document.querySelectorAll('[onfocus]')].length") == 0
        assert seen == []
    finally:
        with transaction() as db:
            db.get(ProcessDefinition, definition.id).bpmn_xml = original

"""Marker fields, date bounds and cross-field rules on the web pages, on the pack written for
issue 14 (tests/packs/lifecycle_pack.py): the task page refuses with the rule's own message and
saves nothing; check before visiting shows a staff field by its label and never a readers-only one."""
from tests.helpers import Browser
from tests.packs.lifecycle_pack import lifecycle_world
from tests.packs.test_marker_life import DECIDED, REPORTED, USERS, decision
from tests.packs.world import DPO
from tests.web.conftest import set_passwords
from workflows.platform import clock


def test_the_task_page_refuses_a_date_out_of_bounds_or_breaking_a_rule_and_check_shows_staff_fields_only(
        cli, app, monkeypatch, tmp_path):
    world = lifecycle_world(cli, monkeypatch, tmp_path, USERS)
    set_passwords(["mo", "tess"])
    alert_id = world.report("concern", now=REPORTED)
    task = world.open_task("mo", alert_id, DECIDED)["task"]
    mo = Browser(app, "mo")
    with clock.frozen_at(clock.parse_moment(DECIDED)):
        refused = mo.post(f"/tasks/{task}/complete", decision(expiry="2030-06-01"), token_from=f"/tasks/{task}")
        assert refused.status_code == 422
        assert "Marker ends by: an expiry beyond 36 months needs a reason" in refused.get_data(as_text=True)
        early = mo.post(f"/tasks/{task}/complete", decision(expiry="2026-12-01"), token_from=f"/tasks/{task}")
        assert "Marker ends by: 1 December 2026 is too early: give today (15 December 2026) or a later date" \
            in early.get_data(as_text=True)
    assert world.alert(alert_id, DPO)["status"] == "under_assessment"
    assert world.open_task("mo", alert_id, DECIDED)["task"] == task  # nothing of the step was saved
    world.complete("mo", task, decision(period="P12M"), now=DECIDED)
    page = Browser(app, "tess").get("/check?q=John+Smith").get_data(as_text=True)
    assert "Reviewed every: Twelve months" in page and "Visit in pairs" in page
    assert "Marker expires on" not in page and "1 December 2028" not in page
    story = Browser(app, "mo").get(f"/alerts/{alert_id}").get_data(as_text=True)  # mo decided: a need to know
    assert "Marker expires on: 1 December 2028" in story

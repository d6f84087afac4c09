"""A marker's life as it really is (issue 14), on the one pack written for it
(tests/packs/lifecycle_pack.py), deployed and run through the command line with a moved clock."""
import json

from tests.packs.lifecycle_pack import ASSESSMENT, REVIEW, TOML, lifecycle_world, write_lifecycle_pack
from tests.packs.world import DPO

USERS = {"sam": ["staff"], "tess": ["staff"], "meg": ["staff"], "mo": ["manager"], "dee": ["director"]}
REPORTED, DECIDED, DELIVERED = "2026-12-14T09:00", "2026-12-15T10:00", "2026-12-18T12:00"


def decision(period="P6M", expiry="2028-12-01", **more):
    return {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only",
            "period": period, "expiry": expiry, **more}


def placed_and_told(world, customer="C1", **answers) -> int:
    alert_id = world.report("concern", customer=customer, now=REPORTED)
    world.complete("mo", world.open_task("mo", alert_id, DECIDED)["task"], decision(**answers), now=DECIDED)
    world.complete("tess", world.open_task("tess", alert_id, DELIVERED)["task"], {"delivered_at": DELIVERED},
                   now=DELIVERED)
    return alert_id


def letters(world, alert_id) -> list[str]:
    return [letter["body"] for letter in world.alert(alert_id, DPO)["letters"]]


def test_a_marker_field_set_at_assessment_is_read_by_the_reviews_timer_and_letter(cli, monkeypatch, tmp_path):
    world = lifecycle_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed_and_told(world, period="P6M")
    # the review waits the marker's own period: six months from the decision
    assert world.alert(alert_id, DPO)["next_review"] == "2027-06-15"
    [told] = letters(world, alert_id)
    assert "We review the marker every Six months; it ends on 1 December 2028 at the latest." in told
    # staff read a staff field by its label; the readers-only one only those with a need to know do
    staff_view = cli("check", "John Smith", "--as", "tess")
    assert "Reviewed every: Six months" in staff_view and "expires" not in staff_view
    assert cli.json("visit-list", "--as", "tess", "--json")[0]["details"] == [
        "How to contact them: Letters only", "Reviewed every: Six months"]
    assert world.alert(alert_id, DPO)["marker_details"] == [
        "How to contact them: Letters only", "Reviewed every: Six months", "Marker expires on: 1 December 2028"]
    assert "    Marker expires on: 1 December 2028" in cli("alerts", "show", alert_id, "--as", DPO)
    # the review case starts with the fields; its letter reads them too
    assert world.fire_timers("2027-06-15T09:59") == 0
    assert world.fire_timers("2027-06-15T10:01") == 1
    review = world.open_task("mo", alert_id, "2027-06-15T10:01")
    assert review["due"] == "2028-12-01"  # dueIn names the marker field: due by the day the marker expires
    world.complete("mo", review["task"], {"review_reason": "Still needed", "contact_rules": "letters_only"},
                   now="2027-06-15T10:00")
    assert "We review the marker every Six months; it ends on 1 December 2028" in letters(world, alert_id)[-1]
    assert world.alert(alert_id, DPO)["next_review"] == "2027-12-15"


def test_a_review_due_on_a_day_is_listed_as_overdue_only_from_the_next_day(cli, monkeypatch, tmp_path):
    world = lifecycle_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed_and_told(world, period="P6M")  # due 15 June 2027
    # in British Summer Time: the day is London's, not UTC's
    on_the_day = json.loads(cli("dashboard", "--as", DPO, now="2027-06-15T23:59+01:00"))
    assert on_the_day["reviews_overdue"] == []
    assert [(r["alert"], r["due"]) for r in on_the_day["reviews_due_soon"]] == [(alert_id, "2027-06-15")]
    next_day = json.loads(cli("dashboard", "--as", DPO, now="2027-06-16T00:00+01:00"))
    assert [(r["alert"], r["due"], r["days"]) for r in next_day["reviews_overdue"]] == [(alert_id, "2027-06-15", 1)]


def test_a_repeat_incident_brings_the_12_month_review_forward_knowing_the_marker_fields(cli, monkeypatch, tmp_path):
    world = lifecycle_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed_and_told(world, period="P12M")
    assert world.alert(alert_id, DPO)["next_review"] == "2027-12-15"
    later = "2027-03-01T09:00"
    cli("report", "--as", "meg", "--customer", "C1", "--category", "concern", "--description", "Shouted again",
        "--link-to", alert_id, now=later)
    task = world.open_task("mo", alert_id, later)
    shown = cli.json("task", "show", task["task"], "--as", "mo", now=later)
    assert "Marker expires on: 1 December 2028" in shown["linked_marker"]["details"]
    world.complete("mo", task["task"], {"incident_outcome": "sooner", "review_by": "2027-04-01"}, now=later)
    alert = world.alert(alert_id, DPO)
    waiting = [c for c in alert["cases"] if c["kind"] == "review" and c["status"] == "running"]
    assert alert["next_review"] == "2027-04-01" and len(waiting) == 1
    assert world.fire_timers("2027-04-01T00:01") == 1
    assert world.open_task("mo", alert_id, "2027-04-01T09:00")["title"] == "Review the marker"


def test_an_appeal_window_of_ten_working_days_crosses_christmas_and_a_late_appeal_goes_to_discretion(
        cli, monkeypatch, tmp_path):
    world = lifecycle_world(cli, monkeypatch, tmp_path, USERS)
    in_time, late = placed_and_told(world, "C1"), placed_and_told(world, "C2")
    # delivered Friday 18 December: Christmas Day, Boxing Day (observed 28th) and New Year's Day are not counted
    assert "appeal" in cli("appeal", in_time, "--as", "sam", "--grounds", "Not fair", now="2027-01-06T23:55")
    assert world.open_task("dee", in_time, "2027-01-07T09:00")["title"] == "Hear the appeal"
    cli("appeal", late, "--as", "sam", "--grounds", "I was away", now="2027-01-07T00:05")
    step = world.open_task("dee", late, "2027-01-07T09:00")
    assert step["title"] == "Decide whether to hear the late appeal"
    [lodged] = world.events(late, DPO, "appeal_lodged")
    assert lodged["detail"]["late"] is True and lodged["detail"]["window_closed_on"] == "6 January 2027"


def test_bounds_and_the_cross_field_rule_refuse_with_their_message_and_nothing_is_saved(cli, monkeypatch, tmp_path):
    world = lifecycle_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = world.report("concern", now=REPORTED)
    task = world.open_task("mo", alert_id, DECIDED)["task"]
    early = world.refuse("mo", task, decision(expiry="2026-12-14"), now=DECIDED)
    assert "Marker ends by: 14 December 2026 is too early: give today (15 December 2026) or a later date" in early
    too_late = world.refuse("mo", task, decision(expiry="2032-01-01"), now=DECIDED)
    assert "Marker ends by: 1 January 2032 is too late: give 15 December 2031 (60 months after today) or an " \
           "earlier date" in too_late
    no_reason = world.refuse("mo", task, decision(expiry="2030-06-01"), now=DECIDED)
    assert "Marker ends by: an expiry beyond 36 months needs a reason" in no_reason
    assert world.alert(alert_id, DPO)["status"] == "under_assessment"
    assert world.open_task("mo", alert_id, DECIDED)["task"] == task
    world.complete("mo", task, decision(expiry="2030-06-01", expiry_reason="Repeated serious threats"), now=DECIDED)
    assert "Marker expires on: 1 June 2030" in world.alert(alert_id, DPO)["marker_details"]


def test_the_lint_refuses_an_unknown_marker_field_naming_the_element_and_the_field(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "life")
    write_lifecycle_pack(tmp_path, assessment=ASSESSMENT.replace('name="expires_on"', 'name="expires_at"'))
    error = cli.fails("pack", "check")
    assert "life_assessment.bpmn: 'Carry the term on the marker' (fields): sets marker field 'expires_at', which " \
           "pack.toml does not declare ([marker_fields]: contact_rules, review_period, expires_on)" in error, error
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path / "bad_bound"))
    write_lifecycle_pack(tmp_path / "bad_bound", assessment=ASSESSMENT.replace('value="today + P60M"', 'value="expiri + P60M"'))
    assert "form field 'expiry' max: 'expiri + P60M' reads expiri, which no form field or case variable provides" \
        in cli.fails("pack", "check")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path / "bad_type"))
    write_lifecycle_pack(tmp_path / "bad_type", toml=TOML.replace('type = "date"', 'type = "when"'))
    assert "[marker_fields.expires_on] type 'when' is not one of string, long, boolean, date, enum" \
        in cli.fails("pack", "check")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path / "bad_due"))
    write_lifecycle_pack(tmp_path / "bad_due", review=REVIEW.replace('value="expires_on"', 'value="expires_soon"'))
    assert "life_review.bpmn: 'Review the marker' (review): dueIn names 'expires_soon', which no form field or case " \
           "variable provides" in cli.fails("pack", "check")


def test_a_linked_incident_moves_a_marker_field_and_the_review_under_way_keeps_the_new_value(
        cli, monkeypatch, tmp_path):
    world = lifecycle_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed_and_told(world, period="P6M")
    assert world.fire_timers("2027-06-15T10:01") == 1  # the review is under way: it read the register
    later = "2027-06-16T09:00"
    cli("report", "--as", "meg", "--customer", "C1", "--category", "concern", "--description", "Threatened again",
        "--link-to", alert_id, now=later)
    [incident] = [t for t in world.tasks_for("mo", alert_id, later) if t["title"] == "Assess the linked incident"]
    world.complete("mo", incident["task"], {"incident_outcome": "amend", "marker_text": "Visit in pairs, never after dark",
                                            "level": "L2", "new_expiry": "2029-06-01"}, now=later)
    assert "Marker expires on: 1 June 2029" in world.alert(alert_id, DPO)["marker_details"]
    [review] = [t for t in world.tasks_for("mo", alert_id, later) if t["title"] == "Review the marker"]
    world.complete("mo", review["task"], {"review_reason": "Still needed", "contact_rules": "letters_only"},
                   now="2027-06-17T10:00")
    # the review started with the old end, wording and level, but puts back only what it answered:
    # the incident's stand
    after = world.alert(alert_id, DPO)
    assert "Marker expires on: 1 June 2029" in after["marker_details"]
    assert after["marker_text"] == "Visit in pairs, never after dark"
    assert "it ends on 1 June 2029 at the latest" in letters(world, alert_id)[-1]

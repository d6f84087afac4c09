"""Linked incidents on a small pack written for the tests (tests/packs/small_pack.py), through the
command line with a moved clock: a later concern about a marked customer linked to the marker,
assessed knowing it, bringing its 12-month review forward (the same review case, retimed: exactly
one waits), an unscheduled review now, the marker's incidents in order, and the bad inputs."""
from tests.packs.small_pack import INCIDENT, REVIEW, small_world, write_small_pack
from tests.packs.world import DPO

USERS = {"sam": ["staff"], "tess": ["staff"], "mo": ["manager"], "meg": ["manager"]}
T0, DECIDED, LATER = "2026-03-02T09:00", "2026-03-03T10:00", "2026-06-01T09:00"
DECISION = {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only"}


def placed(world, cli, customer="C1"):
    alert_id = world.report("concern", customer=customer, now=T0, description="Threatened the gas engineer")
    world.complete("mo", world.open_task("mo", alert_id, T0)["task"], DECISION, now=DECIDED)
    return alert_id


def link(cli, alert_id, now=LATER, who="tess", description="Shouted at the repairs team", customer="C1"):
    return cli("report", "--as", who, "--customer", customer, "--category", "concern", "--description", description,
               "--link-to", alert_id, now=now)


def waiting_reviews(world, alert_id):
    return [c for c in world.alert(alert_id, DPO)["cases"] if c["kind"] == "review" and c["status"] == "running"]


def test_a_repeat_incident_brings_the_12_month_review_forward_and_one_review_waits(cli, monkeypatch, tmp_path):
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed(world, cli)
    assert world.alert(alert_id, DPO)["next_review"] == "2027-03-03"
    out = link(cli, alert_id, who="meg")
    assert f"concern linked to the marker on alert {alert_id} (incident 2 of this marker)" in out
    assert len(cli.json("alerts", "list", "--as", DPO, "--json")) == 1  # no second marker on John Smith
    # the assessor's step shows the marker it is linked to; its reporter may not decide on it
    task = world.open_task("mo", alert_id, LATER)
    shown = cli("task", "show", task["task"], "--as", "mo")
    assert "the marker this concern is linked to" in shown and "A concern, Level 2: Visit in pairs" in shown
    assert "last reviewed -, next review 3 March 2027" in shown
    assert "incident 1: 2 March 2026, first reported by sam: Threatened the gas engineer" in shown
    assert "incident 2: 1 June 2026, linked by meg: Shouted at the repairs team" in shown
    assert not world.tasks_for("meg", alert_id, LATER)  # nobody decides on their own report
    # a date in the past is refused beside its field, and nothing is saved
    error = world.refuse("mo", task["task"], {"incident_outcome": "sooner", "review_by": "2026-05-01"}, now=LATER)
    assert "review_by: the review cannot be moved to 1 May 2026, which is in the past: give today (1 June 2026) " \
           "or a later date" in error, error
    assert world.alert(alert_id, DPO)["next_review"] == "2027-03-03"
    assert world.open_task("mo", alert_id, LATER)["task"] == task["task"]
    world.complete("mo", task["task"], {"incident_outcome": "sooner", "review_by": "2026-07-01"}, now=LATER)
    alert = world.alert(alert_id, DPO)
    waiting = waiting_reviews(world, alert_id)
    assert alert["next_review"] == "2026-07-01" and len(waiting) == 1
    assert waiting[0]["next_timer_at"].startswith("2026-07-01")
    assert [i["description"] for i in alert["incidents"]] == ["Threatened the gas engineer", "Shouted at the repairs team"]
    assert [e["detail"]["to_due"][:10] for e in world.events(alert_id, DPO, "review_rescheduled")] == ["2026-07-01"]
    # the same review case, retimed: it falls due on the new date, not before
    assert world.fire_timers("2026-06-30T23:00") == 0
    assert world.fire_timers("2026-07-01T00:01") == 1
    review = world.open_task("mo", alert_id, "2026-07-01T00:01")
    world.complete("mo", review["task"], {"review_reason": "Calmer", "contact_rules": "any"}, now="2026-07-02T10:00")
    waiting = waiting_reviews(world, alert_id)
    assert len(waiting) == 1 and world.alert(alert_id, DPO)["next_review"] == "2027-07-01"
    story = cli("alerts", "show", alert_id, "--as", DPO)
    assert story.index("incident 1: 2 March 2026, first reported by sam") < story.index(
        "incident 2: 1 June 2026, linked by meg")
    assert "next review 1 July 2027" in story
    # the next linked incident knows the review and the incidents before it
    link(cli, alert_id, now="2026-08-01T09:00", description="Third time")
    shown = cli.json("task", "show", world.open_task("mo", alert_id, "2026-08-01T09:00")["task"], "--as", "mo")
    assert shown["linked_marker"]["last_review_at"].startswith("2026-07-02")
    assert [i["no"] for i in shown["linked_marker"]["incidents"]] == [1, 2, 3]


def test_a_linked_incident_may_start_an_unscheduled_review_now_or_only_be_recorded(cli, monkeypatch, tmp_path):
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed(world, cli)
    link(cli, alert_id, description="Only noted")
    world.complete("mo", world.open_task("mo", alert_id, LATER)["task"], {"incident_outcome": "recorded"}, now=LATER)
    assert world.alert(alert_id, DPO)["next_review"] == "2027-03-03" and len(waiting_reviews(world, alert_id)) == 1
    link(cli, alert_id, description="Worse", now="2026-06-02T09:00")
    world.complete("mo", world.open_task("mo", alert_id, "2026-06-02T09:00")["task"], {"incident_outcome": "now"},
                   now="2026-06-02T10:00")
    review = world.open_task("mo", alert_id, "2026-06-02T10:00")  # opened at once, no timer sweep needed
    assert review["title"] == "Review the marker" and len(waiting_reviews(world, alert_id)) == 1
    assert world.alert(alert_id, DPO)["next_review"] == "2026-06-02"
    world.complete("mo", review["task"], {"review_reason": "Still a risk", "contact_rules": "any"}, now="2026-06-03T10:00")
    assert len(waiting_reviews(world, alert_id)) == 1
    assert world.alert(alert_id, DPO)["next_review"] == "2027-06-02"  # the next period from the unscheduled review
    # brought forward to today: the review opens at once too
    link(cli, alert_id, description="Again", now="2026-07-01T09:00")
    world.complete("mo", world.open_task("mo", alert_id, "2026-07-01T09:00")["task"],
                   {"incident_outcome": "sooner", "review_by": "2026-07-01"}, now="2026-07-01T10:00")
    assert world.open_task("mo", alert_id, "2026-07-01T10:00")["title"] == "Review the marker"
    assert len(waiting_reviews(world, alert_id)) == 1


def test_a_concern_cannot_be_linked_to_a_removed_marker_another_customers_or_a_marker_under_assessment(
        cli, monkeypatch, tmp_path):
    write_small_pack(tmp_path)
    toml = tmp_path / "small" / "pack.toml"
    toml.write_text(toml.read_text().replace('incident_process = "small_incident"\n',
                                             'incident_process = "small_incident"\ntenancy_end_removes_markers = true\n'))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    from tests.packs.world import PackWorld
    world = PackWorld(cli, USERS)
    alert_id = placed(world, cli)
    pending = world.report("concern", customer="C2", now=T0)
    error = cli.fails("report", "--as", "tess", "--customer", "C2", "--category", "concern", "--description", "x",
                      "--link-to", alert_id, now=LATER)
    assert f"alert {alert_id} is not a marker on Mary Jones (C2), so this concern cannot be linked to it" in error
    error = cli.fails("report", "--as", "tess", "--customer", "C2", "--category", "concern", "--description", "x",
                      "--link-to", pending, now=LATER)
    assert f"alert {pending} is under assessment: a concern can be linked only to an active marker" in error
    assert "there is no alert 99" in cli.fails("report", "--as", "tess", "--customer", "C1", "--category", "concern",
                                               "--description", "x", "--link-to", "99", now=LATER)
    cli("tenancy", "end", "C1", "--as", "mo", now="2026-05-01T09:00")
    error = cli.fails("report", "--as", "tess", "--customer", "C1", "--category", "concern", "--description", "x",
                      "--link-to", alert_id, now=LATER)
    assert f"alert {alert_id} was removed on 1 May 2026: a concern can be linked only to an active marker; " \
           f"report it as a new concern (without linking it)" in error, error
    assert world.alert(alert_id, DPO)["incidents"][1:] == []  # nothing half-saved
    assert world.alert(pending, DPO)["incidents"][1:] == []


def test_reporting_about_a_marked_customer_without_linking_offers_the_marker(cli, monkeypatch, tmp_path):
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed(world, cli)
    out = cli("report", "--as", "tess", "--customer", "C2", "--category", "concern", "--description", "x", now=LATER)
    assert "note:" not in out  # Mary Jones has no marker
    out = cli("report", "--as", "tess", "--customer", "C1", "--category", "concern", "--description", "x", now=LATER)
    assert f"note: C1 already has an active marker, alert {alert_id} (Visit in pairs); a concern about them can be " \
           f"linked to it: report with --link-to {alert_id}" in out


def test_the_deploy_check_refuses_a_diagram_that_could_leave_a_marker_with_two_waiting_reviews(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    scheduling = INCIDENT.replace('camunda:topic="start_review_now">', 'camunda:topic="schedule_review"><bpmn:extensionElements>'
                                  '<camunda:properties><camunda:property name="process" value="small_review"/>'
                                  '</camunda:properties></bpmn:extensionElements>')
    write_small_pack(tmp_path, incident=scheduling)
    for command in (("pack", "check"), ("pack", "deploy")):
        error = cli.fails(*command)
        assert "small_incident.bpmn: 'Reviewed now' (now): schedule_review in the process for a linked incident, which runs while the " \
               "marker's review waits: it would leave the marker with two waiting reviews" in error, error
    twice = REVIEW.replace('<bpmn:sequenceFlow id="r7" sourceRef="letter" targetRef="end"/>',
                           '<bpmn:sequenceFlow id="r7" sourceRef="letter" targetRef="keep"/>')
    write_small_pack(tmp_path, review=twice)
    error = cli.fails("pack", "check")
    assert "small_review.bpmn: 'Next review' (next): a path from here passes 'next', another schedule_review: it could leave the " \
           "marker with two waiting reviews" in error, error
    unset = INCIDENT.replace('<camunda:property name="date_field" value="review_by"/>', '')
    write_small_pack(tmp_path, incident=unset)
    assert "small_incident.bpmn: 'Review brought forward' (sooner): reschedule_review needs exactly one of the properties 'within'" in cli.fails(
        "pack", "check")
    write_small_pack(tmp_path)
    assert "no problems found" in cli("pack", "check")


def deployed_before_the_rule(content: str, filename: str):
    """A version deployed before the deploy check knew the one-waiting-review rule: written as the
    deploy writes it, without the check (an install upgraded with such a diagram already live)."""
    import hashlib

    from workflows.definitions import deployment, spiff
    from workflows.platform import clock
    from workflows.platform import db as database
    from workflows.platform.models import ProcessDefinition

    with database.transaction() as db:
        for process_id in spiff.parse_processes(spiff.safe_xml(content.encode()), filename)[0]:
            current = deployment.latest(db, pack="small", process_id=process_id)
            db.add(ProcessDefinition(pack="small", process_id=process_id, version=current.version + 1,
                                     name=process_id, filename=filename, bpmn_xml=content,
                                     content_hash=hashlib.sha256(content.encode()).hexdigest(),
                                     deployed_by="before the rule", deployed_at=clock.now()))


def test_the_engine_never_starts_a_second_review_beside_the_waiting_one(cli, monkeypatch, tmp_path):
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed(world, cli)
    deployed_before_the_rule(INCIDENT.replace(
        'camunda:topic="start_review_now">', 'camunda:topic="schedule_review"><bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="process" value="small_review"/></camunda:properties></bpmn:extensionElements>'),
        "small_incident.bpmn")
    link(cli, alert_id)
    task = world.open_task("mo", alert_id, LATER)
    error = world.refuse("mo", task["task"], {"incident_outcome": "now"}, now=LATER)
    assert f"alert {alert_id} already has a review waiting (case 2, due 3 March 2027); a marker has one waiting " \
           f"review: move it with reschedule_review or start_review_now instead of scheduling another" in error, error
    assert len(waiting_reviews(world, alert_id)) == 1  # nothing of the step saved
    assert world.open_task("mo", alert_id, LATER)["task"] == task["task"]

"""The engine's promises, through the command line: bad input is refused clearly with nothing
saved, restricted records stay invisible, reviews follow the calendar, and a marker's review
costs the same however old it is."""
import json
from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.helpers import RISK
from tests.helpers import MARKER, KEEP, record_on_red_triangle
from workflows.platform import db as database
from workflows.platform.models import AuditEvent, Case, HumanTask

T0 = "2026-08-31T09:00"


def count(model, *where):
    with database.transaction() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def listed(cli, who):
    return [a["alert"] for a in cli.json("alerts", "list", "--as", who, "--status", "all")]


def test_unknown_category_customer_user_and_role_are_refused(derby, cli):
    assert "unknown category 'arson'" in cli.fails("report", "--as", "sam", "--customer", "C1",
                                                   "--category", "arson", "--description", "x")
    assert "no customer with reference 'C9'" in cli.fails("report", "--as", "sam", "--customer", "C9",
                                                          "--category", "rpo", "--description", "x")
    assert "no active user 'nobody'" in cli.fails("report", "--as", "nobody", "--customer", "C1",
                                                  "--category", "rpo", "--description", "x")
    assert "unknown role 'janitor'" in cli.fails("users", "add", "jo", "--name", "Jo", "--role", "janitor")
    assert "description is empty" in cli.fails("report", "--as", "sam", "--customer", "C1",
                                               "--category", "rpo", "--description", "  ")
    assert count(Case) == 0 and "jo" not in cli("users", "list")


def test_form_values_of_the_wrong_type_or_missing_name_their_fields_and_save_nothing(derby, cli):
    alert_id = derby.report("near_miss", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    events_before = count(AuditEvent)
    error = derby.refuse("helen", task["task"], {
        "assessment_method": "x", **RISK, "likelihood": "catastrophic", "place_marker": "perhaps",
        "colour": "red"})
    assert "likelihood: 'catastrophic' is not one of: low, medium, high" in error
    assert "place_marker: 'perhaps' is not yes or no" in error
    assert "this step has no field 'colour'" in error
    error = derby.refuse("helen", task["task"], {"assessment_method": "x", **RISK, "place_marker": "yes"})
    assert "marker_text" in error and "control_measures" in error and "inform_tenant" in error
    assert count(AuditEvent) == events_before
    assert derby.open_task("helen", alert_id, T0)["status"] == "ready"


def test_completing_a_task_that_is_not_yours_or_no_longer_ready(derby, cli):
    alert_id = derby.report("near_miss", now=T0)
    task = derby.open_task("helen", alert_id, T0)["task"]
    values = {"assessment_method": "x", **RISK, "place_marker": "no"}
    assert "is for the Head of Service role" in derby.refuse("anna", task, values)
    cli("task", "claim", task, "--as", "harry")
    assert "assigned to harry" in derby.refuse("helen", task, values)
    cli("task", "release", task, "--as", "harry")
    derby.complete("helen", task, values)
    assert "has already been completed by helen" in derby.refuse("harry", task, values)
    assert "no task 999" in cli.fails("task", "complete", 999, "--as", "helen")


def test_scheduled_offender_cases_are_visible_only_to_the_secure_list(derby, cli):
    alert_id = derby.report("rpo", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Scheduled offence", "scheduled_offender": "yes",
                                          **MARKER, "inform_tenant": "no",
                                          "non_disclosure_reason": "Police advice"}, now=T0)
    # the ASB team does not see the secure database: the ASB Manager puts the red triangle note on,
    # which says only to contact the manager
    assert derby.inbox("tina", T0) == []
    step = derby.open_task("anna", alert_id, T0)
    shown = cli("task", "show", step["task"], "--as", "anna")
    assert "Instruction to staff: Contact the relevant manager before visiting." in shown
    assert "Visit in pairs" not in shown and "Scheduled offence" not in shown and "Police advice" not in shown
    record_on_red_triangle(derby, alert_id, now=T0, who="anna")
    for outsider in ("sam", "tina", "helen", "carl", "ivy"):
        assert alert_id not in listed(cli, outsider)
        assert f"no alert {alert_id}" in cli.fails("alerts", "show", alert_id, "--as", outsider)
        assert f"no alert {alert_id}" in cli.fails("appeal", alert_id, "--as", outsider, "--grounds", "x")
    for insider in ("anna", "arthur", "hugo"):
        assert alert_id in listed(cli, insider)
    # everyone checking before a visit sees only the instruction to contact the manager
    check = cli("check", "John Smith", "--as", "sam")
    assert "Contact the relevant manager before visiting." in check
    assert "Visit in pairs" not in check and "Scheduled" not in check
    alert = derby.alert(alert_id, who="arthur")
    assert alert["restriction"] == "scheduled_offender"
    assert alert["marker_text"] == "Contact the relevant manager before visiting."
    assert any(e["action"] == "restricted_record_viewed" and e["actor"] == "arthur"
               for e in derby.alert(alert_id, who="hugo")["events"])

    # its review and its appeal stay on the secure list too
    assert derby.fire_timers("2027-02-28T09:01") == 1
    review = derby.open_task("anna", alert_id, "2027-02-28T10:00")
    assert "no task" in cli.fails("task", "show", review["task"], "--as", "tina")
    derby.complete("anna", review["task"], {**KEEP, "inform_tenant": "no", "non_disclosure_reason": "Police advice"},
                   now="2027-03-01T10:00")
    cli("appeal", alert_id, "--as", "anna", "--grounds", "Spent conviction", now="2027-03-02T10:00")
    assert not [t for t in derby.inbox("helen", "2027-03-02T10:00") if t["alert"] == alert_id]
    hearing = derby.open_task("hugo", alert_id, "2027-03-02T10:00")
    derby.complete("hugo", hearing["task"], {"appeal_outcome": "uphold", "appeal_reasons": "Risk remains"},
                   now="2027-03-03T10:00")


def test_a_scheduled_offender_case_is_secured_even_when_no_marker_is_placed(derby, cli):
    """§5.1: the assessment names the offence; the secure list alone may read it, marker or not."""
    alert_id = derby.report("rpo", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Scheduled offence, 2019", "scheduled_offender": "yes",
                                          "place_marker": "no", "decision_reason": "No current risk to staff",
                                          **{k: v for k, v in RISK.items() if k != "decision_reason"}}, now=T0)
    alert = derby.alert(alert_id, who="anna")
    assert alert["status"] == "not_placed" and alert["restriction"] == "scheduled_offender"
    for outsider in ("sam", "tina", "helen", "carl", "ivy"):
        assert f"no alert {alert_id}" in cli.fails("alerts", "show", alert_id, "--as", outsider)
    assert "Scheduled offence" not in cli("check", "John Smith", "--as", "sam")


def test_review_dates_use_calendar_months(derby, cli):
    alert_id = derby.report("near_miss", now="2026-08-31T10:00")
    task = derby.open_task("helen", alert_id, "2026-08-31T10:00")
    derby.complete("helen", task["task"], {"assessment_method": "x", **MARKER}, now="2026-08-31T10:00")
    record_on_red_triangle(derby, alert_id, now="2026-08-31T11:00")
    # 31 August + P6M is the end of February, not 3 March
    assert derby.alert(alert_id)["next_review_at"].startswith("2027-02-28T10:00")
    assert derby.fire_timers("2027-02-28T09:59") == 0
    assert derby.fire_timers("2027-02-28T10:01") == 1


def test_two_completions_of_one_task_one_wins_the_other_is_told(derby, cli):
    alert_id = derby.report("near_miss", now=T0)
    task = derby.open_task("helen", alert_id, T0)["task"]
    values = {"assessment_method": "x", **RISK, "place_marker": "no"}
    derby.complete("helen", task, values)
    assert "has already been completed by helen" in derby.refuse("harry", task, values)
    assert count(AuditEvent, AuditEvent.action == "decision") == 1


def test_a_marker_on_its_fortieth_review_is_as_small_as_on_its_first(derby, cli):
    alert_id = derby.report("near_miss", now="2026-01-01T09:00")
    task = derby.open_task("helen", alert_id, "2026-01-01T09:00")
    derby.complete("helen", task["task"], {"assessment_method": "x", **MARKER}, now="2026-01-01T09:00")
    record_on_red_triangle(derby, alert_id, now="2026-01-01T10:00")
    sizes = []
    for n in range(40):
        due = datetime.fromisoformat(derby.alert(alert_id)["next_review_at"])
        moment = (due + timedelta(minutes=1)).isoformat()
        assert derby.fire_timers(moment) == 1
        review = derby.open_task("helen", alert_id, moment)
        with database.transaction() as db:
            waiting = db.scalar(select(Case).join(HumanTask).where(HumanTask.id == review["task"]))
            sizes.append((len(waiting.workflow_state["tasks"]), len(json.dumps(waiting.workflow_state))))
        derby.complete("helen", review["task"], KEEP, now=moment)
    alert = derby.alert(alert_id)
    assert alert["review_count"] == 40
    assert alert["next_review_at"].startswith("2046-07-01")  # six months after the 40th review
    assert len(alert["cases"]) == 42  # the assessment, forty reviews, and the next one waiting
    # each review period is its own short instance: the same tasks, and state that does not grow
    assert len({tasks for tasks, _ in sizes}) == 1
    assert max(size for _, size in sizes) < min(size for _, size in sizes) * 1.01


def test_an_expression_failing_mid_step_rolls_the_whole_step_back(derby, cli, tmp_path, monkeypatch):
    import shutil

    from workflows.platform import config

    shutil.copytree(config.PROJECT_ROOT / "bpmn" / "derby", tmp_path / "derby")
    path = tmp_path / "derby" / "derby_assessment.bpmn"
    # scheduled_offender is only asked on the offender path: a near miss reaching this fails
    path.write_text(path.read_text().replace(">place_marker == True<", ">place_marker == True and scheduled_offender == False<"))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    cli("users", "add", "paula", "--name", "Paula", "--role", "process_owner")
    assert "deployed derby_assessment version 2" in cli("pack", "deploy", "--as", "paula")

    alert_id = derby.report("near_miss", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    events_before = count(AuditEvent)
    error = derby.refuse("helen", task["task"], {"assessment_method": "x", **MARKER}, now=T0)
    assert "could not advance at element 'gw_place'" in error and "'scheduled_offender' is not in the case data" in error
    assert count(AuditEvent) == events_before  # nothing of the step was saved
    assert derby.open_task("helen", alert_id, T0)["status"] == "ready"
    assert derby.alert(alert_id)["status"] == "under_assessment"


def test_a_step_cut_short_by_a_boundary_timer_leaves_the_inbox(derby, cli, tmp_path, monkeypatch):
    """A process owner adds "if not reviewed within 30 days, close this review": the open step
    is withdrawn from the inbox and its row says so, while the case runs on."""
    import shutil

    from workflows.platform import config

    shutil.copytree(config.PROJECT_ROOT / "bpmn" / "derby", tmp_path / "derby")
    path = tmp_path / "derby" / "derby_review.bpmn"
    boundary = ('<bpmn:boundaryEvent id="unreviewed" attachedToRef="review_head_of_service" cancelActivity="true">'
                '<bpmn:outgoing>f_unreviewed</bpmn:outgoing><bpmn:timerEventDefinition id="unreviewed_def">'
                '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P30D</bpmn:timeDuration>'
                '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                '<bpmn:endEvent id="end_unreviewed"><bpmn:incoming>f_unreviewed</bpmn:incoming></bpmn:endEvent>'
                '<bpmn:sequenceFlow id="f_unreviewed" sourceRef="unreviewed" targetRef="end_unreviewed"/>')
    text = path.read_text().replace('<bpmn:sequenceFlow id="f_start"', boundary + '<bpmn:sequenceFlow id="f_start"')
    text = text.replace("<bpmn:flowNodeRef>review_head_of_service</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>review_head_of_service</bpmn:flowNodeRef>"
                        "<bpmn:flowNodeRef>unreviewed</bpmn:flowNodeRef><bpmn:flowNodeRef>end_unreviewed</bpmn:flowNodeRef>")
    path.write_text(text)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    cli("users", "add", "paula", "--name", "Paula", "--role", "process_owner")
    assert "deployed derby_review version 2" in cli("pack", "deploy", "--as", "paula")

    alert_id = derby.report("near_miss", now=T0)
    derby.complete("helen", derby.open_task("helen", alert_id, T0)["task"], {"assessment_method": "Interview", **MARKER},
                   now=T0)
    record_on_red_triangle(derby, alert_id, now=T0)
    assert derby.fire_timers("2027-03-01T10:00") == 1
    review = derby.open_task("helen", alert_id, "2027-03-01T10:00")
    assert count(HumanTask, HumanTask.id == review["task"], HumanTask.status == "ready") == 1

    assert derby.fire_timers("2027-04-01T10:00") == 1  # thirty days on, nobody has reviewed it
    assert not [t for t in derby.inbox("helen", "2027-04-01T10:00") if t["alert"] == alert_id]
    assert count(HumanTask, HumanTask.id == review["task"], HumanTask.status == "cancelled") == 1
    assert count(Case, Case.alert_id == alert_id, Case.kind == "review", Case.status == "completed") == 1
    error = derby.refuse("helen", review["task"], KEEP, now="2027-04-01T10:00")
    assert "no longer" in error or "cancelled" in error

"""Generic features proven on a small pack written for the tests (tests/packs/small_pack.py), through
the command line: [marker_fields] beside the instruction, validWhen, mustDiffer naming several fields,
read_register, and the deploy check's rule on review outcome paths."""
from tests.packs.small_pack import REVIEW, small_world, write_small_pack
from tests.packs.world import DPO

USERS = {"sam": ["staff"], "stan": ["staff"], "tess": ["staff"], "mo": ["manager"]}
T0, DECIDED = "2026-03-02T09:00", "2026-03-03T10:00"
DECISION = {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only,by_appointment"}


def placed(world, cli, staff_involved=None):
    extra = ["--staff-involved", staff_involved] if staff_involved else []
    out = cli("report", "--as", "sam", "--customer", "C1", "--category", "concern", "--description", "x", *extra, now=T0)
    alert_id = int(out.split("alert ")[1].split()[0])
    world.complete("mo", world.open_task("mo", alert_id, T0)["task"], DECISION, now=DECIDED)
    return alert_id


def test_marker_fields_are_shown_beside_the_instruction_by_check_the_visit_list_and_the_story(cli, monkeypatch, tmp_path):
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed(world, cli)
    shown = "How to contact them: Letters only; By appointment"
    out = cli("check", "John Smith", "--as", "tess")
    assert "MARKER (Level 2): Visit in pairs" in out and shown in out
    assert cli.json("visit-list", "--as", "tess", "--json")[0]["details"] == [shown]
    assert world.alert(alert_id, DPO)["marker_details"] == [shown]


def test_a_step_naming_several_people_in_mustdiffer_goes_to_none_of_them(cli, monkeypatch, tmp_path):
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed(world, cli, staff_involved="stan")
    assert not world.tasks_for("sam", alert_id, DECIDED) and not world.tasks_for("stan", alert_id, DECIDED)
    task = world.open_task("tess", alert_id, DECIDED)
    assert "someone other than sam, who reported this concern" in world.refuse(
        "sam", task["task"], {"delivered_at": DECIDED}, now=DECIDED)
    assert "someone other than stan, the member of staff involved" in world.refuse(
        "stan", task["task"], {"delivered_at": DECIDED}, now=DECIDED)
    world.complete("tess", task["task"], {"delivered_at": DECIDED}, now=DECIDED)


def test_valid_when_refuses_an_answer_that_contradicts_the_register_and_read_register_brings_the_review_up_to_date(
        cli, monkeypatch, tmp_path):
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed(world, cli)  # the review case starts before the letter is issued
    assert world.fire_timers("2027-03-03T10:01") == 1
    review = world.open_task("mo", alert_id, "2027-03-03T10:01")
    answers = {"review_reason": "Calmer", "contact_rules": "any"}
    error = world.refuse("mo", review["task"], {**answers, "level": "L3"})
    assert error.strip() == "error: level: Lower level: a review may only lower the level here"
    assert world.alert(alert_id, DPO)["level"] == "L2"  # nothing saved
    # read_register found the letter the assessment issued after this review began: no reason for not telling asked
    world.complete("mo", review["task"], {**answers, "level": "L1"}, now="2027-03-04T10:00")
    alert = world.alert(alert_id, DPO)
    assert alert["level"] == "L1" and alert["letters"][-1]["body"].startswith("Dear John Smith")
    assert "How we will contact you: Any way." in alert["letters"][-1]["body"]
    assert alert["marker_details"] == ["How to contact them: Any way"] and alert["non_disclosures"] == []


def test_the_deploy_check_refuses_a_review_outcome_path_with_no_letter_and_no_recorded_reason(cli, monkeypatch, tmp_path):
    broken = REVIEW.replace('<bpmn:sequenceFlow id="r_not_told" sourceRef="gw_told" targetRef="not_told"/>',
                            '<bpmn:sequenceFlow id="r_not_told" sourceRef="gw_told" targetRef="end"/>')
    broken = broken.replace('<bpmn:endEvent id="end"><bpmn:incoming>r7</bpmn:incoming>',
                            '<bpmn:endEvent id="end"><bpmn:incoming>r7</bpmn:incoming><bpmn:incoming>r_not_told</bpmn:incoming>')
    broken = broken.replace('<bpmn:serviceTask id="not_told"', '<bpmn:serviceTask id="not_told_unused"').replace(
        '<bpmn:flowNodeRef>not_told</bpmn:flowNodeRef>', '')
    broken = broken.replace('<bpmn:sequenceFlow id="r8" sourceRef="not_told" targetRef="end"/>', '').replace(
        '<bpmn:incoming>r8</bpmn:incoming>', '').replace(
        '<bpmn:incoming>r_not_told</bpmn:incoming><bpmn:outgoing>r8</bpmn:outgoing>', '')
    write_small_pack(tmp_path, review=broken)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    for command in (("pack", "check"), ("pack", "deploy")):
        error = cli.fails(*command)
        assert "small_review.bpmn: 'Review the marker' (review): a review outcome path from 'review' reaches 'end' with no letter to the " \
               "tenant and no recorded reason (issue_letter / record_non_disclosure / remove_marker)" in error, error
    write_small_pack(tmp_path)  # the review as written: every outcome path tells the tenant or says why not
    assert "no problems found" in cli("pack", "check")


def test_the_header_counts_a_step_with_no_due_date_from_the_open_steps_tally(cli, monkeypatch, tmp_path):
    """The small pack's "Deliver the letter" has no due date: the page header counts it for its role
    (from the open steps' tally, where it sits after every real day), never as overdue, and not
    for the person it excludes; claimed, it moves to the claimer's count."""
    from webapp import create_app
    from tests.helpers import Browser
    from tests.web.conftest import set_passwords
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    alert_id = placed(world, cli)  # reported by sam: the delivery step excludes him
    step = world.open_task("tess", alert_id, DECIDED)
    assert step["due"] is None
    set_passwords(["sam", "tess", "stan"])
    app = create_app({"TESTING": True})

    def counts(who):
        return Browser(app, who).get("/inbox/counts.json").get_json()
    assert counts("tess") == {"mine": 0, "unclaimed": 1, "overdue": 0}  # months after the decision: never overdue
    assert counts("sam") == {"mine": 0, "unclaimed": 0, "overdue": 0}  # the step keeps him off it
    cli("task", "claim", str(step["task"]), "--as", "stan", now=DECIDED)
    assert counts("stan") == {"mine": 1, "unclaimed": 0, "overdue": 0}
    assert counts("tess") == {"mine": 0, "unclaimed": 0, "overdue": 0}


def test_the_upgrade_to_0030c_puts_the_open_steps_with_no_due_date_in_the_tally(cli, unmigrated_url, monkeypatch, tmp_path):
    """A database from before 0030c kept no tally of the open steps with no due date: the upgrade
    counts them in, and the downgrade takes them out again."""
    from tests.compliance.test_dashboard_charts_counted import tally_by_hand, tally_kept
    from tests.conftest import alembic
    from workflows.tasks.open_step_tally import NO_DUE_DAY
    alembic(unmigrated_url, monkeypatch, "upgrade", "head")
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    placed(world, cli)  # "Deliver the letter" waits, with no due date
    due_less = {k: n for k, n in tally_by_hand().items() if k[2] == NO_DUE_DAY}
    assert due_less == {("staff", "", NO_DUE_DAY): 1} and tally_kept()[0] == tally_by_hand()
    alembic(unmigrated_url, monkeypatch, "downgrade", "0030b")
    assert tally_kept()[0] == {k: n for k, n in tally_by_hand().items() if k[2] != NO_DUE_DAY}
    alembic(unmigrated_url, monkeypatch, "upgrade", "head")
    assert tally_kept()[0] == tally_by_hand()

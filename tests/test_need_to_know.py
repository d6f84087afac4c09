"""Need to know through the command line (Derby): a story is for the roles with a step on it,
the roles the pack names and those its restriction admits; the reasons for not telling the
tenant are for the non-disclosure register's roles; e-mails, migration lists and subject access
exports follow the same rule. tests/web/test_need_to_know.py derives it for every role."""
import json

import pytest

from cli.main import main
from tests.helpers import MARKER, edit, place_near_miss_marker

T0 = "2026-08-31T09:00"
SECRET = "Informant is his sister"


def secure_marker(derby, customer="C1", now=T0) -> int:
    """A scheduled offender's marker (§5.1), decided by anna and kept from the tenant."""
    alert_id = derby.report("rpo", customer=customer, now=now)
    task = derby.open_task("anna", alert_id, now)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Scheduled offence", "scheduled_offender": "yes",
                                          **MARKER, "inform_tenant": "no", "non_disclosure_reason": SECRET}, now=now)
    [keeper] = [t for t in derby.inbox("anna", now) if t["alert"] == alert_id and t["kind"] == "housing_system"]
    derby.complete("anna", keeper["task"], {"housing_system_reference": "RT-9"}, now=now)
    return alert_id


def test_staff_and_roles_with_no_step_are_refused_the_story_and_shown_the_instruction(derby, cli):
    alert_id = place_near_miss_marker(derby, "C1", T0)
    for outsider in ("sam", "pat", "carl"):  # staff, the Personnel Manager, the Complex Needs Manager
        error = cli.fails("alerts", "show", alert_id, "--as", outsider)
        assert f"{outsider} has no need to know the story of alert {alert_id}" in error
        assert "the instruction to staff is: Visit in pairs" in error
        assert alert_id not in [a["alert"] for a in cli.json("alerts", "list", "--as", outsider, "--status", "all")]
    assert "MARKER: Visit in pairs" in cli("check", "John Smith", "--as", "sam")  # what staff need, still there
    assert derby.alert(alert_id, who="helen")["alert"] == alert_id  # she decided it


def test_the_reason_for_not_telling_is_for_the_non_disclosure_register_alone(derby, cli):
    alert_id = derby.report("near_miss", customer="C2", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    derby.complete("helen", task["task"], {"assessment_method": "Talked", **MARKER, "inform_tenant": "no",
                                           "non_disclosure_reason": SECRET}, now=T0)
    decider = cli("alerts", "show", alert_id, "--as", "helen", "--json")  # Head of Service: not on the register
    assert SECRET not in decider and json.loads(decider)["non_disclosures"] == []
    assert json.loads(decider)["tasks"][0]["title"]  # the story itself is hers to read
    register = derby.alert(alert_id, who="hugo")  # Head of Housing Management: on the register
    assert [n["reason"] for n in register["non_disclosures"]] == [SECRET]


def test_the_secure_list_alone_reads_a_scheduled_offender_and_is_audited(derby, cli):
    alert_id = secure_marker(derby)
    for outsider in ("sam", "helen", "pat", "tina"):
        assert f"there is no alert {alert_id}" in cli.fails("alerts", "show", alert_id, "--as", outsider)
    for insider in ("arthur", "hugo"):  # no step on it, but the restriction admits them
        assert derby.alert(alert_id, who=insider)["restriction"] == "scheduled_offender"


def test_escalations_about_a_restricted_record_skip_managers_outside_its_list(derby, cli, smtp, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    cli("users", "add", "rita", "--name", "Rita", "--role", "asb_manager", "--email", "rita@derby.example")
    cli("users", "add", "hester", "--name", "Hester", "--role", "head_of_service", "--email", "hester@derby.example")
    cli("users", "add", "holly", "--name", "Holly", "--role", "head_of_housing_management",
        "--email", "holly@derby.example")
    alert_id = secure_marker(derby)
    assert derby.fire_timers("2027-02-28T09:01") == 1  # the six-monthly review, due in 14 days
    review = derby.open_task("anna", alert_id, "2027-02-28T10:00")
    cli("serve", "--once", now="2027-03-20T10:00")  # overdue: the ASB Manager's manager would be told
    escalations = [m for m in smtp.messages if "Overdue" in m["subject"]]
    assert [m["to"] for m in escalations] == [["holly@derby.example"]]  # not the Head of Service
    assert all("hester@derby.example" not in m["to"] for m in smtp.messages)
    assert f"task {review['task']}" in escalations[0]["subject"]


def test_a_subject_access_export_says_restricted_records_exist_and_who_must_complete_it(derby, cli):
    cli("users", "add", "cora", "--name", "Cora", "--role", "compliance_officer")
    secure_marker(derby)
    result = cli.runner.invoke(main, ["export", "subject-access", "C1", "--as", "cora"])
    assert result.exit_code == 0, result.output
    export = json.loads(result.stdout)
    assert export["alerts"] == [] and export["complete"] is False
    assert export["restricted_records"]["complete_with_roles"] == ["Head of Housing Management"]
    assert "Head of Housing Management must complete the export" in result.stderr
    assert "Scheduled" not in result.stdout  # the restriction's nature is not named
    full = json.loads(cli("export", "subject-access", "C1", "--as", "hugo"))
    assert full["complete"] is True and len(full["alerts"]) == 1


def test_a_migration_dry_run_never_lists_a_restricted_case_to_the_process_owner(derby, cli, pack_dir):
    cli("users", "add", "paula", "--name", "Paula", "--role", "process_owner")
    secure = secure_marker(derby, customer="C1")
    ordinary = place_near_miss_marker(derby, "C2", T0)
    edit(pack_dir / "derby_review.bpmn", ">P6M<", ">P3M<")
    cli("pack", "deploy", "--as", "paula")
    plan = cli("pack", "migrate", "derby_review", "--as", "paula", "--dry-run", now="2026-09-01T09:00")
    assert f"alert {ordinary}," in plan and f"alert {secure}," not in plan
    moved = cli("pack", "migrate", "derby_review", "--as", "paula", now="2026-09-01T09:00")
    assert f"alert {secure}," not in moved
    # the restricted case moved all the same: its next review follows the new period
    assert derby.alert(secure, who="hugo")["next_review_at"].startswith("2026-11-30")


def test_the_impact_of_a_change_never_lists_a_restricted_case_to_the_process_owner(derby, cli, tmp_path):
    from tests.processes.conftest import edited, review_xml
    cli("users", "add", "paula", "--name", "Paula", "--role", "process_owner")
    secure = secure_marker(derby, customer="C1")
    ordinary = place_near_miss_marker(derby, "C2", T0)
    changed = tmp_path / "derby_review.bpmn"
    changed.write_bytes(edited(review_xml(), ">P6M<", ">P3M<"))
    impact = cli("pack", "impact", changed, "--as", "paula", now="2026-09-01T09:00")
    assert f"alert A{ordinary:06d}" in impact and f"A{secure:06d}" not in impact
    assert "1 running case" in impact  # nor counted


@pytest.mark.parametrize("lane", ["Compliance Officer", "Process Owner", "Administrator"])
def test_the_deploy_check_refuses_a_case_step_for_an_oversight_role(cli, pack_dir, lane):
    edit(pack_dir / "derby_review.bpmn", 'name="Complex Needs Manager"', f'name="{lane}"')
    error = cli.fails("pack", "check")
    assert f"lane '{lane}' gives the {lane} role a step on a case" in error
    assert "derby_review.bpmn" in error


def test_who_was_consulted_about_not_telling_is_kept_in_full_however_long(derby, cli, pack_dir):
    """A pack may ask who was consulted in free text, as long as any answer (5,000 characters)."""
    consulted = ("The ASB Manager, the Complex Needs Manager and the tenant's support worker at Derby Mind; " * 4).strip()
    diagram = pack_dir / "derby_assessment.bpmn"
    xml = diagram.read_text()
    task = xml.index('userTask id="assess_near_miss"')
    end = xml.index("</camunda:formData>", task)
    diagram.write_text(xml[:end] + '<camunda:formField id="non_disclosure_consulted" label="Who was consulted" '
                       'type="string"/>' + xml[end:])
    cli("users", "add", "paula", "--name", "Paula", "--role", "process_owner")
    cli("pack", "deploy", "--as", "paula")
    alert_id = derby.report("near_miss", customer="C2", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    derby.complete("helen", task["task"], {"assessment_method": "Talked", **MARKER, "inform_tenant": "no",
                                           "non_disclosure_reason": SECRET, "non_disclosure_consulted": consulted},
                   now=T0)
    assert len(consulted) > 200
    assert [n["consulted"] for n in derby.alert(alert_id, who="hugo")["non_disclosures"]] == [consulted]

"""Nobody decides on their own incident (ICO good practice on warning markers): the person who
reported the concern and the member of staff involved never decide, review or hear an appeal on
it; mustDiffer keeps a second stage from the person who did the first. Through the command line,
on Karbon and Dover and on a test pack."""
from tests.packs.dover_story import ASSESS, INCIDENT, KEEP, on_system, record_external
from tests.packs.world import DPO, world_on_copy
from workflows.definitions import deployment
from workflows.definitions.pack import load_pack

T0 = "2026-03-02T09:00"
INVESTIGATE = {
    "report_source": "staff", "investigation_findings": "x", "incident_nature": "x", "future_risk": "low",
    "person_involved": "x", "person_relationship": "lead_tenant", "vulnerabilities_considered": "x",
    "add_to_register": "yes", "decision_reason": "x", "marker_code": "VIP", "marker_text": "Visit in pairs",
    "inform_customer": "yes", "inform_agencies": "no"}
EXTERNAL = {**{k: v for k, v in ASSESS.items() if k not in ("discussed_with_officer", "behaviour_contact")},
            "inform_customer": "no", "non_disclosure_basis": "probation",
            "non_disclosure_reason": "Probation ask that he is not told yet"}


def report(world, who, category, staff_involved=None, customer="C1", now=T0) -> int:
    extra = ["--staff-involved", staff_involved] if staff_involved else []
    out = world.cli("report", "--as", who, "--customer", customer, "--category", category,
                    "--description", "He threatened me", *extra, now=now)
    return int(out.split("alert ")[1].split()[0])


def test_a_karbon_manager_who_reports_an_incident_does_not_decide_it(karbon, cli):
    alert_id = report(karbon, "mia", "threats")
    task = karbon.open_task("max", alert_id, T0)  # the other manager
    assert task["role"] == "manager"
    assert not karbon.tasks_for("mia", alert_id, T0)
    error = karbon.refuse("mia", task["task"], INVESTIGATE, now=T0)
    assert error.count("\n") == 1 and "mia reported this concern, and nobody decides on their own report" in error
    assert "another Manager must take it" in error
    assert "mia reported this concern" in cli.fails("task", "claim", task["task"], "--as", "mia")
    karbon.complete("max", task["task"], INVESTIGATE, now=T0)
    assert karbon.alert(alert_id, "max")["decided_by"] == "max"


def test_when_only_the_excluded_hold_the_role_the_step_waits_for_someone_eligible(karbon, cli):
    alert_id = report(karbon, "mia", "threats", staff_involved="max")
    alert = karbon.alert(alert_id, DPO)
    assert alert["staff_involved"] == "max" and alert["reported_by"] == "mia"
    assert "staff involved: max" in cli("alerts", "show", alert_id, "--as", DPO)
    # Karbon's manager role climbs no ladder: the step stays on the role, the log says why, and the
    # report stands (refusing it would lose the concern)
    [event] = karbon.events(alert_id, DPO, "no_eligible_holder")
    assert event["detail"]["role"] == "manager" and event["detail"]["excluded"] == ["max", "mia"]
    assert not karbon.tasks_for("mia", alert_id, T0) and not karbon.tasks_for("max", alert_id, T0)
    [task] = [t for t in alert["tasks"] if t["status"] == "ready"]
    assert "max is the member of staff involved, and nobody decides on their own incident" in karbon.refuse(
        "max", task["task"], INVESTIGATE, now=T0)
    cli("users", "add", "nina", "--name", "Nina", "--role", "manager")
    karbon.complete("nina", karbon.open_task("nina", alert_id, T0)["task"], INVESTIGATE, now=T0)


def test_the_staff_involved_must_be_an_active_user(karbon, cli):
    error = cli.fails("report", "--as", "sam", "--customer", "C1", "--category", "threats",
                      "--description", "x", "--staff-involved", "nobody")
    assert error == "error: staff_involved: there is no active user 'nobody': name the member of staff involved by their username\n"
    assert cli.json("alerts", "list", "--as", "eddie", "--status", "under_assessment") == []


def test_a_dover_manager_cannot_name_themself_line_manager_for_their_own_incident(dover, cli):
    alert_id = report(dover, "lena", "incident")
    task = dover.open_task("lena", alert_id, T0)  # the reporter keeps the file record (§5)
    error = dover.refuse("lena", task["task"], INCIDENT, now=T0)
    assert error.startswith("error: line_manager: lena cannot be named here, because 'Discuss with the officer and complete the risk assessment (§8.1)' goes to the person named: ")
    assert "lena reported this concern, and nobody decides on their own report; name someone else" in error
    dover.complete("lena", task["task"], {**INCIDENT, "line_manager": "mike"}, now=T0)
    assessment = dover.open_task("mike", alert_id, T0)
    assert assessment["assignee"] == "mike" and not dover.tasks_for("lena", alert_id, T0)


def test_dover_reporter_and_staff_involved_are_kept_off_the_decision_and_the_review(dover, cli):
    # both managers are excluded, so the decision climbs to the senior manager (escalates_to)
    alert_id = report(dover, "lena", "external_information", staff_involved="mike")
    record_external(dover, alert_id, now=T0)  # recording what was received decides nothing
    task = dover.open_task("sue", alert_id, T0)
    assert task["role"] == "senior_manager"
    assert not dover.tasks_for("lena", alert_id, T0) and not dover.tasks_for("mike", alert_id, T0)
    assert dover.events(alert_id, DPO, "step_escalated_for_separation")[0]["detail"]["to_role"] == "senior_manager"
    dover.complete("sue", task["task"], EXTERNAL, now=T0)
    on_system(dover, alert_id, T0)
    assert dover.fire_timers("2027-03-03T10:01") == 1
    review = dover.open_task("sue", alert_id, "2027-03-03T10:01")
    assert not dover.tasks_for("mike", alert_id, "2027-03-03T10:01")
    error = dover.refuse("mike", review["task"], KEEP, now="2027-03-03T10:01")
    assert "mike is the member of staff involved, and nobody decides on their own incident" in error
    dover.complete("sue", review["task"], KEEP, now="2027-03-04T10:00")


def test_dover_staff_involved_does_not_hear_the_appeal(dover, cli):
    alert_id = report(dover, "sam", "incident", staff_involved="sue")
    dover.complete("sam", dover.open_task("sam", alert_id, T0)["task"], INCIDENT, now=T0)
    dover.complete("lena", dover.open_task("lena", alert_id, T0)["task"], ASSESS, now=T0)
    on_system(dover, alert_id, T0)
    delivery = dover.open_task("olive", alert_id, T0)
    dover.complete("olive", delivery["task"], {"delivered_at": "2026-03-02T11:30", "delivered_to": "The customer"},
                   now="2026-03-02T12:00")
    cli("appeal", alert_id, "--as", "sam", "--grounds", "It was a one-off", now="2026-03-03T10:00")
    hearing = dover.open_task("hank", alert_id, "2026-03-03T10:00")  # climbs past the senior manager
    assert hearing["role"] == "head_of_housing" and not dover.tasks_for("sue", alert_id, "2026-03-03T10:00")
    appeal = {"evidence_reviewed": "Risk assessment", "appeal_outcome": "refused", "appeal_reasons": "Still a risk"}
    assert "sue is the member of staff involved" in dover.refuse("sue", hearing["task"], appeal, now="2026-03-03T10:00")
    dover.complete("hank", hearing["task"], appeal, now="2026-03-04T10:00")


def _two_stage(karbon_dir, must_differ="last_decision_by", rule="mustDiffer", fields=""):
    """Karbon's investigation followed by a second manager's approval of it: the approval is the
    decision (decision=true), so the marker goes on the register when it is approved."""
    path = karbon_dir / "karbon_assessment.bpmn"
    xml = path.read_text()
    approve = ('<bpmn:userTask id="approve" name="Approve the decision"><bpmn:extensionElements>'
               '<camunda:formData><camunda:formField id="approved_note" label="Approval note" type="string"/>'
               f'{fields}</camunda:formData><camunda:properties>'
               f'<camunda:property name="decision" value="true"/>'
               f'<camunda:property name="{rule}" value="{must_differ}"/></camunda:properties>'
               '</bpmn:extensionElements><bpmn:incoming>f_decided</bpmn:incoming>'
               '<bpmn:outgoing>f_approved</bpmn:outgoing></bpmn:userTask>'
               '<bpmn:sequenceFlow id="f_approved" sourceRef="approve" targetRef="file_assessment"/>')
    xml = xml.replace('sourceRef="investigate" targetRef="file_assessment"/>',
                      'sourceRef="investigate" targetRef="approve"/>' + approve)
    xml = xml.replace('camunda:topic="file_risk_assessment"><bpmn:incoming>f_decided</bpmn:incoming>',
                      'camunda:topic="file_risk_assessment"><bpmn:incoming>f_approved</bpmn:incoming>')
    xml = xml.replace('<bpmn:flowNodeRef>investigate</bpmn:flowNodeRef>',
                      '<bpmn:flowNodeRef>investigate</bpmn:flowNodeRef><bpmn:flowNodeRef>approve</bpmn:flowNodeRef>')
    path.write_text(xml)


def test_must_differ_keeps_the_second_stage_from_whoever_did_the_first(cli, monkeypatch, tmp_path):
    from tests.packs.conftest import KARBON_USERS
    world = world_on_copy(cli, monkeypatch, tmp_path, "karbon", KARBON_USERS, lambda toml: _two_stage(toml.parent))
    alert_id = world.report("threats", now=T0)
    world.complete("mia", world.open_task("mia", alert_id, T0)["task"], INVESTIGATE, now=T0)
    approval = world.open_task("max", alert_id, T0)
    assert approval["title"] == "Approve the decision" and not world.tasks_for("mia", alert_id, T0)
    error = world.refuse("mia", approval["task"], {"approved_note": "fine"}, now=T0)
    assert "must be done by someone other than mia, who is named in 'last_decision_by'" in error
    world.complete("max", approval["task"], {"approved_note": "Agreed"}, now=T0)


def test_must_differ_and_must_outrank_name_a_field_the_case_has(tmp_path):
    from tests.packs.world import copy_pack
    toml = copy_pack(tmp_path, "karbon")
    _two_stage(toml.parent, must_differ="approver_of_record")
    pack = load_pack("karbon", tmp_path)
    xml = (pack.directory / "karbon_assessment.bpmn").read_text()
    assert [str(f) for f in deployment.check(xml, "karbon_assessment.bpmn", pack)] == [
        "karbon_assessment.bpmn: 'Approve the decision' (approve): mustDiffer names 'approver_of_record', which no form field or "
        "case variable provides"]
    # mustOutrank used to treat an unknown rank as 0, quietly meaning "anyone else": now it is refused
    outrank = xml.replace('name="mustDiffer" value="approver_of_record"', 'name="mustOutrank" value="last_decision_by"')
    assert [str(f) for f in deployment.check(outrank, "karbon_assessment.bpmn", pack)] == [
        "karbon_assessment.bpmn: 'Approve the decision' (approve): mustOutrank names 'last_decision_by', but nothing provides "
        "'last_decision_by_role' (the role they acted in), so there is no seniority to beat; to require only "
        "a different person, use mustDiffer"]


def test_must_outrank_with_no_rank_to_beat_stops_the_step_instead_of_meaning_anyone_else(cli, monkeypatch, tmp_path):
    from tests.packs.conftest import KARBON_USERS
    fields = ('<camunda:formField id="approver" label="Approver" type="string"/>'
              '<camunda:formField id="approver_role" label="Their role" type="string"/>')

    def asked_at_the_investigation(toml):  # set before the approval on every path, as the lint asks
        _two_stage(toml.parent, "approver", "mustOutrank")
        path = toml.parent / "karbon_assessment.bpmn"
        opening = '<bpmn:userTask id="investigate" name="Investigate the incident and decide (§3.5, §4)">' \
                  '<bpmn:extensionElements><camunda:formData>'
        path.write_text(path.read_text().replace(opening, opening + fields))
    world = world_on_copy(cli, monkeypatch, tmp_path, "karbon", KARBON_USERS, asked_at_the_investigation)
    alert_id = world.report("threats", now=T0)
    task = world.open_task("mia", alert_id, T0)
    error = world.refuse("mia", task["task"], INVESTIGATE, now=T0)
    assert ("must go to someone more senior than the user in 'approver', but 'approver_role' is None, which "
            "names no role of the Karbon Homes pack (to require only a different person, use mustDiffer)") in error
    assert world.alert(alert_id, "max")["status"] == "under_assessment"  # nothing of the step was saved
    assert world.open_task("mia", alert_id, T0)["task"] == task["task"]


def test_every_review_and_appeal_deciding_step_is_a_decision():
    """So the one separation rule covers them: each pack's review and appeal steps that decide."""
    from lxml import etree
    ns = {"bpmn": deployment.BPMN, "camunda": deployment.CAMUNDA}
    for key in ("derby", "dover", "karbon", "polha", "shal"):
        pack = load_pack(key)
        for path in pack.bpmn_files():
            if not any(word in path.stem for word in ("review", "appeal", "objection")):
                continue
            for task in etree.parse(str(path)).getroot().iterfind(".//bpmn:userTask", ns):
                props = {p.get("name"): p.get("value") for p in task.iterfind(".//camunda:property", ns)}
                outcome = [f.get("id") for f in task.iterfind(".//camunda:formField", ns)
                           if f.get("id").endswith("_outcome")]
                if outcome or props.get("mustOutrank"):
                    assert props.get("decision") == "true", f"{path.name}: {task.get('id')}"

"""The generic features the four packs brought (no pack names in code): checked on their own."""
import dataclasses
import json
import shutil

import pytest

from tests.packs.world import copy_pack
from workflows.platform import config
from workflows.definitions import deployment
from workflows.definitions.pack import PackError, load_pack


def test_a_timer_may_read_case_data_but_only_names_the_case_has(tmp_path):
    pack = load_pack("karbon")
    xml = (pack.directory / "karbon_review.bpmn").read_text()
    assert deployment.check(xml, "karbon_review.bpmn", pack) == []
    broken = xml.replace("marker_code == 'DNV'", "marker_kode == 'DNV'")
    findings = [str(f) for f in deployment.check(broken, "karbon_review.bpmn", pack)]
    assert findings and "marker_kode" in findings[0] and "due_def" in findings[0]


def test_pack_settings_are_checked_when_the_pack_loads(tmp_path):
    path = copy_pack(tmp_path, "shal")
    text = path.read_text()
    path.write_text(text.replace('deputises_for = ["housing_manager"]', 'deputises_for = ["housing_boss"]'))
    with pytest.raises(PackError, match="deputises_for unknown roles"):
        load_pack("shal", tmp_path)

    dover = tmp_path / "dover"
    shutil.copytree(config.packs_dir() / "dover", dover)
    toml = dover / "pack.toml"
    toml.write_text(toml.read_text().replace('appeal_within = "P14D"', 'appeal_within = "fourteen days"'))
    with pytest.raises(PackError, match="appeal_within"):
        load_pack("dover", tmp_path)


def test_letter_delivery_methods_come_from_the_pack(tmp_path):
    path = copy_pack(tmp_path, "dover")
    assert "hand delivered" in load_pack("dover", tmp_path).delivery_methods  # the default list
    text = path.read_text().replace('appeal_within = "P14D"', 'appeal_within = "P14D"\n'
                                    'letter_delivery_methods = ["recorded delivery", "hand delivered by two officers"]')
    path.write_text(text)
    pack = load_pack("dover", tmp_path)
    assert pack.delivery_methods == ("recorded delivery", "hand delivered by two officers")
    # the diagram's service task records "hand delivered", which this pack no longer offers
    xml = (pack.directory / "dover_assessment.bpmn").read_text()
    findings = [str(f) for f in deployment.check(xml, "dover_assessment.bpmn", pack)]
    assert findings == ["dover_assessment.bpmn: 'Delivery recorded' (delivered): unknown delivery method 'hand delivered' "
                        "(the pack's: recorded delivery, hand delivered by two officers)"]
    path.write_text(text.replace('["recorded delivery", "hand delivered by two officers"]', "[]"))
    with pytest.raises(PackError, match="letter_delivery_methods must be a list of one or more names"):
        load_pack("dover", tmp_path)


def test_a_pack_that_keeps_markers_after_a_tenancy_ends_only_records_the_end(karbon, cli):
    alert_id = karbon.report("threats", customer="C1", now="2026-03-02T09:00")
    task = karbon.open_task("mia", alert_id, "2026-03-02T09:00")
    karbon.complete("mia", task["task"], {
        "report_source": "staff", "investigation_findings": "x", "incident_nature": "x", "future_risk": "low",
        "person_involved": "x", "person_relationship": "lead_tenant", "vulnerabilities_considered": "x",
        "add_to_register": "yes", "decision_reason": "x", "marker_code": "VIP", "marker_text": "Visit in pairs",
        "inform_customer": "yes", "inform_agencies": "no"}, now="2026-03-02T10:00")
    assert "0 marker(s) removed" in cli("tenancy", "end", "C1", "--as", "sam")
    assert karbon.alert(alert_id, "mia")["status"] == "active"
    assert "no customer with reference" in cli.fails("tenancy", "end", "C9", "--as", "sam")


def test_requests_and_appeals_name_what_is_missing(karbon, cli):
    alert_id = karbon.report("threats", customer="C2", now="2026-03-02T09:00")
    assert "no request 'subject_access' (requests: none)" in cli.fails(
        "request", alert_id, "--as", "sam", "--kind", "subject_access", "--details", "x")
    assert "there is no alert 99" in cli.fails("appeal", 99, "--as", "sam", "--grounds", "x")


def test_a_pack_that_issues_letters_must_say_how_soon_the_tenant_is_told(cli, monkeypatch, tmp_path):
    seed = config.packs_dir()
    toml = copy_pack(tmp_path, "karbon")
    text = toml.read_text()
    assert 'tell_tenant_within = "P14D"' in text
    toml.write_text(text.replace('tell_tenant_within = "P14D"', ""))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "karbon")
    for command in (("pack", "check"), ("pack", "deploy")):
        error = cli.fails(*command)
        assert error.endswith("the pack issues letters, so it must say how soon the tenant is told of a decision: "
                              "set [registers] tell_tenant_within, e.g. tell_tenant_within = \"P14D\" (an ISO 8601 "
                              "duration; the dashboard lists letters not delivered by then)\n"), error
        assert len(error.splitlines()) == 1
    # a diagram's issue_letter is checked against the same setting
    pack = load_pack("karbon", seed)
    pack.registers = dataclasses.replace(pack.registers, tell_tenant_within=None)
    xml = (pack.directory / "karbon_assessment.bpmn").read_text()
    findings = [str(f) for f in deployment.check(xml, "karbon_assessment.bpmn", pack)]
    assert findings and all("set [registers] tell_tenant_within in pack.toml" in f for f in findings)


def test_the_next_review_counts_from_the_due_date_unless_the_pack_says_otherwise(tmp_path):
    toml = copy_pack(tmp_path, "dover")
    assert load_pack("dover", tmp_path).review_from_due_date is True  # the default
    toml.write_text(toml.read_text().replace('appeal_within = "P14D"',
                                             'appeal_within = "P14D"\nreview_from_due_date = false'))
    assert load_pack("dover", tmp_path).review_from_due_date is False
# --- [housing_system]: the register tells the housing system's keeper of every change to a marker ---

KARBON_ADD = {"report_source": "staff", "investigation_findings": "x", "incident_nature": "Threats",
              "future_risk": "high", "person_involved": "x", "person_relationship": "lead_tenant",
              "vulnerabilities_considered": "x", "add_to_register": "yes", "decision_reason": "Threatened an officer",
              "marker_code": "DNV", "marker_text": "Do not visit", "inform_customer": "yes", "inform_agencies": "no"}
KARBON_KEEP = {"review_findings": "x", "review_outcome": "keep", "review_reason": "Risk remains", "inform_customer": "yes",
               "vulnerabilities_considered": "None known", "incident_nature": "Threats"}
HOUSING_SYSTEM = '\n[housing_system]\nrole = "staff"\ndue_within = "PT4H"\nname = "Orchard"\n'


def _with_housing_system(path):
    path.write_text(path.read_text() + HOUSING_SYSTEM)


def _keeper_step(world, cli, alert_id, now, change):
    step = world.open_task("sam", alert_id, now)
    assert step["kind"] == "housing_system" and step["title"] == f"Update Orchard: {change}"
    return step, cli("task", "show", step["task"], "--as", "sam", now=now)


def test_every_change_to_a_marker_gives_the_housing_system_keeper_a_step(cli, monkeypatch, tmp_path):
    from tests.packs.conftest import KARBON_USERS
    from tests.packs.world import world_on_copy

    karbon = world_on_copy(cli, monkeypatch, tmp_path, "karbon", {**KARBON_USERS, "cole": ["compliance_officer"]},
                           _with_housing_system)
    alert_id = karbon.report("threats", customer="C1", now="2026-03-02T09:00")
    task = karbon.open_task("mia", alert_id, "2026-03-02T09:00")
    karbon.complete("mia", task["task"], KARBON_ADD, now="2026-03-02T10:00")
    # live for staff at the decision, whatever the keeper does next
    assert "MARKER (DNV: do not visit (office or phone contact only)): Do not visit" in cli("check", "John Smith", "--as", "sam", now="2026-03-02T10:00")
    step, shown = _keeper_step(karbon, cli, alert_id, "2026-03-02T10:00", "place the marker")
    assert step["due"] == "2026-03-02"  # due within PT4H
    assert "Instruction to staff: Do not visit" in shown and "Code: DNV" in shown
    assert "Threatened an officer" not in shown  # what to enter, never the reasons
    assert karbon.alert(alert_id, "mia")["cases"][0]["status"] == "completed"

    # overdue: on the compliance dashboard like any step
    # (due on 2 March, it is due all that day: overdue from the next)
    assert json.loads(cli("dashboard", "--as", "cole", now="2026-03-02T23:59"))["overdue"] == []
    board = json.loads(cli("dashboard", "--as", "cole", now="2026-03-03T00:00"))
    assert [r["title"] for r in board["overdue"]] == ["Update Orchard: place the marker"]
    # claimed, released and completed as any step; it needs the reference, and only that
    cli("task", "claim", step["task"], "--as", "sam")
    cli("task", "release", step["task"], "--as", "sam")
    assert "housing_system_reference" in karbon.refuse("sam", step["task"], {})
    assert "no field 'marker_text'" in karbon.refuse("sam", step["task"], {"housing_system_reference": "OR-1",
                                                                           "marker_text": "x"})
    assert "for the Staff role" in karbon.refuse("mia", step["task"], {"housing_system_reference": "OR-1"})
    karbon.complete("sam", step["task"], {"housing_system_reference": "OR-1"}, now="2026-03-02T15:00")
    assert "already been completed by sam" in karbon.refuse("sam", step["task"], {"housing_system_reference": "OR-2"})
    done = [e for e in karbon.alert(alert_id, "mia")["events"] if e["action"] == "housing_system_updated"]
    assert [(e["actor"], e["detail"]["reference"]) for e in done] == [("sam", "OR-1")]
    assert len(karbon.events(alert_id, "mia", "housing_system_update_due")) == 1

    # a review that keeps it unchanged asks nothing; one that changes the code does; a removal does
    assert karbon.fire_timers("2026-04-02T10:01") == 1
    review = karbon.open_task("mia", alert_id, "2026-04-02T10:01")
    karbon.complete("mia", review["task"], KARBON_KEEP, now="2026-04-03T10:00")
    assert karbon.tasks_for("sam", alert_id, "2026-04-03T10:00") == []
    assert karbon.fire_timers("2026-05-03T10:01") == 1
    review = karbon.open_task("mia", alert_id, "2026-05-03T10:01")
    karbon.complete("mia", review["task"], {**KARBON_KEEP, "review_outcome": "amend", "marker_code": "VIP",
                                            "marker_text": "Visit in pairs"}, now="2026-05-04T10:00")
    step, shown = _keeper_step(karbon, cli, alert_id, "2026-05-04T10:00", "change the marker")
    assert "Instruction to staff: Visit in pairs" in shown and "Code: VIP" in shown
    karbon.complete("sam", step["task"], {"housing_system_reference": "OR-1"})
    assert karbon.fire_timers("2026-11-04T10:01") == 1
    review = karbon.open_task("mia", alert_id, "2026-11-04T10:01")
    karbon.complete("mia", review["task"], {**KARBON_KEEP, "review_outcome": "remove", "review_reason": "Moved"},
                    now="2026-11-05T10:00")
    step, shown = _keeper_step(karbon, cli, alert_id, "2026-11-05T10:00", "remove the marker")
    assert "Remove the marker from John Smith (C1)'s record" in shown


def test_a_pack_without_a_housing_system_creates_no_steps_for_it(karbon, cli):
    alert_id = karbon.report("threats", customer="C1", now="2026-03-02T09:00")
    karbon.complete("mia", karbon.open_task("mia", alert_id, "2026-03-02T09:00")["task"], KARBON_ADD)
    assert karbon.inbox("sam") == [] and karbon.events(alert_id, "mia", "housing_system_update_due") == []


def test_housing_system_settings_are_checked_when_the_pack_loads(tmp_path):
    path = copy_pack(tmp_path, "karbon")
    text = path.read_text()
    path.write_text(text + HOUSING_SYSTEM.replace('"staff"', '"clerk"'))
    with pytest.raises(PackError, match=r"\[housing_system\] role names unknown role 'clerk'"):
        load_pack("karbon", tmp_path)
    path.write_text(text + HOUSING_SYSTEM.replace('"PT4H"', '"four hours"'))
    with pytest.raises(PackError, match=r"\[housing_system\] due_within"):
        load_pack("karbon", tmp_path)
    path.write_text(text + '\n[housing_system]\nname = "Orchard"\n')
    with pytest.raises(PackError, match=r"\[housing_system\] needs role"):
        load_pack("karbon", tmp_path)
    # a keeper who may not see a restricted record cannot be told of it: the check names the fix
    derby = copy_pack(tmp_path, "derby")
    derby.write_text(derby.read_text().replace('housing_system_role = "asb_manager"\n', ""))
    with pytest.raises(PackError, match=r"ASB Team role keeps the red triangle in step but may not see "
                                        r"scheduled_offender records; set housing_system_role in "
                                        r"\[restrictions.scheduled_offender\]"):
        load_pack("derby", tmp_path)


def test_the_lint_refuses_a_user_task_between_a_decision_and_the_action_recording_it():
    pack = load_pack("karbon")
    xml = (pack.directory / "karbon_assessment.bpmn").read_text()
    clerical = ('<bpmn:userTask id="type_it_in" name="Put it on the housing system"><bpmn:incoming>f_add</bpmn:incoming>'
                '<bpmn:outgoing>f_typed</bpmn:outgoing></bpmn:userTask>'
                '<bpmn:sequenceFlow id="f_typed" sourceRef="type_it_in" targetRef="place_marker"/>')
    broken = (xml.replace('sourceRef="gw_add" targetRef="place_marker"', 'sourceRef="gw_add" targetRef="type_it_in"')
              .replace("<bpmn:flowNodeRef>gw_add</bpmn:flowNodeRef>",
                       "<bpmn:flowNodeRef>gw_add</bpmn:flowNodeRef><bpmn:flowNodeRef>type_it_in</bpmn:flowNodeRef>")
              .replace('<bpmn:sequenceFlow id="f_add"', clerical + '<bpmn:sequenceFlow id="f_add"'))
    findings = [str(f) for f in deployment.check(broken, "karbon_assessment.bpmn", pack)]
    assert findings == ["karbon_assessment.bpmn: 'Put it on the housing system' (type_it_in): user task 'type_it_in' stands between the decision "
                        "'investigate' and 'place_marker', which records it: staff would not see the decision "
                        "until 'type_it_in' is done. Record the outcome straight after the decision; the step of "
                        "putting it on the housing system now comes from pack.toml [housing_system]"]


# --- [pack] review_carries: what the assessment asked that every review must know ---

def _karbon_review_reading_the_source(toml, carries=True):
    if carries:
        toml.write_text(toml.read_text().replace("[pack]\n", '[pack]\nreview_carries = ["report_source"]\n', 1))
    review = toml.parent / "karbon_review.bpmn"
    review.write_text(review.read_text().replace(
        '<camunda:formField id="review_outcome"',
        '<camunda:formField id="police_view" label="What the police say now" type="string"><camunda:properties>'
        '<camunda:property id="requiredWhen" value="report_source == \'police\'"/></camunda:properties>'
        '</camunda:formField><camunda:formField id="review_outcome"', 1))


def test_a_review_knows_what_the_pack_carries_from_the_assessment_and_only_that(cli, monkeypatch, tmp_path):
    from tests.packs.conftest import KARBON_USERS
    from tests.packs.world import world_on_copy

    # without review_carries, a review reading an assessment's answer is refused by the check
    _karbon_review_reading_the_source(copy_pack(tmp_path / "plain", "karbon"), carries=False)
    pack = load_pack("karbon", tmp_path / "plain")
    findings = [str(f) for f in deployment.check((pack.directory / "karbon_review.bpmn").read_text(),
                                                  "karbon_review.bpmn", pack)]
    assert findings and "reads report_source, which no form field or case variable provides" in findings[0]

    karbon = world_on_copy(cli, monkeypatch, tmp_path, "karbon", KARBON_USERS, _karbon_review_reading_the_source)
    police = karbon.report("threats", customer="C1", now="2026-03-02T09:00")
    staff = karbon.report("threats", customer="C2", now="2026-03-02T09:00")
    for alert_id, source in ((police, "police"), (staff, "staff")):
        task = karbon.open_task("mia", alert_id, "2026-03-02T09:00")
        karbon.complete("mia", task["task"], {**KARBON_ADD, "report_source": source, "marker_code": "VIP"},
                        now="2026-03-02T10:00")
    assert karbon.fire_timers("2026-09-02T10:01") == 2
    review = karbon.open_task("mia", police, "2026-09-02T10:01")
    assert "police_view" in karbon.refuse("mia", review["task"], KARBON_KEEP, now="2026-09-02T10:01")
    karbon.complete("mia", review["task"], {**KARBON_KEEP, "police_view": "No further intelligence"},
                    now="2026-09-03T10:00")
    review = karbon.open_task("mia", staff, "2026-09-02T10:01")
    karbon.complete("mia", review["task"], KARBON_KEEP, now="2026-09-03T10:00")  # not asked: staff reported it
    # carried on to the review after
    assert karbon.fire_timers("2027-03-02T10:01") == 2
    review = karbon.open_task("mia", police, "2027-03-02T10:01")
    assert "police_view" in karbon.refuse("mia", review["task"], KARBON_KEEP, now="2027-03-02T10:01")


def test_review_carries_must_name_case_data(tmp_path):
    toml = copy_pack(tmp_path, "karbon")
    toml.write_text(toml.read_text().replace("[pack]\n", '[pack]\nreview_carries = "report source"\n', 1))
    with pytest.raises(PackError, match="review_carries must be a list of case-data names"):
        load_pack("karbon", tmp_path)


def test_a_step_may_name_the_role_its_holder_may_nominate_and_only_a_role_of_the_pack():
    pack = load_pack("derby")
    xml = (pack.directory / "derby_review.bpmn").read_text()
    assert deployment.check(xml, "derby_review.bpmn", pack) == []
    findings = [str(f) for f in deployment.check(xml.replace('name="nominee" value="service_manager"',
                                                              'name="nominee" value="deputy_head"'),
                                                  "derby_review.bpmn", pack)]
    assert findings == ["derby_review.bpmn: 'Review the marker' (review_head_of_service): nominee names unknown role 'deputy_head' "
                        f"(this pack has: {', '.join(sorted(pack.roles))})"]


def test_a_restrictions_control_measures_are_a_list_of_measures(tmp_path):
    toml = copy_pack(tmp_path, "derby")
    text = toml.read_text()
    assert load_pack("derby", tmp_path).restrictions["scheduled_offender"].control_measures == (
        "Contact the relevant manager before visiting",)
    toml.write_text(text.replace('control_measures = ["Contact the relevant manager before visiting"]',
                                 'control_measures = "ring first"'))
    with pytest.raises(PackError, match=r"\[restrictions.scheduled_offender\] control_measures must be a list"):
        load_pack("derby", tmp_path)


def test_the_check_refuses_a_letter_issued_on_a_path_where_the_tenant_was_recorded_as_not_told(cli, monkeypatch,
                                                                                                tmp_path):
    """A diagram whose 'not told' path runs on into the letter would write to a tenant deliberately
    not told: `pack check` and `pack deploy` refuse it, naming the letter and the step that recorded it."""
    seed = config.packs_dir() / "derby" / "derby_assessment.bpmn"
    toml = copy_pack(tmp_path, "derby")
    diagram = toml.parent / "derby_assessment.bpmn"
    xml = diagram.read_text()
    xml = xml.replace('<bpmn:sequenceFlow id="f_nd" name="" sourceRef="non_disclosure" targetRef="told"/>',
                      '<bpmn:sequenceFlow id="f_nd" name="" sourceRef="non_disclosure" targetRef="letter"/>')
    xml = xml.replace('<bpmn:incoming>f_inform</bpmn:incoming><bpmn:outgoing>f_letter</bpmn:outgoing>',
                      '<bpmn:incoming>f_inform</bpmn:incoming><bpmn:incoming>f_nd</bpmn:incoming>'
                      '<bpmn:outgoing>f_letter</bpmn:outgoing>')
    xml = xml.replace('<bpmn:incoming>f_letter</bpmn:incoming><bpmn:incoming>f_nd</bpmn:incoming>',
                      '<bpmn:incoming>f_letter</bpmn:incoming>')
    diagram.write_text(xml)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "derby")
    for command in (("pack", "check"), ("pack", "deploy")):
        error = cli.fails(*command)
        assert ("derby_assessment.bpmn: 'Letter to the tenant' (letter): issues the letter 'marker_placed' on a path after 'non_disclosure' "
                "recorded that the tenant is not told") in error, error
    assert "no problems found" in cli("pack", "check", str(seed))  # as Derby has it: no letter after not told
    # a letter to someone other than the tenant (a notice to staff) may follow "not told"
    notice = copy_pack(tmp_path / "notice", "derby")  # ALERTFLOW_PACKS_DIR points at the edited copy
    shutil.copy(diagram, notice.parent / "derby_assessment.bpmn")
    notice.write_text(notice.read_text().replace('file = "letters/marker_placed.txt"',
                                                 'file = "letters/marker_placed.txt"\nto_tenant = false'))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path / "notice"))
    assert "no problems found" in cli("pack", "check")


def test_a_letter_after_not_told_is_allowed_once_a_new_decision_is_taken():
    """The rule holds until someone decides again: a path from "not told" back to a deciding step
    (which may decide to tell) is not refused."""
    pack = load_pack("derby")
    xml = (pack.directory / "derby_assessment.bpmn").read_text()
    xml = xml.replace('<bpmn:sequenceFlow id="f_nd" name="" sourceRef="non_disclosure" targetRef="told"/>',
                      '<bpmn:sequenceFlow id="f_nd" name="" sourceRef="non_disclosure" targetRef="assess_near_miss"/>')
    xml = xml.replace('<bpmn:incoming>f_near_miss</bpmn:incoming>',
                      '<bpmn:incoming>f_near_miss</bpmn:incoming><bpmn:incoming>f_nd</bpmn:incoming>')
    xml = xml.replace('<bpmn:incoming>f_letter</bpmn:incoming><bpmn:incoming>f_nd</bpmn:incoming>',
                      '<bpmn:incoming>f_letter</bpmn:incoming>')
    # the loop back passes schedule_review a second time, which the one-waiting-review rule refuses;
    # the rule on letters after "not told" has nothing to say
    assert [str(f) for f in deployment.check(xml, "derby_assessment.bpmn", pack)] == [
        "derby_assessment.bpmn: 'Six-monthly review scheduled (§6)' (schedule_review): a path from here passes "
        "'schedule_review', another schedule_review: "
        "it could leave the marker with two waiting reviews; schedule the review once on every path"]


def test_letters_to_others_than_the_tenant_are_checked_when_the_pack_loads(tmp_path):
    path = copy_pack(tmp_path, "karbon")
    text = path.read_text()
    assert not load_pack("karbon", tmp_path).letters["out_of_hours_notice"].to_tenant
    assert load_pack("karbon", tmp_path).letters["caution_alert_added"].to_tenant  # the default
    path.write_text(text.replace("to_tenant = false", 'to_tenant = "no"', 1))
    with pytest.raises(PackError, match=r"\[letters.out_of_hours_notice\] to_tenant must be true or false"):
        load_pack("karbon", tmp_path)
    path.write_text(text.replace("to_tenant = false", "to_tennant = false", 1))
    with pytest.raises(PackError, match=r"\[letters.out_of_hours_notice\] has unknown settings \['to_tennant'\]"):
        load_pack("karbon", tmp_path)


def test_a_subject_access_export_withholds_notices_only_where_the_pack_says_so(cli, monkeypatch, tmp_path):
    """`notices` in withheld_when_not_told (the default) keeps letters to others than the tenant out of
    the export of an alert the tenant was not told of; a pack that leaves it out shows them."""
    from tests.packs.conftest import KARBON_USERS
    from tests.packs.world import world_on_copy

    def notices_shown(toml):
        toml.write_text(toml.read_text().replace(
            '[registers]\n', '[registers]\nwithheld_when_not_told = ["marker", "risk_assessments", "notes", '
            '"non_disclosures", "tasks", "events"]\n'))
    karbon = world_on_copy(cli, monkeypatch, tmp_path, "karbon", KARBON_USERS, notices_shown)
    alert_id = karbon.report("sharps", customer="C3", now="2026-03-02T09:00")
    task = karbon.open_task("mia", alert_id, "2026-03-02T09:00")
    karbon.complete("mia", task["task"], {
        "report_source": "staff", "investigation_findings": "Needles seen", "incident_nature": "Needles left out",
        "future_risk": "high", "person_involved": "Lead tenant", "person_relationship": "lead_tenant",
        "vulnerabilities_considered": "None known", "add_to_register": "yes", "decision_reason": "Sharps",
        "marker_code": "SHP", "marker_text": "Wear gloves", "inform_customer": "no",
        "non_disclosure_reason": "Would stop engaging with treatment", "inform_agencies": "no"},
        now="2026-03-03T10:00")
    record = json.loads(cli("export", "subject-access", "C3", "--as", "dpo"))["alerts"][0]
    assert record["marker"]["withheld"] is True and "notices" not in record["withheld_sections"]
    assert "Wear gloves" in record["letters"][0]["body"]  # this pack chose to show the notice


def test_without_markers_on_lead_tenant_a_report_flags_the_household_member_named(shal, cli, tmp_path):
    """The household link alone changes nothing: only a pack with markers_on_lead_tenant moves the flag."""
    cli("customers", "add", "C4", "--name", "Dean Smith", "--household-of", "C1")
    out = cli("report", "--as", "sam", "--customer", "C4", "--category", "incident", "--description", "Threats")
    assert "lead tenant" not in out
    alert = json.loads(cli("alerts", "show", out.split()[1], "--as", "hannah", "--json"))
    assert alert["customer"] == "C4" and alert["about_customer"] is None

    path = copy_pack(tmp_path, "karbon")
    path.write_text(path.read_text().replace("markers_on_lead_tenant = true", 'markers_on_lead_tenant = "yes"'))
    with pytest.raises(PackError, match=r"\[pack\] markers_on_lead_tenant must be true or false, not 'yes'"):
        load_pack("karbon", tmp_path)


def test_a_role_lands_where_its_pack_says_unless_a_step_waits_and_a_page_it_does_not_know_is_refused(
        cli, monkeypatch, tmp_path, app):
    from tests.helpers import Browser
    from tests.packs.small_pack import PACK_TOML, write_small_pack
    from tests.packs.world import PackWorld
    from tests.web.conftest import set_passwords
    toml = (PACK_TOML.replace('[roles.staff]\nname = "Staff"\n', '[roles.staff]\nname = "Staff"\nlands_on = "register"\n')
            .replace('[roles.manager]\nname = "Manager"\n', '[roles.manager]\nname = "Manager"\nlands_on = "check"\n'))
    bad = tmp_path / "bad"
    write_small_pack(bad, toml=toml.replace('lands_on = "register"', 'lands_on = "the canteen"'))
    with pytest.raises(PackError, match="lands_on = 'the canteen' is not a page; choose inbox, check"):
        load_pack("small", bad)
    write_small_pack(tmp_path, toml=toml)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    PackWorld(cli, {"sue": ["staff"], "mo": ["manager"]})
    set_passwords(["sue", "mo"])
    assert Browser(app).sign_in("sue").headers["Location"] == "/alerts"  # the pack's lands_on for staff
    assert Browser(app).sign_in("mo").headers["Location"] == "/check"  # nothing waits for him yet
    cli("report", "--as", "sue", "--customer", "C1", "--category", "concern", "--description", "x")
    assert Browser(app).sign_in("mo").headers["Location"] == "/inbox"  # a step waits for the manager

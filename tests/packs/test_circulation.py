"""Circulation on the small test pack (tests/packs/small_pack.py) given recipients: the `notify`
action telling the default audience and, with a recorded justification only, anyone beyond it
(through the command line and the web task page), the withdrawal notice to everyone told, seen on
a real SMTP server, the circulation list on the story and in the subject access export, and the
bad inputs (a recipient the pack does not have, an empty justification)."""
import json
import os
import re

from tests.helpers import Browser, csrf_token
from tests.packs.small_pack import ASSESSMENT, INCIDENT, PACK_TOML, write_small_pack
from tests.packs.world import DPO, PackWorld

USERS = {"sam": ["staff"], "tess": ["staff"], "mo": ["manager"], "meg": ["manager"]}
T0, DECIDED, LATER = "2026-03-02T09:00", "2026-03-03T10:00", "2026-06-01T09:00"
REASONS = "Threatened the gas engineer with a hammer"

RECIPIENTS = """
[recipients.housing_team]
name = "North housing team"
kind = "team"
email = "north-housing@small.example"
[recipients.repairs]
name = "Repairs (North patch)"
kind = "contractor"
email = "repairs-north@small.example"
[recipients.out_of_hours]
name = "Out-of-hours service"
kind = "out_of_hours"
email = "ooh@small.example"
[recipients.managers]
kind = "role"
role = "manager"
email = "managers@small.example"

[circulation]
default_audience = ["housing_team", "repairs"]
"""
TOML = PACK_TOML.replace("[marker_fields]", RECIPIENTS + "\n[marker_fields]")

# the decision asks who beyond the usual teams must know, and why; the usual teams are always told
CHOICE = ('<camunda:formField id="circulate_to" label="Who else must know" type="enum"><camunda:properties>'
          '<camunda:property id="multiple" value="true"/></camunda:properties>'
          '<camunda:value id="out_of_hours" name="Out-of-hours service"/><camunda:value id="managers" name="Managers"/>'
          '</camunda:formField><camunda:formField id="circulation_justification" '
          'label="Why they must know" type="string"/>')
NOTIFY = ('<bpmn:serviceTask id="tell" name="Tell who must know" camunda:type="external" camunda:topic="notify">'
          '<bpmn:extensionElements><camunda:properties><camunda:property name="recipients" value="housing_team,repairs"/>'
          '<camunda:property name="recipients_field" value="circulate_to"/></camunda:properties></bpmn:extensionElements>'
          '<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f4b</bpmn:outgoing></bpmn:serviceTask>')
CIRCULATING_ASSESSMENT = (ASSESSMENT
                          .replace("</camunda:formData><camunda:properties><camunda:property name=\"decision\"",
                                   CHOICE + "</camunda:formData><camunda:properties><camunda:property name=\"decision\"", 1)
                          .replace("<bpmn:flowNodeRef>letter</bpmn:flowNodeRef>",
                                   "<bpmn:flowNodeRef>tell</bpmn:flowNodeRef><bpmn:flowNodeRef>letter</bpmn:flowNodeRef>", 1)
                          .replace('<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>',
                                   '<bpmn:incoming>f4b</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>')
                          .replace('<bpmn:sequenceFlow id="f4" sourceRef="schedule" targetRef="letter"/>',
                                   '<bpmn:sequenceFlow id="f4" sourceRef="schedule" targetRef="tell"/>' + NOTIFY +
                                   '<bpmn:sequenceFlow id="f4b" sourceRef="tell" targetRef="letter"/>'))

# a linked incident may show the marker was wrong (identity not established): it is withdrawn and
# everyone told of it is told so
WITHDRAW_OPTION = '<camunda:value id="withdraw" name="Withdraw it: identity not established"/>'
WITHDRAW_FIELD = ('<camunda:formField id="withdraw_reason" label="Why it is withdrawn" type="string"><camunda:properties>'
                  '<camunda:property id="requiredWhen" value="incident_outcome == \'withdraw\'"/></camunda:properties>'
                  '</camunda:formField>')
WITHDRAW_PATH = (
    '<bpmn:serviceTask id="withdraw" name="Withdraw the marker" camunda:type="external" camunda:topic="remove_marker">'
    '<bpmn:extensionElements><camunda:properties><camunda:property name="reason_field" value="withdraw_reason"/>'
    '</camunda:properties></bpmn:extensionElements><bpmn:incoming>i_withdraw</bpmn:incoming><bpmn:outgoing>i6</bpmn:outgoing>'
    '</bpmn:serviceTask><bpmn:serviceTask id="tell_withdrawn" name="Tell everyone told of it" camunda:type="external" '
    'camunda:topic="notify_circulation"><bpmn:extensionElements><camunda:properties>'
    '<camunda:property name="notice" value="withdrawn"/></camunda:properties></bpmn:extensionElements>'
    '<bpmn:incoming>i6</bpmn:incoming><bpmn:outgoing>i7</bpmn:outgoing></bpmn:serviceTask>'
    '<bpmn:sequenceFlow id="i_withdraw" sourceRef="gw" targetRef="withdraw"><bpmn:conditionExpression '
    'xsi:type="bpmn:tFormalExpression">incident_outcome == \'withdraw\'</bpmn:conditionExpression></bpmn:sequenceFlow>'
    '<bpmn:sequenceFlow id="i6" sourceRef="withdraw" targetRef="tell_withdrawn"/>'
    '<bpmn:sequenceFlow id="i7" sourceRef="tell_withdrawn" targetRef="end"/>')
WITHDRAWING_INCIDENT = (INCIDENT
                        .replace('<camunda:value id="now" name="Review it now"/>',
                                 '<camunda:value id="now" name="Review it now"/>' + WITHDRAW_OPTION)
                        .replace('<camunda:formField id="review_by"', WITHDRAW_FIELD + '<camunda:formField id="review_by"')
                        .replace("<bpmn:flowNodeRef>end</bpmn:flowNodeRef>",
                                 "<bpmn:flowNodeRef>withdraw</bpmn:flowNodeRef><bpmn:flowNodeRef>tell_withdrawn"
                                 "</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>", 1)
                        .replace("<bpmn:outgoing>i_now</bpmn:outgoing>",
                                 "<bpmn:outgoing>i_now</bpmn:outgoing><bpmn:outgoing>i_withdraw</bpmn:outgoing>")
                        .replace("<bpmn:incoming>i5</bpmn:incoming></bpmn:endEvent>",
                                 "<bpmn:incoming>i5</bpmn:incoming><bpmn:incoming>i7</bpmn:incoming></bpmn:endEvent>")
                        .replace('<bpmn:sequenceFlow id="i1"', WITHDRAW_PATH + '<bpmn:sequenceFlow id="i1"')
                        # a changed marker: everyone told of it is told the new instruction (notice by default)
                        .replace('<bpmn:sequenceFlow id="i3" sourceRef="amend" targetRef="end"/>',
                                 '<bpmn:sequenceFlow id="i3" sourceRef="amend" targetRef="tell_changed"/>'
                                 '<bpmn:serviceTask id="tell_changed" name="Tell everyone told of it the change" '
                                 'camunda:type="external" camunda:topic="notify_circulation"><bpmn:incoming>i3'
                                 '</bpmn:incoming><bpmn:outgoing>i8</bpmn:outgoing></bpmn:serviceTask>'
                                 '<bpmn:sequenceFlow id="i8" sourceRef="tell_changed" targetRef="end"/>')
                        .replace("<bpmn:incoming>i3</bpmn:incoming><bpmn:incoming>i4</bpmn:incoming>",
                                 "<bpmn:incoming>i8</bpmn:incoming><bpmn:incoming>i4</bpmn:incoming>")
                        .replace("<bpmn:flowNodeRef>withdraw</bpmn:flowNodeRef>",
                                 "<bpmn:flowNodeRef>tell_changed</bpmn:flowNodeRef><bpmn:flowNodeRef>withdraw</bpmn:flowNodeRef>"))

DECISION = {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only"}


def circulating_world(cli, monkeypatch, tmp_path, toml=TOML, assessment=CIRCULATING_ASSESSMENT):
    write_small_pack(tmp_path, toml=toml, assessment=assessment, incident=WITHDRAWING_INCIDENT)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    return PackWorld(cli, USERS)


def told(world, alert_id):
    return world.alert(alert_id, DPO)["circulation"]


def test_a_notify_beyond_the_default_audience_is_refused_without_a_justification_and_sent_with_one(
        cli, monkeypatch, tmp_path, smtp):
    world = circulating_world(cli, monkeypatch, tmp_path)
    alert_id = world.report("concern", now=T0, description=REASONS)
    task = world.open_task("mo", alert_id, T0)["task"]
    # the justification field is on the form, but the engine is what refuses: nothing of the step is saved
    error = world.refuse("mo", task, {**DECISION, "circulate_to": "out_of_hours"}, now=DECIDED)
    assert "error: circulation_justification: give a justification" in error
    assert "Out-of-hours service is beyond the people told of this marker by default " \
           "(North housing team and Repairs (North patch))" in error
    assert world.alert(alert_id, DPO)["status"] == "under_assessment" and told(world, alert_id) == []
    assert world.open_task("mo", alert_id, DECIDED)["task"] == task and smtp.messages == []
    # spaces alone are no justification either
    assert "circulation_justification" in world.refuse(
        "mo", task, {**DECISION, "circulate_to": "out_of_hours", "circulation_justification": "   "}, now=DECIDED)

    world.complete("mo", task, {**DECISION, "circulate_to": "out_of_hours",
                                "circulation_justification": "Out-of-hours repairs attend this address"}, now=DECIDED)
    listed = told(world, alert_id)
    assert [(r["recipient"], r["notice"], r["justification"]) for r in listed] == [
        ("housing_team", "told", None), ("repairs", "told", None),
        ("out_of_hours", "told", "Out-of-hours repairs attend this address")]
    assert all(r["step"] == "'Tell who must know' (tell)" and r["told_by"] == "mo" and r["sent_at"] for r in listed)
    assert sorted(m["to"][0] for m in smtp.messages) == ["north-housing@small.example", "ooh@small.example",
                                                         "repairs-north@small.example"]
    for message in smtp.messages:  # the instruction to staff, never the reasons
        assert "Visit in pairs" in message["body"] and "How to contact them: Letters only" in message["body"]
        assert "Next review by 3 March 2027" in message["body"] and "hammer" not in message["body"]
        assert message["body"].replace("\r\n", "\n") == next(r["wording"] for r in listed if r["email"] == message["to"][0])
    event = world.events(alert_id, DPO, "marker_circulated")[0]["detail"]
    assert event["beyond_default_audience"] == ["out_of_hours"]
    # the default audience alone needs no justification
    other = world.report("concern", customer="C2", now=T0)
    world.complete("mo", world.open_task("mo", other, T0)["task"], DECISION, now=DECIDED)
    assert [r["recipient"] for r in told(world, other)] == ["housing_team", "repairs"]
    # the command line shows the list to those who need to know
    shown = cli("alerts", "show", alert_id, "--as", DPO)
    assert "Out-of-hours service told of the marker" in shown and "justified: Out-of-hours repairs attend" in shown


def test_a_withdrawn_marker_tells_everyone_told_of_it_and_the_subject_access_export_holds_the_list(
        cli, monkeypatch, tmp_path, smtp):
    world = circulating_world(cli, monkeypatch, tmp_path)
    alert_id = world.report("concern", now=T0, description=REASONS)
    world.complete("mo", world.open_task("mo", alert_id, T0)["task"],
                   {**DECISION, "circulate_to": "out_of_hours,managers",
                    "circulation_justification": "Out of hours the managers are on call"}, now=DECIDED)
    assert len(smtp.messages) == 4
    cli("report", "--as", "tess", "--customer", "C1", "--category", "concern", "--description",
        "It was his brother, not him", "--link-to", alert_id, now=LATER)
    world.complete("meg", world.open_task("meg", alert_id, LATER)["task"],
                   {"incident_outcome": "withdraw", "withdraw_reason": "Identity not established"}, now=LATER)
    withdrawals = smtp.messages[4:]
    assert sorted(m["to"][0] for m in withdrawals) == ["managers@small.example", "north-housing@small.example",
                                                       "ooh@small.example", "repairs-north@small.example"]
    for message in withdrawals:
        assert "withdrawn" in message["subject"] and "has been withdrawn" in message["body"]
        assert "sent you on 3 March 2026" in message["body"] and "do not act on it" in message["body"]
        assert "Identity not established" not in message["body"] and "brother" not in message["body"]
    listed = told(world, alert_id)
    assert [r["notice"] for r in listed] == ["told"] * 4 + ["withdrawn"] * 4
    assert {r["step"] for r in listed[4:]} == {"'Tell everyone told of it' (tell_withdrawn)"}
    assert world.alert(alert_id, DPO)["status"] == "removed"

    export = json.loads(cli("export", "subject-access", "C1", "--as", DPO))
    [record] = export["alerts"]
    assert [(r["recipient_name"], r["notice"]) for r in record["circulation"]] == [
        ("North housing team", "told"), ("Repairs (North patch)", "told"), ("Out-of-hours service", "told"),
        ("Manager", "told"), ("North housing team", "withdrawn"), ("Repairs (North patch)", "withdrawn"),
        ("Out-of-hours service", "withdrawn"), ("Manager", "withdrawn")]
    assert record["circulation"][2]["justification"] == "Out of hours the managers are on call"
    assert "Visit in pairs" in record["circulation"][0]["wording"]
    # the dossier and the subject access PDF print it too
    from tests.compliance.test_subject_access_and_dossier import pdf_text
    cli("export", "dossier", alert_id, "--as", DPO, "--output", str(tmp_path / "dossier.pdf"))
    dossier = " ".join(pdf_text((tmp_path / "dossier.pdf").read_bytes()).split())
    assert "Out-of-hours service: told of the marker" in dossier and "Out of hours the managers are on call" in dossier
    assert "North housing team: told it was withdrawn" in dossier
    cli("export", "subject-access", "C1", "--as", DPO, "--format", "pdf", "--output", str(tmp_path / "sar.pdf"))
    assert "Circulation" in pdf_text((tmp_path / "sar.pdf").read_bytes())


def test_the_task_page_refuses_an_extra_recipient_without_a_justification_beside_its_field(
        cli, monkeypatch, tmp_path, smtp, app):
    from tests.web.conftest import set_passwords
    world = circulating_world(cli, monkeypatch, tmp_path)
    set_passwords(["mo", DPO])
    alert_id = world.report("concern", now=T0, description=REASONS)
    task = world.open_task("mo", alert_id)["task"]
    mo = Browser(app, "mo")
    page = mo.get(f"/tasks/{task}").get_data(as_text=True)
    form = {**DECISION, "circulate_to": ["out_of_hours"], "csrf_token": csrf_token(page)}
    refused = mo.client.post(f"/tasks/{task}/complete", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    # beside the justification field, in the person's words
    assert re.search(r'<p class="error" id="circulation_justification-error">give a justification: '
                     r'Out-of-hours service is beyond the people told of this marker by default', html), html
    assert told(world, alert_id) == [] and smtp.messages == []
    form["circulation_justification"] = "Out-of-hours repairs attend this address"
    form["csrf_token"] = csrf_token(html)
    done = mo.client.post(f"/tasks/{task}/complete", data=form)
    assert done.status_code == 302, done.get_data(as_text=True)
    assert len(smtp.messages) == 3
    # the case page shows the list to those who need to know it
    case_page = Browser(app, DPO).get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Who was told of this marker" in case_page and "Out-of-hours repairs attend this address" in case_page
    assert "Out-of-hours service" in case_page


def test_bad_recipients_are_refused_naming_the_element_the_setting_and_the_recipient(cli, monkeypatch, tmp_path):
    # a diagram naming a recipient the pack does not have: pack check names the element and the recipient
    bad = CIRCULATING_ASSESSMENT.replace('value="housing_team,repairs"', 'value="housing_team,police"')
    write_small_pack(tmp_path, toml=TOML, assessment=bad, incident=WITHDRAWING_INCIDENT)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    error = cli.fails("pack", "check", str(tmp_path / "small" / "small_assessment.bpmn"))
    assert "small_assessment.bpmn: 'Tell who must know' (tell): notify names recipient 'police', which is not a " \
           "recipient of the pack (its recipients: housing_team, managers, out_of_hours, repairs)" in error
    # an option of the chooser that is no recipient
    bad = CIRCULATING_ASSESSMENT.replace('<camunda:value id="managers" name="Managers"/>',
                                         '<camunda:value id="press" name="The press"/>')
    (tmp_path / "small" / "small_assessment.bpmn").write_text(bad)
    assert "notify recipients_field 'circulate_to' offers 'press', which is not a recipient of the pack" in \
        cli.fails("pack", "check", str(tmp_path / "small" / "small_assessment.bpmn"))
    # a chooser with no justification field before it
    bad = CIRCULATING_ASSESSMENT.replace('<camunda:formField id="circulation_justification" '
                                         'label="Why they must know" type="string"/>', "")
    (tmp_path / "small" / "small_assessment.bpmn").write_text(bad)
    assert "no form field 'circulation_justification' comes before it" in \
        cli.fails("pack", "check", str(tmp_path / "small" / "small_assessment.bpmn"))
    # pack.toml: a default audience naming no recipient, an address that is none, a role the pack lacks
    for n, (old, new, message) in enumerate((
            ('default_audience = ["housing_team", "repairs"]', 'default_audience = ["housing_team", "police"]',
             "[circulation] default_audience names 'police', which is not a recipient of the pack"),
            ('email = "ooh@small.example"', 'email = "out of hours"',
             "[recipients.out_of_hours] email must be the address its notices go to"),
            ('role = "manager"', 'role = "director"', "[recipients.managers] role names unknown role 'director'"),
            ('kind = "out_of_hours"', 'kind = "night shift"', "[recipients.out_of_hours] kind must be one of"))):
        folder = write_small_pack(tmp_path / str(n), toml=TOML.replace(old, new), assessment=CIRCULATING_ASSESSMENT)
        monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path / str(n)))
        assert message in cli.fails("pack", "check", str(folder / "small_assessment.bpmn")), message


def test_notices_the_smtp_server_did_not_take_at_the_step_go_with_the_next_background_round(
        cli, monkeypatch, tmp_path, smtp):
    world = circulating_world(cli, monkeypatch, tmp_path)
    alert_id = world.report("concern", now=T0)
    host = os.environ["ALERTFLOW_SMTP_HOST"]
    monkeypatch.delenv("ALERTFLOW_SMTP_HOST")  # no SMTP set when the step commits: the list holds them unsent
    world.complete("mo", world.open_task("mo", alert_id, T0)["task"], DECISION, now=DECIDED)
    assert [r["sent_at"] for r in told(world, alert_id)] == [None, None] and smtp.messages == []
    monkeypatch.setenv("ALERTFLOW_SMTP_HOST", host)
    done = json.loads(cli("serve", "--once").strip().replace("'", '"'))
    assert done["circulation_sent"] == 2
    assert sorted(m["to"][0] for m in smtp.messages) == ["north-housing@small.example", "repairs-north@small.example"]
    assert all(r["sent_at"] for r in told(world, alert_id))
    assert json.loads(cli("serve", "--once").strip().replace("'", '"'))["circulation_sent"] == 0  # never twice


def test_an_amended_marker_sends_its_new_instruction_to_everyone_told_of_it(cli, monkeypatch, tmp_path, smtp):
    world = circulating_world(cli, monkeypatch, tmp_path)
    alert_id = world.report("concern", now=T0)
    world.complete("mo", world.open_task("mo", alert_id, T0)["task"], DECISION, now=DECIDED)
    cli("report", "--as", "tess", "--customer", "C1", "--category", "concern", "--description",
        "Threatened a neighbour with a knife", "--link-to", alert_id, now=LATER)
    world.complete("meg", world.open_task("meg", alert_id, LATER)["task"],
                   {"incident_outcome": "amend", "marker_text": "Do not visit: phone first", "level": "L3"}, now=LATER)
    changed = smtp.messages[2:]
    assert sorted(m["to"][0] for m in changed) == ["north-housing@small.example", "repairs-north@small.example"]
    for message in changed:
        assert message["subject"].endswith("changed") and "Do not visit: phone first" in message["body"]
        assert "knife" not in message["body"]
    assert [r["notice"] for r in told(world, alert_id)] == ["told", "told", "amended", "amended"]

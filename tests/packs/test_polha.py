"""Port of Leith HA's difficult customer management end to end through the command line
(../shared/policies/port-of-leith-ha-difficult-customer-policy.txt)."""
from tests.packs.world import DPO

T0 = "2026-03-02T09:00"
ASSESSED = "2026-03-03T10:00"
DECIDED = "2026-03-04T10:00"
ASSESS = {"incident_summary": "Threatened to punch the receptionist", "incident_channel": "office",
          "serious_behaviour": "no", "part_of_pattern": "no", "adjustments_considered": "No disability known",
          "breach_of_tenancy": "Not yet: a first incident", "decision_reason": "Threat of violence"}
RESTRICT = {"restrict": "yes", "control_measures": "written_only,appointment_only",
            "marker_text": "Risk alert: written contact only; office by appointment",
            "service_route": "Letters to the housing officer, answered within 5 days",
            "adjustments_made": "Large print letters", "decision_reason": "Threat of violence against staff"}


def assess(polha, alert_id, values, now=ASSESSED):
    task = polha.open_task("mandy", alert_id, now)
    assert task["role"] == "manager"
    polha.complete("mandy", task["task"], values, now=now)


def decide(polha, alert_id, values, now=DECIDED):
    task = polha.open_task("oscar", alert_id, now)
    polha.complete("oscar", task["task"], values, now=now)
    return polha.alert(alert_id, DPO)


def restricted(polha, customer="C1"):
    alert_id = polha.report("serious", customer=customer, now=T0)
    assess(polha, alert_id, {**ASSESS, "police_reference": "PS-1"})
    return alert_id, decide(polha, alert_id, RESTRICT)


def test_threat_of_violence_reported_to_police_contact_restricted_risk_alert_told_in_writing(polha, cli):
    alert_id = polha.report("serious", now=T0)
    task = polha.open_task("mandy", alert_id, T0)
    assert "police_reference" in polha.refuse("mandy", task["task"], ASSESS)  # §4.2.4: reported to the police
    assert "adjustments_considered" in polha.refuse("mandy", task["task"], {**ASSESS, "adjustments_considered": "",
                                                                            "police_reference": "PS-1"})
    assess(polha, alert_id, {**ASSESS, "police_reference": "PS-1"})

    # §3.1, §4.2.4: the operational manager decides; contact must be restricted
    task = polha.open_task("oscar", alert_id, DECIDED)
    assert "is for the Operational Manager role" in polha.refuse("mandy", task["task"], RESTRICT)
    assert "control_measures" in polha.refuse("oscar", task["task"], {**RESTRICT, "restrict": "no",
                                                                      "control_measures": ""})
    assert "service_route" in polha.refuse("oscar", task["task"], {**RESTRICT, "service_route": ""})  # never cut off
    third_party = {**RESTRICT, "control_measures": "third_party"}
    error = polha.refuse("oscar", task["task"], third_party)
    assert "mandate" in error and "third_party_name" in error  # §4.2.5: a signed mandate
    assert "not one of" in polha.refuse("oscar", task["task"], {**third_party, "mandate": "verbal",
                                                                "third_party_name": "Ms Advocate"})
    polha.complete("oscar", task["task"], {**RESTRICT, "control_measures": "written_only,third_party",
                                           "third_party_name": "Ms Advocate (CAB)", "mandate": "signed"}, now=DECIDED)
    alert = polha.alert(alert_id, DPO)
    assert alert["status"] == "active" and alert["decided_by"] == "oscar"
    assert alert["control_measures"] == ["Written communication only",
                                         "Contact only through a named third party or advocate (signed mandate)"]
    assert "MARKER: Risk alert: written contact only" in cli("check", "John Smith", "--as", "sam")
    assert alert["assessments"][0]["content"]["police_reference"] == "PS-1"
    assert alert["assessments"][1]["content"]["mandate"] == "signed"
    letter = alert["letters"][0]
    assert letter["template"] == "restriction_decision"  # told in writing by the manager
    for words in ("Written communication only", "Large print letters",
                  "Letters to the housing officer, answered within 5 days", "4 March 2027"):
        assert words in letter["body"]
    # as sent: how to appeal (the pack's [letterhead] appeal_how) and the deciding manager's signature
    sent = cli("letter", "show", letter["id"], "--as", DPO)
    for words in ("How to appeal", "complaints procedure", "Scottish Public Services Ombudsman",
                  "Oscar\nOperational Manager, Port of Leith Housing Association"):
        assert words in sent, words

    # §4.2.5: reviewed by the OMT manager every year
    assert polha.fire_timers("2027-03-04T09:59") == 0
    assert polha.fire_timers("2027-03-04T10:01") == 1
    assert not polha.tasks_for("oscar", alert_id, "2027-03-04T10:01")
    review = polha.open_task("tom", alert_id, "2027-03-04T10:01")
    polha.complete("tom", review["task"], {"behaviour_since": "Polite letters only", "adjustments_reviewed": "Still needed",
                                           "review_outcome": "change", "review_reason": "Behaviour improved",
                                           "control_measures": "appointment_only", "inform_customer": "yes",
                                           "service_route": "Appointments at the office",
                                           "marker_text": "Office by appointment only"}, now="2027-03-05T10:00")
    alert = polha.alert(alert_id, DPO)
    assert alert["control_measures"] == ["Office visits by appointment only"] and alert["review_count"] == 1
    assert alert["next_review_at"].startswith("2028-03-04T10:00")  # a year from the due date, not the late day
    assert "Office visits by appointment only" in alert["letters"][-1]["body"]


def test_manager_may_send_a_warning_letter_first(polha, cli):
    alert_id = polha.report("aggressive", customer="C2", now=T0)
    task = polha.open_task("mandy", alert_id, T0)
    assert "response" in polha.refuse("mandy", task["task"], ASSESS)
    assess(polha, alert_id, {**ASSESS, "response": "warning"})
    alert = polha.alert(alert_id, DPO)
    assert alert["status"] == "not_placed" and [lt["template"] for lt in alert["letters"]] == ["warning_letter"]
    assert "may restrict how you can contact us" in alert["letters"][0]["body"]
    assert not polha.tasks_for("oscar", alert_id, ASSESSED)


def test_abusive_correspondence_is_always_answered_and_pattern_and_breach_of_tenancy_are_considered(polha, cli):
    """§4.2.2: the manager weighs whether it is part of a pattern and considers breach of tenancy action
    (§4.1.3); §4.2.3: abusive correspondence is answered, the customer told their language is unacceptable."""
    alert_id = polha.report("aggressive", customer="C2", now=T0, description="Abusive emails to the office")
    task = polha.open_task("mandy", alert_id, T0)
    letters = {**ASSESS, "incident_summary": "Three abusive emails to the housing officer",
               "incident_channel": "correspondence", "response": "none"}
    for field in ("incident_channel", "part_of_pattern", "breach_of_tenancy"):
        assert field in polha.refuse("mandy", task["task"], {k: v for k, v in letters.items() if k != field})
    error = polha.refuse("mandy", task["task"], letters)
    assert "abusive correspondence is always answered" in error and "§4.2.3" in error
    assert polha.alert(alert_id, DPO)["assessments"] == []  # nothing half-saved
    assess(polha, alert_id, {**letters, "response": "warning"})
    alert = polha.alert(alert_id, DPO)
    assert [lt["template"] for lt in alert["letters"]] == ["warning_letter"]
    assert "This behaviour is unacceptable" in alert["letters"][0]["body"]
    content = alert["assessments"][0]["content"]
    assert content["breach_of_tenancy"] == "Not yet: a first incident" and content["part_of_pattern"] in (False, "no")

    # a telephone call may still be closed with no further action
    other = polha.report("aggressive", customer="C3", now=T0, description="Swore once on the phone")
    assess(polha, other, {**ASSESS, "incident_channel": "telephone", "response": "none"})
    assert polha.alert(other, DPO)["status"] == "not_placed"


def test_persistent_correspondent_designated_after_discussion_with_the_operational_manager(polha, cli):
    alert_id = polha.report("unreasonable_persistence", customer="C3", now=T0)
    assess(polha, alert_id, {**ASSESS, "incident_summary": "Daily emails about one closed complaint",
                             "response": "refer"})
    task = polha.open_task("oscar", alert_id, DECIDED)
    values = {"restrict": "no", "risk_alert": "no", "designate_persistent": "yes",
              "marker_text": "Persistent correspondent: window repair complaint",
              "adjustments_made": "One named contact offered", "decision_reason": "No new information in 40 emails"}
    assert "designated_subjects" in polha.refuse("oscar", task["task"], values)
    alert = decide(polha, alert_id, {**values, "designated_subjects": "The 2025 window repair complaint"})
    assert alert["status"] == "active"
    letter = alert["letters"][0]
    assert letter["template"] == "persistent_correspondent"
    assert "The 2025 window repair complaint" in letter["body"] and "new information" in letter["body"]


def test_risk_alert_without_restriction_not_told_with_reason(polha, cli):
    alert_id = polha.report("aggressive", customer="C2", now=T0)
    assess(polha, alert_id, {**ASSESS, "response": "refer"})
    task = polha.open_task("oscar", alert_id, DECIDED)
    values = {"restrict": "no", "risk_alert": "yes", "marker_text": "Risk alert: do not visit alone",
              "adjustments_made": "None needed", "decision_reason": "Threats on the phone", "inform_customer": "no"}
    assert "non_disclosure_reason" in polha.refuse("oscar", task["task"], values)
    alert = decide(polha, alert_id, {**values, "non_disclosure_reason": "Police ask us not to alert him"})
    assert alert["status"] == "active" and alert["letters"] == []
    assert alert["non_disclosures"][0]["reason"] == "Police ask us not to alert him"
    assert alert["assessments"][0]["content"]["adjustments_considered"] == "No disability known"  # §4.2.8


def test_risk_alert_without_restriction_told_in_its_own_letter(polha, cli):
    alert_id = polha.report("aggressive", customer="C2", now=T0)
    assess(polha, alert_id, {**ASSESS, "response": "refer"})
    alert = decide(polha, alert_id, {"restrict": "no", "risk_alert": "yes", "marker_text": "Do not visit alone",
                                     "adjustments_made": "None needed", "decision_reason": "Threats on the phone",
                                     "inform_customer": "yes"})
    [letter] = alert["letters"]
    assert letter["template"] == "risk_alert" and letter["title"] == "A risk alert on your record"
    assert "Do not visit alone" in letter["body"] and "Threats on the phone" in letter["body"]
    assert "$" not in letter["body"]


def test_complaint_stage_one_then_stage_two_then_the_ombudsman(polha, cli):
    alert_id, _ = restricted(polha)
    cli("appeal", alert_id, "--as", "sam", "--grounds", "I cannot write letters easily", now="2026-03-10T10:00")
    stage1 = polha.open_task("tom", alert_id, "2026-03-10T10:00")
    assert stage1["due"] == "2026-03-15"
    outcome = {"complaint_response": "The restriction is proportionate", "appeal_outcome": "not_upheld",
               "appeal_reasons": "Threats were serious"}
    assert "oscar made it" in polha.refuse("oscar", stage1["task"], outcome)
    assert "more senior" in polha.refuse("olga", stage1["task"], outcome)
    polha.complete("tom", stage1["task"], outcome, now="2026-03-12T10:00")
    alert = polha.alert(alert_id, DPO)
    assert alert["letters"][-1]["template"] == "complaint_stage1" and "stage 2" in alert["letters"][-1]["body"]

    escalation = polha.open_task("sam", alert_id, "2026-03-20T10:00")
    polha.complete("sam", escalation["task"], {"escalate": "yes", "escalation_grounds": "Needs phone contact"},
                   now="2026-03-20T10:00")
    stage2 = polha.open_task("dora", alert_id, "2026-03-20T10:00")
    assert stage2["due"] == "2026-04-09"
    upheld = {"complaint_response": "Dyslexia not considered", "appeal_outcome": "upheld",
              "appeal_reasons": "A reasonable adjustment was missed (Equality Act 2010)"}
    assert "cannot be done by tom" in polha.refuse("tom", stage2["task"], upheld)  # tom heard stage 1 (§4.2.9)
    cli("users", "add", "tess", "--name", "Tess", "--role", "omt_manager")
    assert "Director role or someone more senior" in polha.refuse("tess", stage2["task"], upheld)
    polha.complete("dora", stage2["task"], upheld, now="2026-04-01T10:00")
    alert = polha.alert(alert_id, DPO)
    assert alert["status"] == "removed"
    final = alert["letters"][-1]
    assert final["template"] == "complaint_final" and "Scottish Public Services Ombudsman" in final["body"]
    assert "internal complaints procedure is now complete" in final["body"]
    assert "no marker" in cli("check", "John Smith", "--as", "sam")
    assert polha.fire_timers("2027-06-01T00:00") == 0


def test_customer_content_after_stage_one_closes_the_complaint(polha, cli):
    alert_id, _ = restricted(polha, customer="C2")
    cli("appeal", alert_id, "--as", "sam", "--grounds", "Too strict", now="2026-03-10T10:00")
    stage1 = polha.open_task("tom", alert_id, "2026-03-10T10:00")
    polha.complete("tom", stage1["task"], {"complaint_response": "Changed", "appeal_outcome": "changed",
                                           "appeal_reasons": "Phone calls to one officer allowed",
                                           "control_measures": "named_staff",
                                           "marker_text": "Contact Ms Reid only", "named_staff": "Ms Reid",
                                           "service_route": "Ms Reid by phone"}, now="2026-03-11T10:00")
    escalation = polha.open_task("sam", alert_id, "2026-03-20T10:00")
    polha.complete("sam", escalation["task"], {"escalate": "no"}, now="2026-03-20T10:00")
    alert = polha.alert(alert_id, DPO)
    assert alert["status"] == "active" and alert["marker_text"] == "Contact Ms Reid only"
    assert [c["status"] for c in alert["cases"]][-1] == "completed"
    assert any(e["action"] == "appeal_decided" for e in alert["events"])


def test_a_letter_needing_a_field_the_case_lacks_stops_the_step_and_saves_nothing(tmp_path, monkeypatch, cli):
    """A template edited after its diagrams were deployed to say $something the decision never records:
    the check refuses it (name_checks), and a step reaching it anyway is refused, naming the template
    and the field, rather than sent to the customer with "$something" in it."""
    from tests.packs.conftest import POLHA_USERS
    from tests.packs.world import world_on_copy
    from tests.helpers import settings_edited_by_hand

    polha = world_on_copy(cli, monkeypatch, tmp_path, "polha", POLHA_USERS, lambda toml: None)
    letter = tmp_path / "polha" / "letters" / "risk_alert.txt"
    letter.write_text(letter.read_text().replace("Why\n", "Why (see $incident_number)\n"))
    settings_edited_by_hand()  # the check would refuse it (below): put in the database by hand
    assert "template 'risk_alert' (A risk alert on your record) reads $incident_number, which no step of this " \
           "process sets" in cli.fails("pack", "check")
    alert_id = polha.report("aggressive", customer="C2", now=T0)
    assess(polha, alert_id, {**ASSESS, "response": "refer"})
    task = polha.open_task("oscar", alert_id, DECIDED)
    values = {"restrict": "no", "risk_alert": "yes", "marker_text": "Do not visit alone",
              "adjustments_made": "None needed", "decision_reason": "Threats", "inform_customer": "yes"}
    error = polha.refuse("oscar", task["task"], values, now=DECIDED)
    assert "template 'risk_alert' needs $incident_number, which this case does not have" in error
    assert polha.open_task("oscar", alert_id, DECIDED)["task"] == task["task"]  # nothing half-saved
    alert = polha.alert(alert_id, DPO)
    assert alert["status"] == "under_assessment" and alert["letters"] == []


def test_a_threat_of_violence_reported_as_aggressive_takes_the_police_restriction_and_risk_alert_path(polha, cli):
    """§4.2.4: what the assessment records decides the path, not the category the reporter picked:
    the Manager cannot close a threat to stab an officer with no police report and no alert."""
    alert_id = polha.report("aggressive", customer="C2", now=T0, description="Said he would stab the housing officer")
    task = polha.open_task("mandy", alert_id, T0)
    threat = {**ASSESS, "incident_summary": "Said he would stab the housing officer", "response": "none",
              "decision_reason": "Threat to stab an officer"}
    assert "serious_behaviour" in polha.refuse("mandy", task["task"],
                                               {k: v for k, v in threat.items() if k != "serious_behaviour"})
    error = polha.refuse("mandy", task["task"], {**threat, "serious_behaviour": "yes"})
    assert "police_reference" in error  # reported to the police, whatever the response picked
    polha.complete("mandy", task["task"], {**threat, "serious_behaviour": "yes", "police_reference": "PS-77"},
                   now=ASSESSED)
    alert = polha.alert(alert_id, DPO)
    assert alert["status"] == "under_assessment" and alert["assessments"][0]["content"]["police_reference"] == "PS-77"

    # the restriction is the Operational Manager's to decide, and contact must be restricted
    task = polha.open_task("oscar", alert_id, DECIDED)
    assert "is for the Operational Manager role" in polha.refuse("mandy", task["task"], RESTRICT)
    error = polha.refuse("oscar", task["task"], {**RESTRICT, "restrict": "no", "control_measures": "",
                                                 "service_route": "", "risk_alert": "no"})
    assert "control_measures" in error and "service_route" in error
    alert = decide(polha, alert_id, {**RESTRICT, "risk_alert": "no"})
    assert alert["status"] == "active" and alert["decided_by"] == "oscar"  # the risk alert goes on regardless
    assert "MARKER: Risk alert: written contact only" in cli("check", "Mary Jones", "--as", "sam")
    assert [lt["template"] for lt in alert["letters"]] == ["restriction_decision", "risk_alert"]


def test_the_annual_review_asks_again_whether_to_tell_and_writes_to_no_customer_deliberately_not_told(polha, cli):
    alert_id = polha.report("aggressive", customer="C2", now=T0)
    assess(polha, alert_id, {**ASSESS, "response": "refer"})
    alert = decide(polha, alert_id, {"restrict": "no", "risk_alert": "yes", "marker_text": "Do not visit alone",
                                     "adjustments_made": "None needed", "decision_reason": "Threats on the phone",
                                     "inform_customer": "no", "non_disclosure_reason": "Police ask us not to"})
    assert alert["letters"] == []
    assert polha.fire_timers("2027-03-04T10:01") == 1
    review = polha.open_task("tom", alert_id, "2027-03-04T10:01")
    keep = {"behaviour_since": "No contact", "adjustments_reviewed": "None needed", "review_outcome": "keep",
            "review_reason": "The police investigation continues", "service_route": "Letters to the office"}
    assert "inform_customer" in polha.refuse("tom", review["task"], keep)
    assert "non_disclosure_reason" in polha.refuse("tom", review["task"], {**keep, "inform_customer": "no"})
    polha.complete("tom", review["task"], {**keep, "inform_customer": "no",
                                           "non_disclosure_reason": "The police still ask us not to"},
                   now="2027-03-05T10:00")
    alert = polha.alert(alert_id, DPO)
    assert alert["status"] == "active" and alert["review_count"] == 1 and alert["letters"] == []
    assert [nd["reason"] for nd in alert["non_disclosures"]] == ["Police ask us not to", "The police still ask us not to"]

    # told at the next review: the letter says what staff do and how to reach us, never "as follows: ."
    assert polha.fire_timers("2028-03-04T10:01") == 1
    review = polha.open_task("tom", alert_id, "2028-03-04T10:01")
    polha.complete("tom", review["task"], {**keep, "inform_customer": "yes", "review_reason": "Investigation over"},
                   now="2028-03-05T10:00")
    [letter] = polha.alert(alert_id, DPO)["letters"]
    assert letter["template"] == "review_outcome" and "Do not visit alone" in letter["body"]
    assert "Letters to the office" in letter["body"] and ": ." not in letter["body"] and "$" not in letter["body"]


def test_a_persistent_correspondent_also_restricted_with_a_risk_alert_is_told_each_in_writing(polha, cli):
    """§4.2.4, §4.2.7: each measure in its own letter; §4.2.5: a change at review or complaint
    keeps the safeguards (named staff, a signed mandate, how the service can still be reached)."""
    alert_id = polha.report("unreasonable_persistence", customer="C3", now=T0)
    assess(polha, alert_id, {**ASSESS, "incident_summary": "Daily abusive emails about one complaint",
                             "response": "refer"})
    alert = decide(polha, alert_id, {**RESTRICT, "risk_alert": "yes", "designate_persistent": "yes",
                                     "designated_subjects": "The 2025 window repair complaint"})
    assert [lt["template"] for lt in alert["letters"]] == ["persistent_correspondent", "restriction_decision",
                                                           "risk_alert"]
    bodies = {lt["template"]: lt["body"] for lt in alert["letters"]}
    assert "The 2025 window repair complaint" in bodies["persistent_correspondent"]
    assert "Written communication only" in bodies["restriction_decision"]
    assert "placed a risk alert on your record" in bodies["risk_alert"]

    assert polha.fire_timers("2027-03-04T10:01") == 1
    review = polha.open_task("tom", alert_id, "2027-03-04T10:01")
    change = {"behaviour_since": "Fewer emails", "adjustments_reviewed": "Still needed", "review_outcome": "change",
              "review_reason": "Phone contact with one officer", "control_measures": "named_staff",
              "marker_text": "Contact Ms Reid only", "inform_customer": "yes"}
    error = polha.refuse("tom", review["task"], change)
    assert "named_staff" in error and "service_route" in error
    polha.complete("tom", review["task"], {**change, "named_staff": "Ms Reid, housing officer",
                                           "service_route": "Ms Reid by phone, weekdays"}, now="2027-03-05T10:00")
    letter = polha.alert(alert_id, DPO)["letters"][-1]
    assert letter["template"] == "review_changed" and "Ms Reid by phone, weekdays" in letter["body"]
    assert "Contact with nominated member(s) of staff only" in letter["body"]

    cli("appeal", alert_id, "--as", "sam", "--grounds", "I want an advocate to speak for me", now="2027-03-10T10:00")
    stage1 = polha.open_task("dora", alert_id, "2027-03-10T10:00")  # tom decided the review
    changed = {"complaint_response": "Advocate agreed", "appeal_outcome": "changed", "appeal_reasons": "Reasonable",
               "control_measures": "third_party", "marker_text": "Contact through Ms Advocate (CAB) only"}
    error = polha.refuse("dora", stage1["task"], changed)
    assert "third_party_name" in error and "mandate" in error and "service_route" in error
    polha.complete("dora", stage1["task"], {**changed, "third_party_name": "Ms Advocate (CAB)", "mandate": "signed",
                                            "service_route": "Through Ms Advocate"}, now="2027-03-11T10:00")
    alert = polha.alert(alert_id, DPO)
    assert alert["marker_text"] == "Contact through Ms Advocate (CAB) only"
    letter = alert["letters"][-1]
    assert letter["template"] == "complaint_stage1_changed" and "Through Ms Advocate" in letter["body"]
    assert "Contact only through a named third party or advocate (signed mandate)" in letter["body"]
    decided = [e for e in alert["events"] if e["action"] == "task_completed" and e["detail"]["values"].get("mandate")]
    assert decided[-1]["detail"]["values"]["mandate"] == "signed"


def test_complaint_stage_two_is_never_heard_by_whoever_decided_stage_one(polha, cli):
    """§4.2.9: two stages, two people. The Director may hear stage 1 (more senior than the decider),
    but then stage 2 goes to someone else."""
    alert_id, _ = restricted(polha)
    cli("appeal", alert_id, "--as", "sam", "--grounds", "Too strict", now="2026-03-10T10:00")
    stage1 = polha.open_task("tom", alert_id, "2026-03-10T10:00")
    polha.complete("dora", stage1["task"], {"complaint_response": "Proportionate", "appeal_outcome": "not_upheld",
                                            "appeal_reasons": "Threats were serious"}, now="2026-03-12T10:00")
    escalation = polha.open_task("sam", alert_id, "2026-03-20T10:00")
    polha.complete("sam", escalation["task"], {"escalate": "yes", "escalation_grounds": "Still too strict"},
                   now="2026-03-20T10:00")
    cli("users", "add", "dan", "--name", "Dan", "--role", "director")
    stage2 = polha.open_task("dan", alert_id, "2026-03-20T10:00")
    assert not polha.tasks_for("dora", alert_id, "2026-03-20T10:00")
    outcome = {"complaint_response": "Reviewed afresh", "appeal_outcome": "not_upheld", "appeal_reasons": "Still needed"}
    error = polha.refuse("dora", stage2["task"], outcome)
    assert "cannot be done by dora" in error and "another Director must take it" in error
    polha.complete("dan", stage2["task"], outcome, now="2026-04-01T10:00")
    heard = [e for e in polha.alert(alert_id, DPO)["events"] if e["action"] == "appeal_decided"]
    assert heard[-1]["detail"]["heard_by"] == "dan"

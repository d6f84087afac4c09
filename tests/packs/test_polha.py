"""Port of Leith HA's difficult customer management end to end through the command line
(../shared/policies/port-of-leith-ha-difficult-customer-policy.txt)."""
from tests.packs.world import DPO

T0 = "2026-03-02T09:00"
ASSESSED = "2026-03-03T10:00"
DECIDED = "2026-03-04T10:00"
ASSESS = {"incident_summary": "Threatened to punch the receptionist", "part_of_pattern": "no",
          "adjustments_considered": "No disability known", "decision_reason": "Threat of violence"}
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
    for words in ("Written communication only", "Large print letters", "complaints procedure",
                  "Letters to the housing officer, answered within 5 days",
                  "Scottish Public Services Ombudsman", "2027-03-04", "Operational Manager"):
        assert words in letter["body"]

    # §4.2.5: reviewed by the OMT manager every year
    assert polha.fire_timers("2027-03-04T09:59") == 0
    assert polha.fire_timers("2027-03-04T10:01") == 1
    assert not polha.tasks_for("oscar", alert_id, "2027-03-04T10:01")
    review = polha.open_task("tom", alert_id, "2027-03-04T10:01")
    polha.complete("tom", review["task"], {"behaviour_since": "Polite letters only", "adjustments_reviewed": "Still needed",
                                           "review_outcome": "change", "review_reason": "Behaviour improved",
                                           "control_measures": "appointment_only",
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
    assert "Director role or someone more senior" in polha.refuse("tom", stage2["task"], upheld)
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
                                           "marker_text": "Contact Ms Reid only"}, now="2026-03-11T10:00")
    escalation = polha.open_task("sam", alert_id, "2026-03-20T10:00")
    polha.complete("sam", escalation["task"], {"escalate": "no"}, now="2026-03-20T10:00")
    alert = polha.alert(alert_id, DPO)
    assert alert["status"] == "active" and alert["marker_text"] == "Contact Ms Reid only"
    assert [c["status"] for c in alert["cases"]][-1] == "completed"
    assert any(e["action"] == "appeal_decided" for e in alert["events"])


def test_a_letter_needing_a_field_the_case_lacks_stops_the_step_and_saves_nothing(tmp_path, monkeypatch, cli):
    """A template edited to say $something the decision never records is refused at the step,
    naming the template and the field, rather than sent to the customer with "$something" in it."""
    from tests.packs.conftest import POLHA_USERS
    from tests.packs.world import world_on_copy

    def letter_needing_a_number(toml):
        letter = toml.parent / "letters" / "risk_alert.txt"
        letter.write_text(letter.read_text().replace("Why\n", "Why (see $incident_number)\n"))
    polha = world_on_copy(cli, monkeypatch, tmp_path, "polha", POLHA_USERS, letter_needing_a_number)
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

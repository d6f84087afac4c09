"""Dover District Council's customer alerts end to end through the command line
(../shared/policies/dover-dc-customer-alerts-policy.txt)."""
from tests.packs.world import DPO

T0 = "2026-03-02T09:00"
RECORDED = "2026-03-02T09:30"
DECIDED = "2026-03-03T10:00"
INCIDENT = {"incident_channel": "face_to_face", "incident_record": "Meeting ended; he threatened to hit me",
            "line_manager": "lena", "credible_threat": "no"}
ASSESS = {"discussed_with_officer": "yes", "behaviour_contact": "spoken", "severity": "L2", "future_risk": "L2", "alert_needed": "yes",
          "decision_reason": "Threatened to hit an officer at a meeting", "level": "L2",
          "marker_text": "Level 2: visit in pairs", "control_measures": "visit_in_pairs",
          "contact_restrictions": "none", "threat_credible": "no", "police_referred": "no", "inform_customer": "yes"}
KEEP = {"new_information": "None received", "risk_reduced": "no", "measures_proportionate": "yes",
        "review_outcome": "keep", "review_reason": "Still a risk", "contact_restrictions": "none",
        "restrictions_reason": "None needed", "inform_customer": "yes"}


EXTERNAL = {"information_source": "Kent Police", "incident_record": "Known to the police for violence",
            "credible_threat": "no"}
EXTERNAL_ASSESS = {k: v for k, v in ASSESS.items() if k not in ("discussed_with_officer", "behaviour_contact")}


def record_external(dover, alert_id, values=EXTERNAL, who="mike", now=T0):
    """§8.2: the nominated manager records what was received and whether it shows a credible threat (§8.7)."""
    task = dover.open_task(who, alert_id, now)
    assert task["title"].startswith("Record the information received")
    dover.complete(who, task["task"], values, now=now)


def record_incident(dover, alert_id, values=INCIDENT, now=RECORDED):
    task = dover.open_task("sam", alert_id, now)
    assert task["assignee"] == "sam"  # the reporting officer keeps the file record
    dover.complete("sam", task["task"], values, now=now)


def assess(dover, alert_id, values, who="lena", now=DECIDED, change="place the marker"):
    task = dover.open_task(who, alert_id, now)
    dover.complete(who, task["task"], values, now=now)
    if values.get("alert_needed") == "yes":
        alert = dover.alert(alert_id, DPO, now=now)
        assert alert["status"] == "active" and alert["decision_no"] >= 1  # on the register at the decision
        on_system(dover, alert_id, now, change)
    return dover.alert(alert_id, DPO)


def on_system(dover, alert_id, now=DECIDED, change="place the marker"):
    """§6.5: the Customer Service team puts the change on the account; the register gave them the step."""
    task = dover.open_task("cara", alert_id, now)
    assert task["kind"] == "housing_system"
    assert task["title"] == f"Update the housing management system: {change}"
    assert "housing_system_reference" in dover.refuse("cara", task["task"], {"housing_system_ref": "CA-1"}, now=now)
    dover.complete("cara", task["task"], {"housing_system_reference": "CA-1"}, now=now)


def test_line_manager_risk_assessment_sets_level_letter_hand_delivered_and_appeal_within_14_days(dover, cli):
    alert_id = dover.report("incident", now=T0)
    task = dover.open_task("sam", alert_id, T0)
    assert not dover.tasks_for("olive", alert_id, T0)
    assert "does not hold the role 'manager'" in dover.refuse("sam", task["task"], {**INCIDENT, "line_manager": "olive"})
    record_incident(dover, alert_id)
    alert = dover.alert(alert_id, DPO)
    assert alert["status"] == "under_assessment" and alert["notes"][0]["notebook"] == "Incident records"

    # §8.1: the reporting officer's line manager completes the risk assessment
    task = dover.open_task("lena", alert_id, DECIDED)
    assert not dover.tasks_for("mike", alert_id, DECIDED)
    assert "assigned to lena" in dover.refuse("mike", task["task"], ASSESS)
    # §8.3: context may lower the level, with the reasons
    lowered = {**ASSESS, "severity": "L3", "level": "L1", "marker_text": "Level 1: visit in pairs",
               "contact_restrictions": "no_calls,appointment_only"}
    assert "context_reason" in dover.refuse("lena", task["task"], lowered, now=DECIDED)
    alert = assess(dover, alert_id, {**lowered, "context_reason": "Provoked by a bereavement; not likely again"})
    assert alert["status"] == "active" and alert["level"] == "L1" and alert["decided_by"] == "lena"
    assert alert["control_measures"] == ["Visit in pairs"]
    content = alert["assessments"][0]["content"]
    assert content["severity"] == "L3" and content["future_risk"] == "L2"
    assert content["contact_restrictions"] == ["no_calls", "appointment_only"]
    assert "MARKER [L1]: Level 1: visit in pairs" in cli("check", "John Smith", "--as", "sam")

    letter = alert["letters"][0]
    assert letter["template"] == "alert_notification" and letter["delivered_at"] is None
    for words in ("Threatened to hit an officer", "Visit in pairs",
                  "Restrictions on how you may contact us: No telephone calls: letter or email only; "
                  "Office access by appointment only.",
                  "within 14 days of receiving this letter", "2027-03-03"):
        assert words in letter["body"]

    # §9.1: hand delivered, the time and date noted
    delivery = dover.open_task("olive", alert_id, DECIDED)
    assert delivery["title"].startswith("Hand-deliver")
    assert "not a date and time" in dover.refuse("olive", delivery["task"], {"delivered_at": "soon", "delivered_to": "x"})
    dover.complete("olive", delivery["task"], {"delivered_at": "2026-03-05T11:30", "delivered_to": "The customer"},
                   now="2026-03-05T12:00")
    letter = dover.alert(alert_id, DPO)["letters"][0]
    assert letter["delivery_method"] == "hand delivered" and letter["delivered_at"].startswith("2026-03-05T11:30")

    # §9.2: appeal within 14 days of receipt
    assert "closed on 19 March 2026 at 11:30" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Late",
                                                      now="2026-03-19T11:31")
    cli("appeal", alert_id, "--as", "sam", "--grounds", "It was a one-off", now="2026-03-19T11:00")
    # §9.3: a more senior manager decides, within 14 days
    hearing = dover.open_task("sue", alert_id, "2026-03-19T11:00")
    assert hearing["due"] == "2026-04-02"
    appeal = {"evidence_reviewed": "Risk assessment and file record", "appeal_outcome": "refused",
              "appeal_reasons": "The level is already the lowest"}
    assert "lena made it" in dover.refuse("lena", hearing["task"], appeal)
    assert "more senior" in dover.refuse("mike", hearing["task"], appeal)
    dover.complete("sue", hearing["task"], appeal, now="2026-03-25T10:00")
    alert = dover.alert(alert_id, DPO)
    assert alert["status"] == "active" and alert["letters"][-1]["template"] == "appeal_outcome"
    assert "Refuse the appeal" in alert["letters"][-1]["body"]

    # §10.1: reviewed every year
    assert dover.fire_timers("2027-03-03T09:59") == 0
    assert dover.fire_timers("2027-03-03T10:01") == 1
    review = dover.open_task("mike", alert_id, "2027-03-03T10:01")
    dover.complete("mike", review["task"], KEEP, now="2027-03-04T10:00")
    alert = dover.alert(alert_id, DPO)
    # a day late, yet the next review is still a year after this one fell due
    assert alert["review_count"] == 1 and alert["next_review_at"].startswith("2028-03-03T10:00")
    assert alert["letters"][-1]["template"] == "review_outcome"
    assert "(alert level: L1)" in alert["letters"][-1]["body"]  # kept: the level the register holds


def test_credible_threat_puts_an_urgent_alert_on_at_once_pending_the_assessment(dover, cli):
    urgent = {**INCIDENT, "credible_threat": "yes", "marker_text": "URGENT: do not visit"}
    alert_id = dover.report("incident", customer="C1", now=T0)
    assert "marker_text" in dover.refuse("sam", dover.open_task("sam", alert_id, T0)["task"],
                                         {**INCIDENT, "credible_threat": "yes"})
    record_incident(dover, alert_id, urgent)
    alert = dover.alert(alert_id, DPO)
    assert alert["status"] == "active" and alert["decision_no"] == 0  # on at once, not yet a decision
    assert "MARKER: URGENT: do not visit" in cli("check", "John Smith", "--as", "sam")
    shown = cli("task", "show", dover.open_task("cara", alert_id, RECORDED)["task"], "--as", "cara")
    assert "Instruction to staff: URGENT: do not visit" in shown  # Customer Services are told of the urgent alert
    on_system(dover, alert_id, RECORDED, "place an interim marker")
    confirmed = {**ASSESS, "level": "L3", "severity": "L3", "future_risk": "L3", "behaviour_contact": "no_warning",
                 "marker_text": "Level 3: no home visits", "threat_credible": "yes", "police_referred": "yes"}
    task = dover.open_task("lena", alert_id, DECIDED)
    error = dover.refuse("lena", task["task"], confirmed, now=DECIDED)
    assert "no_warning_reason" in error and "staff_alerted" in error and "police_reference" in error  # §6.2-6.4
    alert = assess(dover, alert_id, {**confirmed, "no_warning_reason": "Threat to stab; police involved",
                                     "staff_alerted": "yes", "police_reference": "KP-77"},
                   change="confirm the interim marker as decided")
    assert alert["assessments"][0]["content"]["police_reference"] == "KP-77"
    assert alert["status"] == "active" and alert["level"] == "L3" and alert["decision_no"] == 1

    # the full assessment may find no alert is needed: the urgent one comes off
    other = dover.report("incident", customer="C2", now=T0)
    record_incident(dover, other, urgent)
    assert "URGENT" in cli("check", "Mary Jones", "--as", "sam")
    on_system(dover, other, RECORDED, "place an interim marker")
    alert = assess(dover, other, {"discussed_with_officer": "yes", "behaviour_contact": "letter", "staff_alerted": "yes",
                                  "severity": "L1", "future_risk": "L1",
                                  "alert_needed": "no", "decision_reason": "A misheard remark", "threat_credible": "no",
                                  "police_referred": "no"})
    assert alert["status"] == "removed" and alert["removed_reason"] == "A misheard remark"
    letter = alert["letters"][0]  # §6.1: the line manager asks them to modify their behaviour
    assert letter["template"] == "behaviour_concern"
    assert INCIDENT["incident_record"] in letter["body"]
    assert "no marker" in cli("check", "Mary Jones", "--as", "sam")
    on_system(dover, other, DECIDED, "remove the marker")  # and the housing system must lose it too


def test_customer_not_told_only_on_police_probation_or_court_order_with_reasons(dover, cli):
    alert_id = dover.report("external_information", customer="C3", now=T0)
    record_external(dover, alert_id)
    task = dover.open_task("mike", alert_id, T0)  # §8.2: the nominated manager
    values = {**EXTERNAL_ASSESS, "inform_customer": "no"}
    error = dover.refuse("mike", task["task"], values, now=DECIDED)
    assert "non_disclosure_basis" in error and "non_disclosure_reason" in error
    assert "not one of" in dover.refuse("mike", task["task"], {**values, "non_disclosure_basis": "manager_prefers",
                                                                "non_disclosure_reason": "x"}, now=DECIDED)
    alert = assess(dover, alert_id, {**values, "non_disclosure_basis": "probation",
                                     "non_disclosure_reason": "Probation ask that he is not told yet"}, who="mike")
    assert alert["status"] == "active" and alert["letters"] == []
    assert alert["non_disclosures"][0]["reason"] == "Probation ask that he is not told yet"
    assert alert["assessments"][0]["content"]["non_disclosure_basis"] == "probation"
    assert not dover.tasks_for("olive", alert_id, DECIDED)  # no letter to deliver

    # §8.6: the forms are available on request, but §9.4 may mean they are withheld
    cli("request", alert_id, "--as", "sam", "--kind", "assessment_copy", "--details", "Wants the forms",
        now="2026-04-01T10:00")
    task = dover.open_task("lena", alert_id, "2026-04-01T10:00")
    assert "non_disclosure_basis" in dover.refuse("lena", task["task"], {"release": "no", "copy_reason": "x"})
    dover.complete("lena", task["task"], {"release": "no", "non_disclosure_basis": "probation",
                                          "copy_reason": "Probation still ask he is not told"}, now="2026-04-02T10:00")
    alert = dover.alert(alert_id, DPO)
    assert alert["letters"] == [] and alert["non_disclosures"][-1]["reason"] == "Probation still ask he is not told"


def test_annual_review_lowers_the_level_and_the_alert_goes_when_the_tenancy_ends(dover, cli):
    alert_id = dover.report("incident", customer="C2", now=T0)
    record_incident(dover, alert_id)
    assess(dover, alert_id, {**ASSESS, "severity": "L3", "future_risk": "L3", "level": "L3",
                             "marker_text": "Level 3: visit in pairs"})
    assert dover.fire_timers("2027-03-03T10:01") == 1
    review = dover.open_task("lena", alert_id, "2027-03-03T10:01")
    assert "level" in dover.refuse("lena", review["task"], {**KEEP, "review_outcome": "lower"})
    dover.complete("lena", review["task"], {**KEEP, "review_outcome": "lower", "level": "L2",
                                            "marker_text": "Level 2: contact only in writing",
                                            "risk_reduced": "yes", "measures_proportionate": "no",
                                            "control_measures": "writing_only", "review_reason": "Calmer"},
                   now="2027-03-04T10:00")
    alert = dover.alert(alert_id, DPO)
    assert alert["level"] == "L2" and alert["control_measures"] == ["Contact only in writing"]
    shown = cli("task", "show", dover.open_task("cara", alert_id, "2027-03-04T10:00")["task"], "--as", "cara")
    assert "Level: L2" in shown and "Measures: Contact only in writing" in shown
    on_system(dover, alert_id, "2027-03-04T10:00", "change the marker")
    assert "alert level: L2" in alert["letters"][-1]["body"]
    cli("request", alert_id, "--as", "sam", "--kind", "assessment_copy", "--details", "Copy please",
        now="2027-03-10T10:00")  # §8.6: a customer who was told gets the forms without a decision
    assert dover.alert(alert_id, DPO)["letters"][-1]["template"] == "assessment_copy"

    # §10.3: removed when the customer no longer has a tenancy
    assert "1 marker(s) removed" in cli("tenancy", "end", "C2", "--as", "cara", now="2027-06-01T10:00")
    alert = dover.alert(alert_id, DPO)
    assert alert["status"] == "removed" and alert["next_review_at"] is None
    assert [c["status"] for c in alert["cases"] if c["kind"] == "review"][-1] == "cancelled"
    on_system(dover, alert_id, "2027-06-01T10:00", "remove the marker")  # the cancelled review's step stays
    assert dover.fire_timers("2028-06-01T00:00") == 0
    assert "already recorded as ended" in cli.fails("tenancy", "end", "C2", "--as", "cara")


def test_the_appeal_window_runs_from_the_delivery_of_the_letter_that_told_the_tenant(dover, cli):
    """§9.2: within 14 days of receipt of the notification letter: not of its issue, nor of a later letter."""
    waiting = dover.report("incident", customer="C1", now=T0)
    record_incident(dover, waiting)
    assess(dover, waiting, ASSESS)  # the notification letter is issued on 3 March, 10:00
    delivery = dover.open_task("olive", waiting, DECIDED)
    error = dover.refuse("olive", delivery["task"], {"delivered_at": "2026-03-02T09:00", "delivered_to": "x"},
                         now="2026-03-20T10:00")
    assert "'A customer alert has been placed on your account') was issued on 3 March 2026 at 10:00, " \
           "so it cannot have been delivered on 2 March 2026 at 09:00" in error
    error = dover.refuse("olive", delivery["task"], {"delivered_at": "2026-03-25T10:00", "delivered_to": "x"},
                         now="2026-03-20T10:00")
    assert "25 March 2026 at 10:00 is in the future" in error and "it is now 20 March 2026 at 10:00" in error
    alert = dover.alert(waiting, DPO)
    assert alert["letters"][0]["delivered_at"] is None  # nothing saved: the step is still open
    assert dover.open_task("olive", waiting, "2026-03-20T10:00")["task"] == delivery["task"]
    # 17 days after the letter was issued, but it has not been delivered: the window has not started
    cli("appeal", waiting, "--as", "sam", "--grounds", "Not yet received the letter", now="2026-03-20T10:00")

    told = dover.report("incident", customer="C2", now=T0)
    record_incident(dover, told)
    assess(dover, told, ASSESS)
    delivery = dover.open_task("olive", told, DECIDED)
    dover.complete("olive", delivery["task"], {"delivered_at": "2026-03-05T11:30", "delivered_to": "The customer"},
                   now="2026-03-05T12:00")
    # §8.6: a copy of the assessment is a later letter; it tells of no decision and reopens nothing
    cli("request", told, "--as", "sam", "--kind", "assessment_copy", "--details", "Copy please",
        now="2026-03-10T10:00")
    letters = dover.alert(told, DPO)["letters"]
    assert [(lt["template"], lt["decision_no"]) for lt in letters] == [("alert_notification", 1),
                                                                       ("assessment_copy", None)]
    error = cli.fails("appeal", told, "--as", "sam", "--grounds", "Late", now="2026-03-20T10:00")
    assert f"closed on 19 March 2026 at 11:30: an appeal must be lodged within 14 days of receiving the letter " \
           f"that told the tenant, and letter {letters[0]['id']} ('A customer alert has been placed on your account') " \
           f"was delivered on 5 March 2026 at 11:30" in error
    assert len(error.strip().splitlines()) == 1
    assert not [c for c in dover.alert(told, DPO)["cases"] if c["kind"] == "appeal"]

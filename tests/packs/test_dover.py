"""Dover District Council's customer alerts end to end through the command line
(../shared/policies/dover-dc-customer-alerts-policy.txt)."""
from tests.packs.world import DPO
from tests.packs.dover_story import (ASSESS, DECIDED, EXTERNAL_ASSESS, INCIDENT, KEEP, RECORDED, T0, assess, on_system, record_external, record_incident)

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
    assert "MARKER (Level 1: low risk): Level 1: visit in pairs" in cli("check", "John Smith", "--as", "sam")

    letter = alert["letters"][0]
    assert letter["template"] == "alert_notification" and letter["delivered_at"] is None
    for words in ("Threatened to hit an officer", "Visit in pairs",
                  "Restrictions on how you may contact us: No telephone calls: letter or email only and "
                  "Office access by appointment only.",
                  "3 March 2027"):
        assert words in letter["body"]
    # how and by when to appeal: the letter as sent says it, from [pack] appeal_within (the engine's window)
    sent = cli("letter", "show", letter["id"], "--as", DPO)
    assert "How to appeal\nYou may appeal within 14 days of receiving this letter: if it reaches you on " \
           "3 March 2026, by 17 March 2026." in sent
    assert "Lena" in sent.split("Yours sincerely,")[1]  # the named officer who decided signs it

    # §9.1: hand delivered, the time and date noted
    delivery = dover.open_task("olive", alert_id, DECIDED)
    assert delivery["title"].startswith("Hand-deliver")
    assert "not a date and time" in dover.refuse("olive", delivery["task"], {"delivered_at": "soon", "delivered_to": "x"})
    dover.complete("olive", delivery["task"], {"delivered_at": "2026-03-05T11:30", "delivered_to": "The customer"},
                   now="2026-03-05T12:00")
    letter = dover.alert(alert_id, DPO)["letters"][0]
    assert letter["delivery_method"] == "hand delivered" and letter["delivered_at"].startswith("2026-03-05T11:30")

    # §9.2: appeal within 14 days of receipt
    # (the last day, 19 March, is open all day)
    assert "closed on 19 March 2026:" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Late",
                                                   now="2026-03-20T00:01")
    cli("appeal", alert_id, "--as", "sam", "--grounds", "It was a one-off", now="2026-03-19T21:00")
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
    assert "(alert level: Level 1: low risk)" in alert["letters"][-1]["body"]  # kept: the level the register holds


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
    alert = assess(dover, other, {"discussed_with_officer": "yes", "vulnerability_support": "None known", "behaviour_contact": "letter", "staff_alerted": "yes",
                                  "severity": "L1", "future_risk": "L1",
                                  "alert_needed": "no", "decision_reason": "A misheard remark", "threat_credible": "no",
                                  "police_referred": "no"})
    assert alert["status"] == "removed" and alert["removed_reason"] == "A misheard remark"
    letter = alert["letters"][0]  # §6.1: the line manager asks them to modify their behaviour
    assert letter["template"] == "behaviour_concern"
    assert INCIDENT["incident_record"] in letter["body"]
    assert "we may place a customer alert on your account, restrict how you can contact us" in letter["body"]  # §6.1
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
    assert "Level: Level 2: medium risk (L2)" in shown and "Measures: Contact only in writing" in shown
    on_system(dover, alert_id, "2027-03-04T10:00", "change the marker")
    assert "alert level: Level 2: medium risk" in alert["letters"][-1]["body"]
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
    assert f"closed on 19 March 2026: an appeal must be lodged within 14 days of receiving the letter " \
           f"that told the tenant, and letter {letters[0]['id']} ('A customer alert has been placed on your account') " \
           f"was delivered on 5 March 2026;" in error
    assert len(error.strip().splitlines()) == 1
    assert not [c for c in dover.alert(told, DPO)["cases"] if c["kind"] == "appeal"]


def deliver(dover, alert_id, at, who="olive", now=None):
    """§9.1: hand delivered, the time and date noted."""
    task = dover.open_task(who, alert_id, now or at)
    assert task["title"].startswith("Hand-deliver")
    dover.complete(who, task["task"], {"delivered_at": at, "delivered_to": "The customer"}, now=now or at)


def test_information_from_the_police_can_put_the_urgent_alert_on_and_the_nominated_manager_asks_if_the_threat_is_credible(dover, cli):
    """§8.2, §8.7: information from an external source ("armed, threats to kill") puts an alert on at once,
    pending the nominated manager's full assessment, which asks whether the threat is credible (§6.3)."""
    alert_id = dover.report("external_information", customer="C1", now=T0)
    urgent = {"information_source": "Kent Police", "incident_record": "Armed; has made threats to kill staff",
              "credible_threat": "yes"}
    task = dover.open_task("mike", alert_id, T0)
    assert task["title"].startswith("Record the information received")
    assert "marker_text" in dover.refuse("mike", task["task"], urgent, now=T0)
    dover.complete("mike", task["task"], {**urgent, "marker_text": "URGENT: no visits, police advise armed"}, now=T0)
    alert = dover.alert(alert_id, DPO)
    assert alert["status"] == "active" and alert["decision_no"] == 0  # on at once, not yet a decision
    assert alert["notes"][0]["text"] == urgent["incident_record"]
    assert "MARKER: URGENT: no visits, police advise armed" in cli("check", "John Smith", "--as", "sam")
    on_system(dover, alert_id, T0, "place an interim marker")

    task = dover.open_task("mike", alert_id, DECIDED)
    confirmed = {**EXTERNAL_ASSESS, "severity": "L3", "future_risk": "L3", "level": "L3",
                 "marker_text": "Level 3: no home visits", "control_measures": "no_home_visits"}
    assert "threat_credible" in dover.refuse("mike", task["task"], {k: v for k, v in confirmed.items()
                                                                    if k != "threat_credible"}, now=DECIDED)
    error = dover.refuse("mike", task["task"], {**confirmed, "threat_credible": "yes"}, now=DECIDED)
    assert "police_reference" in error and "staff_alerted" in error
    assert "a credible threat to staff safety is reported to the police (§6.3)" in error  # police_referred=no
    alert = assess(dover, alert_id, {**confirmed, "threat_credible": "yes", "police_referred": "yes",
                                     "police_reference": "KP-2026-114", "staff_alerted": "yes"},
                   who="mike", change="confirm the interim marker as decided")
    assert alert["status"] == "active" and alert["level"] == "L3" and alert["decision_no"] == 1
    assert alert["assessments"][0]["content"]["police_reference"] == "KP-2026-114"
    assert "MARKER (Level 3: high risk): Level 3: no home visits" in cli("check", "John Smith", "--as", "sam")

    # the full assessment may find the information does not meet the criteria: the urgent alert comes off
    other = dover.report("external_information", customer="C2", now=T0)
    record_external(dover, other, {**urgent, "marker_text": "URGENT: do not visit"})
    on_system(dover, other, T0, "place an interim marker")
    alert = assess(dover, other, {"severity": "L1", "vulnerability_support": "None known", "future_risk": "L1", "alert_needed": "no", "threat_credible": "no",
                                  "decision_reason": "Police confirm it was another man", "police_referred": "no"},
                   who="mike")
    assert alert["status"] == "removed" and alert["removed_reason"] == "Police confirm it was another man"
    assert "no marker" in cli("check", "Mary Jones", "--as", "sam")


def test_a_credible_threat_in_the_managers_assessment_needs_the_police_reference_and_staff_alerted_whatever_the_officer_ticked(dover, cli):
    """§6.3-6.4: the line manager's own assessment asks whether there is a credible threat; if so it is reported
    to the police (the reference) and the member of staff alerted, though the officer ticked no urgent threat."""
    alert_id = dover.report("incident", customer="C1", now=T0)
    record_incident(dover, alert_id, {**INCIDENT, "incident_record": "He said he'd knife me"})  # credible_threat=no
    task = dover.open_task("lena", alert_id, DECIDED)
    knife = {**ASSESS, "severity": "L3", "future_risk": "L3", "level": "L3", "marker_text": "Level 3: no home visits",
             "control_measures": "no_home_visits", "decision_reason": "Threatened to knife an officer"}
    assert "threat_credible" in dover.refuse("lena", task["task"], {k: v for k, v in knife.items()
                                                                    if k != "threat_credible"}, now=DECIDED)
    error = dover.refuse("lena", task["task"], {**knife, "threat_credible": "yes"}, now=DECIDED)
    assert "police_reference" in error and "staff_alerted" in error
    assert "Reported to the police (§5, §6.3)?: a credible threat to staff safety is reported to the police (§6.3)" \
        in error  # accepted with police_referred=no before
    assert dover.alert(alert_id, DPO)["status"] == "under_assessment"  # nothing saved
    alert = assess(dover, alert_id, {**knife, "threat_credible": "yes", "police_referred": "yes",
                                     "police_reference": "KP-2026-200", "staff_alerted": "yes"})
    content = alert["assessments"][0]["content"]
    assert content["threat_credible"] is True and content["police_reference"] == "KP-2026-200"
    assert content["staff_alerted"] == "yes" and content["police_referred"] is True


def test_contact_restrictions_reach_check_the_visit_list_and_the_api_and_are_rechecked_at_every_review(dover, cli, monkeypatch):
    """§7: the restrictions on contact go beside the instruction wherever staff read it, and each annual review
    keeps, changes or lifts them, with the reason, told in writing."""
    from webapp import create_app

    alert_id = dover.report("incident", customer="C1", now=T0)
    record_incident(dover, alert_id)
    task = dover.open_task("lena", alert_id, DECIDED)
    assert "cannot be chosen with a restriction" in dover.refuse(
        "lena", task["task"], {**ASSESS, "contact_restrictions": "none,no_calls"}, now=DECIDED)
    assess(dover, alert_id, {**ASSESS, "contact_restrictions": "no_calls,appointment_only"})
    shown = "Contact restrictions: No telephone calls: letter or email only; Office access by appointment only"
    assert shown in cli("check", "John Smith", "--as", "sam")
    assert shown in cli("visit-list", "--as", "sam")
    assert [shown] == cli.json("visit-list", "--as", "sam", "--json")[0]["details"]
    cli("users", "add", "ada", "--name", "Ada", "--role", "admin")
    secret = cli("tokens", "create", "hms", "--scope", "markers:read", "--scope", "out_of_hours:read", "--as", "ada")
    secret = next(word for word in secret.split() if word.startswith("af_"))
    client = create_app({"TESTING": True}).test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    marker = client.get("/api/v1/markers?customer=C1", headers=headers).get_json()["customers"][0]["markers"][0]
    assert marker["instruction"] == "Level 2: visit in pairs" and marker["details"] == [shown]
    assert client.get("/api/v1/out-of-hours", headers=headers).get_json()["markers"][0]["details"] == [shown]
    from tests.helpers import Browser
    from tests.web.conftest import set_passwords
    set_passwords(["sam", "lena"])
    app = create_app({"TESTING": True})
    assert shown in Browser(app, "sam").get("/check?q=Smith").get_data(as_text=True)  # the web page, too
    assert shown in Browser(app, "lena").get(f"/alerts/{alert_id}").get_data(as_text=True)  # and the story
    deliver(dover, alert_id, "2026-03-05T11:30")

    # §7.1, §10.2: the review rechecks them; changed here, and the customer told why
    assert dover.fire_timers("2027-03-03T10:01") == 1
    review = dover.open_task("lena", alert_id, "2027-03-03T10:01")
    error = dover.refuse("lena", review["task"], {k: v for k, v in KEEP.items()
                                                   if k not in ("contact_restrictions", "restrictions_reason")})
    assert "contact_restrictions" in error and "restrictions_reason" in error
    dover.complete("lena", review["task"], {**KEEP, "contact_restrictions": "call_times",
                                            "restrictions_reason": "Calls have been civil; letters not needed"},
                   now="2027-03-04T10:00")
    changed = "Contact restrictions: Telephone calls on specified days, times and duration only"
    assert changed in cli("check", "John Smith", "--as", "sam") and "Office access" not in cli("check", "John Smith", "--as", "sam")
    shown = cli("task", "show", dover.open_task("cara", alert_id, "2027-03-04T10:00")["task"], "--as", "cara")
    assert changed in shown  # Customer Services enter the new restrictions on the housing system
    on_system(dover, alert_id, "2027-03-04T10:00", "change the marker")
    letter = dover.alert(alert_id, DPO)["letters"][-1]
    assert letter["template"] == "review_outcome"
    assert "Restrictions on how you may contact us: Telephone calls on specified days, times and duration only." \
        in letter["body"] and "Calls have been civil; letters not needed" in letter["body"]

    # lifted at the next review
    assert dover.fire_timers("2028-03-03T10:01") == 1
    review = dover.open_task("lena", alert_id, "2028-03-03T10:01")
    dover.complete("lena", review["task"], {**KEEP, "restrictions_reason": "No problems for two years"},
                   now="2028-03-03T11:00")
    assert "Contact restrictions: No restrictions on contact" in cli("check", "John Smith", "--as", "sam")
    assert "Restrictions on how you may contact us: No restrictions on contact." in \
        dover.alert(alert_id, DPO)["letters"][-1]["body"]


def test_a_review_keeps_level_and_wording_in_step_lower_cannot_raise_and_a_raised_level_is_told_with_the_right_of_appeal(dover, cli):
    alert_id = dover.report("incident", customer="C1", now=T0)
    record_incident(dover, alert_id)
    assess(dover, alert_id, ASSESS)  # Level 2: visit in pairs
    deliver(dover, alert_id, "2026-03-05T11:30")
    assert dover.fire_timers("2027-03-03T10:01") == 1
    review = dover.open_task("lena", alert_id, "2027-03-03T10:01")
    now = "2027-03-04T10:00"
    # a "lower" review cannot raise the level, nor keep it
    error = dover.refuse("lena", review["task"], {**KEEP, "review_outcome": "lower", "level": "L3",
                                                  "marker_text": "Level 3: no home visits"}, now=now)
    assert "a lowered level must be below the alert's level now" in error
    assert "below" in dover.refuse("lena", review["task"], {**KEEP, "review_outcome": "lower", "level": "L2",
                                                            "marker_text": "Level 2: visit in pairs"}, now=now)
    # a new level needs new wording, and the wording must name the level the alert has
    assert "marker_text" in dover.refuse("lena", review["task"], {**KEEP, "review_outcome": "raise", "level": "L3"}, now=now)
    error = dover.refuse("lena", review["task"], {**KEEP, "review_outcome": "raise", "level": "L3",
                                                  "marker_text": "Level 2: visit in pairs"}, now=now)
    assert "the wording names a different level from the alert's level" in error
    assert dover.alert(alert_id, DPO)["level"] == "L2"  # nothing saved
    raised = {**KEEP, "review_outcome": "raise", "level": "L3", "marker_text": "Level 3: no home visits",
              "measures_proportionate": "no", "control_measures": "no_home_visits",
              "review_reason": "Threatened a contractor in January"}
    dover.complete("lena", review["task"], raised, now=now)
    alert = dover.alert(alert_id, DPO)
    assert alert["level"] == "L3" and alert["decision_no"] == 2
    assert "MARKER (Level 3: high risk): Level 3: no home visits" in cli("check", "John Smith", "--as", "sam")
    on_system(dover, alert_id, now, "change the marker")
    letter = alert["letters"][-1]
    assert letter["template"] == "level_raised" and letter["decision_no"] == 2
    for words in ("raise its level to Level 3: high risk", "Threatened a contractor in January",
                  "No further home visits", "3 March 2028"):
        assert words in letter["body"]
    assert "within 14 days of receiving this letter" in cli("letter", "show", letter["id"], "--as", DPO)
    # §9.1-9.2: hand delivered, and the window to appeal the raised level runs from that delivery
    deliver(dover, alert_id, "2027-03-08T09:00", now="2027-03-08T09:30")
    assert "closed on 22 March 2027:" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Late",
                                                   now="2027-03-23T00:01")
    cli("appeal", alert_id, "--as", "sam", "--grounds", "I never threatened anyone", now="2027-03-21T10:00")
    assert dover.open_task("sue", alert_id, "2027-03-21T10:00")["title"] == "Decide the appeal"


def test_a_customer_first_told_at_a_review_gets_the_full_notification_by_hand_and_the_appeal_runs_from_its_delivery(dover, cli):
    """§9.1-9.2, §9.4: when the reason for not telling lapses at the review, the notification letter goes."""
    alert_id = dover.report("external_information", customer="C3", now=T0)
    record_external(dover, alert_id)
    assess(dover, alert_id, {**EXTERNAL_ASSESS, "inform_customer": "no", "non_disclosure_basis": "probation",
                             "non_disclosure_reason": "Probation ask that he is not told yet",
                             "contact_restrictions": "no_calls"}, who="mike")
    assert dover.alert(alert_id, DPO)["letters"] == []
    assert dover.fire_timers("2027-03-03T10:01") == 1
    review = dover.open_task("mike", alert_id, "2027-03-03T10:01")
    dover.complete("mike", review["task"], {**KEEP, "contact_restrictions": "no_calls",
                                            "restrictions_reason": "He phoned staff at home last year",
                                            "review_reason": "Still under probation monitoring for violence"},
                   now="2027-03-04T10:00")
    alert = dover.alert(alert_id, DPO)
    letter = alert["letters"][-1]
    assert letter["template"] == "review_notification" and letter["decision_no"] == alert["decision_no"]
    for words in ("presenting a potential risk to members of staff", "To be delivered by hand",
                  "Still under probation monitoring for violence",  # the reasons
                  "Staff will follow these arrangements for future contact with you: Visit in pairs.",
                  "Restrictions on how you may contact us: No telephone calls: letter or email only.",
                  "He phoned staff at home last year",
                  "The next review is due by 3 March 2028"):
        assert words in letter["body"], words
    assert "You may appeal within 14 days of receiving this letter" in cli("letter", "show", letter["id"], "--as", DPO)
    assert dover.fire_timers("2027-03-20T10:00") == 0
    # not yet delivered: the window has not started
    cli("request", alert_id, "--as", "sam", "--kind", "assessment_copy", "--details", "Copy", now="2027-03-05T10:00")
    deliver(dover, alert_id, "2027-03-10T16:00", now="2027-03-10T16:30")
    letter = next(lt for lt in dover.alert(alert_id, DPO)["letters"] if lt["template"] == "review_notification")
    assert letter["delivery_method"] == "hand delivered" and letter["delivered_at"].startswith("2027-03-10T16:00")
    assert "closed on 24 March 2027:" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Late",
                                                   now="2027-03-25T00:01")
    cli("appeal", alert_id, "--as", "sam", "--grounds", "It was years ago", now="2027-03-24T15:00")


def test_the_hand_delivery_of_a_level_3_no_home_visits_letter_never_goes_to_the_member_of_staff_it_happened_to(dover, cli):
    alert_id = dover.report("incident", customer="C1", now=T0)  # it happened to sam, who reported it
    record_incident(dover, alert_id)
    assess(dover, alert_id, {**ASSESS, "severity": "L3", "future_risk": "L3", "level": "L3",
                             "marker_text": "Level 3: no home visits", "control_measures": "no_home_visits"})
    assert not dover.tasks_for("sam", alert_id, DECIDED)  # not in their inbox
    delivery = dover.open_task("olive", alert_id, DECIDED)
    error = cli.fails("task", "claim", delivery["task"], "--as", "sam")
    assert "it must be done by someone other than sam, who reported this concern" in error
    error = dover.refuse("sam", delivery["task"], {"delivered_at": "2026-03-05T11:30", "delivered_to": "The customer"},
                         now="2026-03-05T12:00")
    assert "sam, who reported this concern" in error
    deliver(dover, alert_id, "2026-03-05T11:30", now="2026-03-05T12:00")

    # reported by olive for sam (--staff-involved): neither delivers; the step waits for another officer
    cli("users", "add", "otis", "--name", "Otis", "--role", "officer")
    out = cli("report", "--as", "olive", "--customer", "C2", "--category", "incident", "--staff-involved", "sam",
              "--description", "Threatened sam at the door", now=T0)
    other = int(out.split("alert ")[1].split()[0])
    task = dover.open_task("olive", other, T0)
    dover.complete("olive", task["task"], INCIDENT, now=RECORDED)
    assess(dover, other, {**ASSESS, "severity": "L3", "future_risk": "L3", "level": "L3",
                          "marker_text": "Level 3: no home visits", "control_measures": "no_home_visits"})
    assert not dover.tasks_for("sam", other, DECIDED) and not dover.tasks_for("olive", other, DECIDED)
    assert "sam, the member of staff involved" in dover.refuse(
        "sam", dover.open_task("otis", other, DECIDED)["task"], {"delivered_at": "2026-03-05T11:30", "delivered_to": "x"},
        now="2026-03-05T12:00")
    deliver(dover, other, "2026-03-05T11:30", who="otis", now="2026-03-05T12:00")


def test_a_review_that_removes_the_alert_writes_to_a_customer_who_was_told_and_records_why_not_for_one_never_told(dover, cli):
    """§10.1, §10.3: removed at review; the customer told of the alert is told it has gone; for one never
    told (§9.4) the reason for not telling is recorded instead."""
    told = dover.report("incident", customer="C1", now=T0)
    record_incident(dover, told)
    assess(dover, told, ASSESS)
    deliver(dover, told, "2026-03-05T11:30")
    untold = dover.report("external_information", customer="C3", now=T0)
    record_external(dover, untold)
    assess(dover, untold, {**EXTERNAL_ASSESS, "inform_customer": "no", "non_disclosure_basis": "police",
                           "non_disclosure_reason": "Police ask he is not told"}, who="mike")
    assert dover.fire_timers("2027-03-03T10:01") == 2
    removal = {"new_information": "None", "risk_reduced": "yes", "measures_proportionate": "yes",
               "review_outcome": "remove", "review_reason": "No incidents for a year"}
    dover.complete("lena", dover.open_task("lena", told, "2027-03-03T10:01")["task"], removal, now="2027-03-04T10:00")
    alert = dover.alert(told, DPO)
    assert alert["status"] == "removed" and alert["letters"][-1]["template"] == "alert_removed"
    assert "No incidents for a year" in alert["letters"][-1]["body"]
    review = dover.open_task("mike", untold, "2027-03-03T10:01")
    assert "non_disclosure_reason" in dover.refuse("mike", review["task"], removal, now="2027-03-04T10:00")
    dover.complete("mike", review["task"], {**removal, "non_disclosure_reason": "Never told; police still ask it"},
                   now="2027-03-04T10:00")
    alert = dover.alert(untold, DPO)
    assert alert["status"] == "removed" and alert["letters"] == []
    assert alert["non_disclosures"][-1]["reason"] == "Never told; police still ask it"


def test_an_appeal_that_lowers_the_level_gives_it_new_wording_naming_that_level(dover, cli):
    """§9.3 with §6.8: an appeal upheld in part lowers the level, and staff read the same level in the wording."""
    alert_id = dover.report("incident", customer="C1", now=T0)
    record_incident(dover, alert_id)
    assess(dover, alert_id, {**ASSESS, "severity": "L3", "future_risk": "L3", "level": "L3",
                             "marker_text": "Level 3: no home visits", "control_measures": "no_home_visits"})
    deliver(dover, alert_id, "2026-03-05T11:30")
    cli("appeal", alert_id, "--as", "sam", "--grounds", "A one-off", now="2026-03-10T10:00")
    hearing = dover.open_task("sue", alert_id, "2026-03-10T10:00")
    lowered = {"evidence_reviewed": "File record", "appeal_outcome": "lowered", "appeal_reasons": "Provoked"}
    assert "marker_text" in dover.refuse("sue", hearing["task"], {**lowered, "level": "L2"})
    assert "must be below the alert's level now" in dover.refuse(
        "sue", hearing["task"], {**lowered, "level": "L3", "marker_text": "Level 3: no home visits"})
    assert "staff must read one level" in dover.refuse(
        "sue", hearing["task"], {**lowered, "level": "L2", "marker_text": "Level 3: no home visits"})
    dover.complete("sue", hearing["task"], {**lowered, "level": "L2", "marker_text": "Level 2: visit in pairs"},
                   now="2026-03-12T10:00")
    assert "MARKER (Level 2: medium risk): Level 2: visit in pairs" in cli("check", "John Smith", "--as", "sam")


def test_information_shared_with_other_agencies_is_recorded_with_its_basis_and_special_category_data_only_with_consent(
        dover, cli):
    """§12.1-12.3: what is shared, with whom and on which §12.2 basis is kept in the risk assessment;
    special category information only with written consent or a data sharing agreement."""
    alert_id = dover.report("incident", now=T0)
    record_incident(dover, alert_id)
    task = dover.open_task("lena", alert_id, DECIDED)
    shared = {**ASSESS, "information_shared": "yes"}
    error = dover.refuse("lena", task["task"], shared)
    assert "sharing_basis" in error and "shared_with" in error and "special_category_shared" in error
    assert "not one of" in dover.refuse("lena", task["task"], {
        **shared, "sharing_basis": "legislation", "shared_with": "Kent Police: the incident record",
        "special_category_shared": "yes_without_consent"})
    assert dover.alert(alert_id, DPO)["status"] == "under_assessment"  # nothing half-saved
    alert = assess(dover, alert_id, {**shared, "sharing_basis": "contractors",
                                     "shared_with": "Repairs contractor: visit in pairs at this address",
                                     "special_category_shared": "none"})
    content = alert["assessments"][0]["content"]
    assert content["sharing_basis"] == "contractors" and content["special_category_shared"] == "none"
    assert content["shared_with"] == "Repairs contractor: visit in pairs at this address"


def test_the_nominated_manager_records_information_shared_about_external_information_too(dover, cli):
    """§8.2 with §12: the same record when the manager receiving police information decides."""
    alert_id = dover.report("external_information", customer="C3", now=T0)
    record_external(dover, alert_id)
    task = dover.open_task("mike", alert_id, T0)
    shared = {**EXTERNAL_ASSESS, "information_shared": "yes"}
    assert "sharing_basis" in dover.refuse("mike", task["task"], shared, now=DECIDED)
    alert = assess(dover, alert_id, {**shared, "sharing_basis": "safeguarding", "shared_with": "Social services",
                                     "special_category_shared": "consent"}, who="mike")
    assert alert["assessments"][-1]["content"]["sharing_basis"] == "safeguarding"


def test_the_risk_assessment_weighs_the_customers_vulnerability_and_support_against_protecting_staff(dover, cli):
    """§11: with vulnerable customers (mental illness, medical conditions, misuse, stress) the need to protect
    staff is balanced with their need for ongoing support: each risk assessment records it."""
    alert_id = dover.report("incident", now=T0)
    record_incident(dover, alert_id)
    task = dover.open_task("lena", alert_id, DECIDED)
    without = {k: v for k, v in ASSESS.items() if k != "vulnerability_support"}
    assert "vulnerability_support" in dover.refuse("lena", task["task"], without)
    alert = assess(dover, alert_id, {**without, "vulnerability_support": "Bereaved; referred to the tenancy support team"})
    assert alert["assessments"][0]["content"]["vulnerability_support"] == "Bereaved; referred to the tenancy support team"

    external = dover.report("external_information", customer="C3", now=T0)
    record_external(dover, external)
    task = dover.open_task("mike", external, T0)
    assert "vulnerability_support" in dover.refuse("mike", task["task"], {
        k: v for k, v in EXTERNAL_ASSESS.items() if k != "vulnerability_support"}, now=DECIDED)


def test_an_urgent_alert_is_sent_to_the_housing_officers_and_contractors_only_on_a_basis_and_its_withdrawal_to_all_told(
        dover, cli, smtp):
    """§12.2: beyond the housing officers and Customer Services, an alert goes to contractors or partner
    agencies only on a recorded basis; when the assessment takes the urgent alert off, everyone told is told."""
    urgent = {**INCIDENT, "credible_threat": "yes", "marker_text": "URGENT: do not visit"}
    alert_id = dover.report("incident", customer="C2", now=T0)
    record_incident(dover, alert_id, urgent)
    assert sorted(m["to"][0] for m in smtp.messages) == ["customer.services@dover.example.org",
                                                         "housing.officers@dover.example.org"]
    assert all("URGENT: do not visit" in m["body"] and "hit me" not in m["body"] for m in smtp.messages)
    on_system(dover, alert_id, RECORDED, "place an interim marker")
    no_alert = {"discussed_with_officer": "yes", "vulnerability_support": "None known", "behaviour_contact": "letter",
                "severity": "L1", "future_risk": "L1", "alert_needed": "no", "decision_reason": "A misheard remark",
                "threat_credible": "no", "police_referred": "no"}
    assess(dover, alert_id, no_alert)
    withdrawals = smtp.messages[2:]
    assert sorted(m["to"][0] for m in withdrawals) == ["customer.services@dover.example.org",
                                                       "housing.officers@dover.example.org"]
    assert all("has been withdrawn" in m["body"] and "misheard" not in m["body"] for m in withdrawals)
    assert [r["notice"] for r in dover.alert(alert_id, DPO)["circulation"]] == ["told", "told", "withdrawn", "withdrawn"]

    # an alert placed: contractors only with the basis for telling them
    other = dover.report("incident", customer="C1", now=T0)
    record_incident(dover, other)
    task = dover.open_task("lena", other, DECIDED)["task"]
    error = dover.refuse("lena", task, {**ASSESS, "circulate_to": "contractors"}, now=DECIDED)
    assert "circulation_justification: give a justification" in error and "Contractors working in council homes" in error
    dover.complete("lena", task, {**ASSESS, "circulate_to": "contractors", "circulation_justification":
                                  "§12.2(e): the gas servicing contractor visits next week"}, now=DECIDED)
    listed = dover.alert(other, DPO)["circulation"]
    assert [(r["recipient"], r["justification"]) for r in listed] == [
        ("housing_officers", None), ("customer_services", None),
        ("contractors", "§12.2(e): the gas servicing contractor visits next week")]
    assert "contractor.alerts@dover.example.org" in [m["to"][0] for m in smtp.messages]


def test_a_review_that_lowers_the_level_tells_everyone_told_and_one_that_keeps_it_as_it_was_tells_nobody(
        dover, cli, smtp):
    alert_id = dover.report("incident", customer="C2", now=T0)
    record_incident(dover, alert_id)
    assess(dover, alert_id, {**ASSESS, "severity": "L3", "future_risk": "L3", "level": "L3",
                             "marker_text": "Level 3: visit in pairs"})
    assert len(smtp.messages) == 2  # the housing officers and Customer Services
    assert dover.fire_timers("2027-03-03T10:01") == 1
    dover.complete("lena", dover.open_task("lena", alert_id, "2027-03-03T10:01")["task"], KEEP, now="2027-03-04T10:00")
    assert len(smtp.messages) == 2  # kept as it was: what they were sent still stands
    assert dover.fire_timers("2028-03-03T10:01") == 1
    dover.complete("lena", dover.open_task("lena", alert_id, "2028-03-03T10:01")["task"],
                   {**KEEP, "review_outcome": "lower", "level": "L2", "marker_text": "Level 2: contact only in writing",
                    "risk_reduced": "yes", "measures_proportionate": "no", "control_measures": "writing_only",
                    "review_reason": "Calmer"}, now="2028-03-04T10:00")
    changed = smtp.messages[2:]
    assert sorted(m["to"][0] for m in changed) == ["customer.services@dover.example.org",
                                                   "housing.officers@dover.example.org"]
    assert all("Level 2: contact only in writing" in m["body"] and "Calmer" not in m["body"] for m in changed)
    assert [r["notice"] for r in dover.alert(alert_id, DPO)["circulation"]] == ["told", "told", "amended", "amended"]

"""Each Derby category end to end through the command line: report, assess, decide, tell or
record why not, review after six months on a moved clock, keep or remove, and appeal."""
from tests.helpers import KEEP, MARKER, RISK, record_on_red_triangle

T0 = "2026-03-02T09:00"
DECIDED = "2026-03-03T10:00"
BEFORE_REVIEW = "2026-09-03T09:59"  # six months from the decision, when the marker went on the register
REVIEW_DUE = "2026-09-03T10:01"
def review_becomes_due(derby, reviewer, alert_id):
    assert derby.fire_timers(BEFORE_REVIEW) == 0
    assert not [t for t in derby.inbox(reviewer, BEFORE_REVIEW) if t["alert"] == alert_id]
    assert derby.fire_timers(REVIEW_DUE) == 1
    task = derby.open_task(reviewer, alert_id, REVIEW_DUE)
    assert task["title"] == "Review the marker"
    return task


def test_criminal_offender_assessed_by_asb_manager_reviewed_kept_and_appealed(derby, cli):
    alert_id = derby.report("rpo", now=T0)
    for other in ("carl", "helen", "tina"):
        assert not [t for t in derby.inbox(other, T0) if t["alert"] == alert_id]
    task = derby.open_task("anna", alert_id, T0)
    assert task["role"] == "asb_manager" and task["due"] == "2026-03-12"

    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Assault, 2025", "scheduled_offender": "no", **MARKER},
                   now=DECIDED)
    # the decision protects staff at once: on the register, at check-before-visiting and on the visit list,
    # while the ASB team's step to put it on the red triangle waits (§4)
    assert derby.alert(alert_id, now=DECIDED)["status"] == "active"
    assert "MARKER: Visit in pairs" in cli("check", "John Smith", "--as", "sam", now=DECIDED)
    assert "Visit in pairs" in cli("visit-list", "--as", "sam", now=DECIDED)
    step = derby.open_task("tina", alert_id, DECIDED)
    assert step["due"] == "2026-03-05"
    shown = cli("task", "show", step["task"], "--as", "tina", now=DECIDED)
    assert "Instruction to staff: Visit in pairs" in shown and "housing_system_reference" in shown
    assert "Real risk to staff" not in shown  # what to enter, never the reasons
    record_on_red_triangle(derby, alert_id)

    alert = derby.alert(alert_id)
    assert alert["status"] == "active" and alert["marker_text"] == "Visit in pairs"
    assert alert["control_measures"] == ["Visit in pairs"]
    assert alert["decided_by"] == "anna" and alert["decided_role"] == "asb_manager"
    assert alert["next_review_at"].startswith("2026-09-03")
    assert [letter["template"] for letter in alert["letters"]] == ["marker_placed"]
    letter = alert["letters"][0]["body"]
    assert "Visit in pairs" in letter and "3 September 2026" in letter
    # the letter as sent says how to appeal (Derby sets no time limit) and is signed by the deciding manager
    sent = cli("letter", "show", alert["letters"][0]["id"], "--as", "anna")
    assert "How to appeal\nWrite to us at the address above" in sent and "within" not in sent.split("How to appeal")[1]
    assert "Anna\nASB Manager, Derby Homes" in sent
    assert alert["assessments"][0]["content"]["offence_nature"] == "Assault, 2025"
    assert "MARKER: Visit in pairs" in cli("check", "John Smith", "--as", "sam")

    review = review_becomes_due(derby, "anna", alert_id)
    derby.complete("anna", review["task"], KEEP, now="2026-09-10T10:00")
    alert = derby.alert(alert_id)
    assert alert["status"] == "active" and alert["review_count"] == 1
    assert not [t for t in derby.inbox("tina", "2026-09-10T10:00") if t["alert"] == alert_id]  # kept unchanged
    assert alert["next_review_at"].startswith("2027-03-03")  # six months from the due date, not the late day
    decisions = [e for e in alert["events"] if e["action"] == "decision"]
    assert decisions[-1]["detail"]["reason"] == "Risk unchanged"  # a kept marker's reason is documented
    assert [letter["template"] for letter in alert["letters"]] == ["marker_placed", "marker_kept"]

    cli("appeal", alert_id, "--as", "sam", "--grounds", "I have not offended since", now="2026-09-20T10:00")
    hearing = derby.open_task("helen", alert_id, "2026-09-20T10:00")
    assert not [t for t in derby.inbox("anna", "2026-09-20T10:00") if t["alert"] == alert_id]
    appeal = {"appeal_outcome": "uphold", "appeal_reasons": "The risk assessment stands"}
    assert "anna made it" in derby.refuse("anna", hearing["task"], appeal)
    assert "more senior" in derby.refuse("alex", hearing["task"], appeal)
    assert "more senior" in derby.refuse("sam", hearing["task"], appeal)
    derby.complete("helen", hearing["task"], appeal, now="2026-09-25T10:00")

    alert = derby.alert(alert_id)
    assert alert["status"] == "active" and alert["letters"][-1]["template"] == "appeal_outcome"
    assert "final" in alert["letters"][-1]["body"]
    outcome = [e for e in alert["events"] if e["action"] == "appeal_decided"][0]
    assert outcome["actor"] == "helen" and outcome["detail"]["final"] is True
    assert "final" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Again")


def test_partner_information_with_complex_needs_input_not_told_then_removed_at_review(derby, cli):
    alert_id = derby.report("partner_info", customer="C2", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    values = {"partner_source": "Derbyshire Police", "complex_needs_consulted": "yes", **MARKER,
              "inform_tenant": "no", "non_disclosure_reason": "Telling her may put the informant at risk"}
    error = derby.refuse("anna", task["task"], values, now=DECIDED)
    assert ("complex_needs_input: Fill in 'Complex Needs Manager's input': it is needed because you answered Yes "
            "to 'Support sought from the Complex Needs Manager?'") in error  # asked for support, so record it
    values["complex_needs_input"] = "Agrees: unpredictable when unwell"
    derby.complete("anna", task["task"], values, now=DECIDED)
    record_on_red_triangle(derby, alert_id)

    alert = derby.alert(alert_id)
    assert alert["status"] == "active" and alert["letters"] == []
    assert alert["non_disclosures"] == [{"reason": "Telling her may put the informant at risk",
                                         "consulted": None, "by": "anna"}]

    review = review_becomes_due(derby, "anna", alert_id)
    derby.complete("anna", review["task"], {**KEEP, "review_outcome": "remove", "review_reason": "No further concerns",
                                            "complex_needs_input": "Agrees it can come off",
                                            "inform_tenant": ""}, now="2026-09-10T10:00")
    alert = derby.alert(alert_id)
    assert alert["status"] == "removed" and alert["next_review_at"] is None
    record_on_red_triangle(derby, alert_id, now="2026-09-10T10:00", change="remove the marker")
    assert [c["status"] for c in alert["cases"]] == ["completed", "completed"]
    assert "no marker" in cli("check", "Mary Jones", "--as", "sam")
    assert derby.fire_timers("2027-06-01T00:00") == 0  # a removed marker is never reviewed again


def test_mental_health_assessed_by_complex_needs_manager_with_sustainment_notes(derby, cli):
    alert_id = derby.report("mental_health", now=T0)
    assert not [t for t in derby.inbox("anna", T0) if t["alert"] == alert_id]
    task = derby.open_task("carl", alert_id, T0)
    error = derby.refuse("carl", task["task"], MARKER, now=DECIDED)
    assert "sustainment_note" in error  # §5.3: the arrangements also go into the HM Sustainment notes
    derby.complete("carl", task["task"], {**MARKER, "sustainment_note": "Phone first; visit in pairs"}, now=DECIDED)
    record_on_red_triangle(derby, alert_id)
    alert = derby.alert(alert_id)
    assert any(e["action"] == "note_added" and e["detail"]["notebook"] == "HM Sustainment" for e in alert["events"])
    assert "How to appeal" in cli("letter", "show", alert["letters"][0]["id"], "--as", "carl")

    review = review_becomes_due(derby, "carl", alert_id)
    assert not [t for t in derby.inbox("anna", REVIEW_DUE) if t["alert"] == alert_id]
    derby.complete("carl", review["task"], {**KEEP, "inform_tenant": "no",
                                            "non_disclosure_reason": "Acutely unwell; telling him now is unsafe"},
                   now="2026-09-05T10:00")
    alert = derby.alert(alert_id)
    assert alert["non_disclosures"][0]["reason"] == "Acutely unwell; telling him now is unsafe"
    assert [letter["template"] for letter in alert["letters"]] == ["marker_placed"]

    cli("appeal", alert_id, "--as", "tina", "--grounds", "I am well now", now="2026-09-06T10:00")
    hearing = derby.open_task("helen", alert_id, "2026-09-06T10:00")
    assert "carl made it" in derby.refuse("carl", hearing["task"], {"appeal_outcome": "remove", "appeal_reasons": "x"})
    derby.complete("helen", hearing["task"], {"appeal_outcome": "remove", "appeal_reasons": "Now stable"},
                   now="2026-09-07T10:00")
    alert = derby.alert(alert_id)
    assert alert["status"] == "removed"
    assert [c["status"] for c in alert["cases"]] == ["completed", "completed", "cancelled", "completed"]
    record_on_red_triangle(derby, alert_id, now="2026-09-07T10:00", change="remove the marker")
    assert derby.fire_timers("2027-06-01T00:00") == 0


def test_complaints_investigated_by_appointed_officer_not_told_after_consultation(derby, cli):
    alert_id = derby.report("complaints", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    assert "does not hold the role" in derby.refuse("helen", task["task"], {
        "investigating_officer": "sam", "complaint_summary": "Four complaints"}, now=T0)
    derby.complete("helen", task["task"], {"investigating_officer": "ivy", "complaint_summary": "Four complaints"},
                   now=T0)
    investigation = derby.open_task("ivy", alert_id, T0)
    assert investigation["assignee"] == "ivy" and investigation["due"] == "2026-03-30"
    assert "assigned to ivy" in derby.refuse("helen", investigation["task"], {})

    values = {"investigation_findings": "Unfounded each time", "unfounded_pattern": "yes", **MARKER,
              "inform_tenant": "no", "non_disclosure_reason": "Telling him is likely to provoke violence"}
    assert "non_disclosure_consulted" in derby.refuse("ivy", investigation["task"], values, now=DECIDED)
    values["non_disclosure_consulted"] = "asb_manager,personnel_manager"
    derby.complete("ivy", investigation["task"], values, now=DECIDED)
    record_on_red_triangle(derby, alert_id)

    alert = derby.alert(alert_id)
    assert alert["decided_by"] == "ivy" and alert["status"] == "active"
    assert alert["non_disclosures"][0]["consulted"] == "asb_manager, personnel_manager"

    cli("appeal", alert_id, "--as", "sam", "--grounds", "My complaints were genuine", now="2026-04-01T10:00")
    hearing = derby.open_task("helen", alert_id, "2026-04-01T10:00")
    assert "ivy made it" in derby.refuse("ivy", hearing["task"], {"appeal_outcome": "uphold", "appeal_reasons": "x"})
    derby.complete("helen", hearing["task"], {"appeal_outcome": "amend", "appeal_reasons": "Pairs are enough",
                                              "marker_text": "Visit in pairs; no lone phone calls",
                                              "control_measures": "visit_in_pairs"}, now="2026-04-02T10:00")
    alert = derby.alert(alert_id)
    assert alert["marker_text"] == "Visit in pairs; no lone phone calls" and alert["status"] == "active"
    step = derby.open_task("tina", alert_id, "2026-04-02T10:00")  # the new wording, for the red triangle
    assert "Visit in pairs; no lone phone calls" in cli("task", "show", step["task"], "--as", "tina")
    record_on_red_triangle(derby, alert_id, now="2026-04-02T10:00", change="change the marker")

    review = review_becomes_due(derby, "helen", alert_id)  # §6: reviewed by the Head of Service
    derby.complete("helen", review["task"], KEEP, now="2026-09-05T10:00")
    assert derby.alert(alert_id)["review_count"] == 1


def test_near_miss_decided_by_head_of_service_appeal_goes_higher(derby, cli):
    alert_id = derby.report("near_miss", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    derby.complete("helen", task["task"], {"assessment_method": "Talked to the officer", **MARKER}, now=DECIDED)
    record_on_red_triangle(derby, alert_id)
    alert = derby.alert(alert_id)
    assert alert["assessments"][0]["content"]["assessment_method"] == "Talked to the officer"

    review = review_becomes_due(derby, "helen", alert_id)
    derby.complete("helen", review["task"], KEEP, now="2026-09-05T10:00")

    cli("appeal", alert_id, "--as", "sam", "--grounds", "It was a misunderstanding", now="2026-09-06T10:00")
    assert not [t for t in derby.inbox("helen", "2026-09-06T10:00") if t["alert"] == alert_id]
    assert not [t for t in derby.inbox("harry", "2026-09-06T10:00") if t["alert"] == alert_id]
    hearing = derby.open_task("hugo", alert_id, "2026-09-06T10:00")
    assert hearing["role"] == "head_of_housing_management"
    appeal = {"appeal_outcome": "uphold", "appeal_reasons": "Proportionate"}
    assert "helen made it" in derby.refuse("helen", hearing["task"], appeal)
    assert "more senior" in derby.refuse("harry", hearing["task"], appeal)  # a peer is not more senior
    derby.complete("hugo", hearing["task"], appeal, now="2026-09-07T10:00")
    assert derby.alert(alert_id)["status"] == "active"


def test_no_marker_closes_the_report(derby, cli):
    alert_id = derby.report("near_miss", customer="C3", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    derby.complete("helen", task["task"], {"assessment_method": "Spoke to staff", **RISK, "place_marker": "no"},
                   now=DECIDED)
    alert = derby.alert(alert_id)
    assert alert["status"] == "not_placed" and alert["cases"][0]["status"] == "completed"
    assert derby.inbox("tina", DECIDED) == []
    assert "no marker" in cli("check", "Peter Brown", "--as", "sam")
    assert "only an active marker" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "x")


def test_mental_health_reason_for_not_telling_also_goes_into_the_hm_sustainment_notes(derby, cli):
    """§5.3: if it is not appropriate or safe to tell the tenant, the reasons are recorded in the
    notes, beside the working arrangements: at the assessment and at a review that keeps it untold."""
    alert_id = derby.report("mental_health", customer="C2", now=T0)
    task = derby.open_task("carl", alert_id, T0)
    derby.complete("carl", task["task"], {**MARKER, "sustainment_note": "Phone first; visit in pairs",
                                          "inform_tenant": "no",
                                          "non_disclosure_reason": "Telling her now would escalate a crisis"},
                   now=DECIDED)
    record_on_red_triangle(derby, alert_id)
    alert = derby.alert(alert_id)
    assert alert["letters"] == []
    sustainment = [n["text"] for n in alert["notes"] if n["notebook"] == "HM Sustainment"]
    assert sustainment == ["Phone first; visit in pairs", "Telling her now would escalate a crisis"]

    review = review_becomes_due(derby, "carl", alert_id)
    derby.complete("carl", review["task"], {**KEEP, "inform_tenant": "no",
                                            "non_disclosure_reason": "Still in crisis; her care team agree"},
                   now="2026-09-05T10:00")
    alert = derby.alert(alert_id)
    assert [n["text"] for n in alert["notes"] if n["notebook"] == "HM Sustainment"][-1] == \
        "Still in crisis; her care team agree"
    assert alert["letters"] == []


def test_complaints_an_interim_adjustment_goes_on_at_once_while_the_investigation_runs(derby, cli):
    """§5.5: an adjustment to working practices (visits in pairs) may be made during the
    investigation: live for staff and on the red triangle at once, then confirmed or taken off."""
    alert_id = derby.report("complaints", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    appoint = {"investigating_officer": "ivy", "complaint_summary": "Four complaints in a month",
               "interim_adjustment": "yes"}
    error = derby.refuse("helen", task["task"], appoint, now=T0)
    assert "marker_text" in error and "control_measures" in error
    assert "interim_reason" in error and "interim_inform_tenant" in error  # told of it, and why (§5.5)
    derby.complete("helen", task["task"], {**appoint, "marker_text": "Visit in pairs (interim)",
                                           "control_measures": "visit_in_pairs", "interim_inform_tenant": "yes",
                                           "interim_reason": "Staff must be protected from further allegations"},
                   now=T0)
    alert = derby.alert(alert_id, now=T0)
    assert alert["status"] == "active"
    [letter] = alert["letters"]
    assert letter["template"] == "interim_adjustment" and "Staff must be protected" in letter["body"]
    assert "Visit in pairs (interim)" in letter["body"] and "appeal" in letter["body"] and "$" not in letter["body"]
    # nothing is decided yet: an appeal waits for the investigation's decision, and says so
    assert "nothing has been decided yet, so there is nothing to appeal" in cli.fails(
        "appeal", alert_id, "--as", "sam", "--grounds", "Unfair", now=T0)
    assert "MARKER: Visit in pairs (interim)" in cli("check", "John Smith", "--as", "sam", now=T0)
    record_on_red_triangle(derby, alert_id, now=T0, change="place an interim marker")

    investigation = derby.open_task("ivy", alert_id, T0)
    derby.complete("ivy", investigation["task"], {"investigation_findings": "One complaint was well founded",
                                                  "unfounded_pattern": "no", **RISK, "place_marker": "no",
                                                  "decision_reason": "No pattern of unfounded complaints"},
                   now=DECIDED)
    alert = derby.alert(alert_id)
    assert alert["status"] == "removed" and alert["removed_reason"] == "No pattern of unfounded complaints"
    assert "no marker" in cli("check", "John Smith", "--as", "sam")
    record_on_red_triangle(derby, alert_id, now=DECIDED, change="remove the marker")


def test_complaints_an_interim_adjustment_is_confirmed_by_the_investigation(derby, cli):
    alert_id = derby.report("complaints", customer="C2", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    values = {"investigating_officer": "ivy", "complaint_summary": "Posts on social media",
              "interim_adjustment": "yes", "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs",
              "interim_reason": "Allegations against two officers", "interim_inform_tenant": "no",
              "interim_non_disclosure_reason": "Telling him now may provoke him"}
    assert "non_disclosure_consulted" in derby.refuse("helen", task["task"], values, now=T0)
    derby.complete("helen", task["task"], {**values, "non_disclosure_consulted": "asb_manager"}, now=T0)
    alert = derby.alert(alert_id, now=T0)
    assert alert["letters"] == [] and alert["non_disclosures"] == [
        {"reason": "Telling him now may provoke him", "consulted": "asb_manager", "by": "helen"}]
    record_on_red_triangle(derby, alert_id, now=T0, change="place an interim marker")
    investigation = derby.open_task("ivy", alert_id, T0)
    derby.complete("ivy", investigation["task"], {"investigation_findings": "Unfounded each time",
                                                  "unfounded_pattern": "yes", **MARKER,
                                                  "marker_text": "Visit in pairs; record every contact"}, now=DECIDED)
    alert = derby.alert(alert_id)
    assert alert["status"] == "active" and alert["marker_text"] == "Visit in pairs; record every contact"
    assert [lt["template"] for lt in alert["letters"]] == ["marker_placed"]
    record_on_red_triangle(derby, alert_id, now=DECIDED, change="confirm the interim marker as decided")


def test_partner_information_reviews_ask_the_complex_needs_managers_input_when_it_was_sought_at_the_assessment(derby, cli):
    """§5.2, §6: reviewed by the ASB Manager in conjunction with the Complex Needs Manager where
    appropriate: where the assessment sought their support, each review records their input."""
    alert_id = derby.report("partner_info", customer="C2", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    derby.complete("anna", task["task"], {"partner_source": "Derbyshire Police", "complex_needs_consulted": "yes",
                                          "complex_needs_input": "Unpredictable when unwell", **MARKER}, now=DECIDED)
    record_on_red_triangle(derby, alert_id)
    review = review_becomes_due(derby, "anna", alert_id)
    error = derby.refuse("anna", review["task"], KEEP, now="2026-09-10T10:00")
    assert "complex_needs_input: Fill in 'The Complex Needs Manager's input to this review" in error
    derby.complete("anna", review["task"], {**KEEP, "complex_needs_input": "Still unpredictable; keep pairs"},
                   now="2026-09-10T10:00")
    alert = derby.alert(alert_id)
    assert alert["assessments"][-1]["content"]["complex_needs_input"] == "Still unpredictable; keep pairs"
    # and the review after it asks again
    assert derby.fire_timers("2027-03-03T10:01") == 1
    second = derby.open_task("anna", alert_id, "2027-03-03T10:01")
    assert "complex_needs_input" in derby.refuse("anna", second["task"], KEEP, now="2027-03-03T10:01")

    # an offender's marker (no Complex Needs Manager sought) is reviewed without it
    other = derby.report("rpo", customer="C3", now=T0)
    task = derby.open_task("anna", other, T0)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Burglary, 2024", "scheduled_offender": "no", **MARKER},
                   now=DECIDED)
    record_on_red_triangle(derby, other)
    assert derby.fire_timers("2027-03-03T10:02") == 1
    review = derby.open_task("anna", other, "2027-03-03T10:02")
    derby.complete("anna", review["task"], KEEP, now="2027-03-04T10:00")


def test_the_head_of_service_may_nominate_a_service_manager_for_near_miss_and_complaints_steps(derby, cli):
    """§3, §5.6, §6: near misses are assessed and reviewed by the Head of Service "or their
    nominated Service Manager"; complaints are assessed by the Head of Service or their nominee."""
    alert_id = derby.report("near_miss", now=T0)
    task = derby.open_task("helen", alert_id, T0)
    assert "does not hold the Service Manager role" in cli.fails("task", "nominate", task["task"], "--to", "arthur",
                                                                 "--as", "helen", now=T0)
    assert "is for the Head of Service role, which hugo does not hold" in cli.fails("task", "nominate", task["task"], "--to", "sean",
                                                                    "--as", "hugo", now=T0)
    cli("task", "nominate", task["task"], "--to", "sean", "--as", "helen", now=T0)
    step = derby.open_task("sean", alert_id, T0)
    assert step["assignee"] == "sean" and not [t for t in derby.inbox("harry", T0) if t["alert"] == alert_id]
    derby.complete("sean", step["task"], {"assessment_method": "Spoke to the officer and her manager", **MARKER},
                   now=DECIDED)
    record_on_red_triangle(derby, alert_id)
    alert = derby.alert(alert_id)
    assert alert["decided_by"] == "sean" and alert["decided_role"] == "service_manager"
    assert any(e["action"] == "task_nominated" and e["actor"] == "helen" for e in alert["events"])

    review = review_becomes_due(derby, "helen", alert_id)  # §6: the review may be nominated too
    cli("task", "nominate", review["task"], "--to", "sean", "--as", "helen", now=REVIEW_DUE)
    derby.complete("sean", review["task"], KEEP, now="2026-09-05T10:00")
    assert derby.alert(alert_id)["review_count"] == 1

    complaints = derby.report("complaints", customer="C2", now=T0)
    appoint = derby.open_task("helen", complaints, T0)
    cli("task", "nominate", appoint["task"], "--to", "sean", "--as", "helen", now=T0)
    derby.complete("sean", appoint["task"], {"investigating_officer": "ivy", "complaint_summary": "Five complaints"},
                   now=T0)
    assert derby.open_task("ivy", complaints, T0)["title"] == "Investigate and assess the risk (§5.5)"

    # a step whose diagram names no nominee stays with its role
    offender = derby.report("rpo", customer="C3", now=T0)
    step = derby.open_task("anna", offender, T0)
    assert "names no nominee role" in cli.fails("task", "nominate", step["task"], "--to", "sean", "--as", "anna")


def test_a_scheduled_offender_goes_on_the_red_triangle_saying_only_to_contact_the_relevant_manager(derby, cli):
    """§5.1: like every other marker it goes on the red triangle with its measure, and that is
    "contact the relevant manager before visiting", whatever wording the form might have taken."""
    alert_id = derby.report("rpo", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Scheduled offence", "scheduled_offender": "yes",
                                          **RISK, "place_marker": "yes", "inform_tenant": "yes"}, now=DECIDED)
    step = derby.open_task("anna", alert_id, DECIDED)
    shown = cli("task", "show", step["task"], "--as", "anna", now=DECIDED)
    assert "Instruction to staff: Contact the relevant manager before visiting." in shown
    assert "Measures: Contact the relevant manager before visiting" in shown
    record_on_red_triangle(derby, alert_id, who="anna")
    alert = derby.alert(alert_id)
    assert alert["control_measures"] == ["Contact the relevant manager before visiting"]
    letter = alert["letters"][0]["body"]
    assert "This means: Contact the relevant manager before visiting." in letter and "$" not in letter

    # wording or measures typed for a scheduled offender never reach staff, the letter or the red triangle
    other = derby.report("rpo", customer="C2", now=T0)
    task = derby.open_task("anna", other, T0)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Scheduled offence", "scheduled_offender": "yes",
                                          **MARKER}, now=DECIDED)
    alert = derby.alert(other)
    assert alert["control_measures"] == ["Contact the relevant manager before visiting"]
    assert "Visit in pairs" not in alert["letters"][0]["body"]
    assert "Visit in pairs" not in cli("visit-list", "--as", "sam")


def test_the_offence_date_and_every_review_answer_of_section_6_are_required(derby, cli):
    """§5.1: the ASB Manager considers the nature of the offence and when it was committed; §6: a
    review collates information from staff and the support put in place, and asks whether the risk
    has reduced and the measures are still proportionate. Left blank, each is refused by name."""
    alert_id = derby.report("rpo", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    assessment = {"offence_date": "2025-01-01", "offence_nature": "Assault, 2025", "scheduled_offender": "no", **MARKER}
    refused = derby.refuse("anna", task["task"], {k: v for k, v in assessment.items() if k != "offence_date"},
                           now=DECIDED)
    assert "offence_date: Give the date for 'When the offence was committed'" in refused, refused
    assert derby.alert(alert_id, now=DECIDED)["status"] == "under_assessment"  # nothing saved
    derby.complete("anna", task["task"], assessment, now=DECIDED)
    record_on_red_triangle(derby, alert_id)

    review = review_becomes_due(derby, "anna", alert_id)
    for field in ("staff_information", "support_in_place", "risk_reduced", "measures_proportionate"):
        refused = derby.refuse("anna", review["task"], {k: v for k, v in KEEP.items() if k != field},
                               now=REVIEW_DUE)
        assert f"error: {field}: " in refused, (field, refused)
    assert derby.alert(alert_id, now=REVIEW_DUE)["review_count"] == 0
    derby.complete("anna", review["task"], KEEP, now=REVIEW_DUE)
    assert derby.alert(alert_id)["review_count"] == 1

"""Karbon Homes' caution alert register end to end through the command line
(../shared/policies/karbon-homes-caution-alert-policy.txt)."""
T0 = "2026-03-02T09:00"
DECIDED = "2026-03-03T10:00"
ADD = {"report_source": "contractor", "investigation_findings": "Officer's statement and call log", "incident_nature": "Threats to a repairs operative",
       "future_risk": "high", "person_involved": "Son of the lead tenant", "person_relationship": "household",
       "vulnerabilities_considered": "None known", "add_to_register": "yes", "decision_reason": "Credible threat",
       "marker_code": "VIP", "marker_text": "Visit in pairs; never alone", "inform_customer": "yes",
       "inform_agencies": "no"}
KEEP = {"review_findings": "No further incidents reported", "review_outcome": "keep", "review_reason": "Risk remains",
        "inform_customer": "yes"}


def decide(karbon, alert_id, values, now=DECIDED):
    task = karbon.open_task("mia", alert_id, now)
    assert task["role"] == "manager"
    karbon.complete("mia", task["task"], values, now=now)
    return karbon.alert(alert_id, "mia")


def test_manager_investigates_flags_lead_tenant_with_code_tells_customer_agencies_and_out_of_hours(karbon, cli):
    alert_id = karbon.report("threats", customer="C1", now=T0)
    assert not karbon.tasks_for("sam", alert_id, T0) and not karbon.tasks_for("otto", alert_id, T0)
    task = karbon.open_task("mia", alert_id, T0)
    assert task["due"] == "2026-03-12"
    fields = karbon.fields("mia", task["task"])
    assert "lead tenant" in fields["person_relationship"]["label"]

    values = {**ADD, "inform_agencies": "yes"}
    error = karbon.refuse("mia", task["task"], values, now=DECIDED)
    assert "disclosure_basis" in error and "agency_disclosure" in error  # §7.2: case by case, recorded
    alert = decide(karbon, alert_id, {**values, "disclosure_basis": "danger",
                                      "agency_disclosure": "Social services told: visit in pairs"})

    # §6.1-6.2: the red flag on the lead tenant's record, with a code saying what staff must do
    assert alert["status"] == "active" and alert["marker_code"] == "VIP"
    assert alert["decided_by"] == "mia" and alert["decided_role"] == "manager"
    assert "MARKER [VIP]: Visit in pairs; never alone" in cli("check", "John Smith", "--as", "sam")
    # §7.1-7.2: the disclosure to other agencies is recorded with its basis
    assert alert["notes"] == [{"notebook": "Disclosures to other agencies",
                               "text": "Social services told: visit in pairs", "author": "mia"}]
    content = alert["assessments"][0]["content"]
    assert content["inform_agencies"] is True and content["disclosure_basis"] == "danger"
    assert content["person_relationship"] == "household" and content["report_source"] == "contractor"  # §5.1
    # §7.3: out-of-hours call handlers always told; §5.2: the customer told the incident and the review date
    assert [lt["template"] for lt in alert["letters"]] == ["out_of_hours_notice", "caution_alert_added"]
    notice, letter = alert["letters"][0]["body"], alert["letters"][1]["body"]
    assert "VIP" in notice and "Visit in pairs; never alone" in notice and "Credible threat" not in notice
    assert "Threats to a repairs operative" in letter and "2026-09-03" in letter
    ooh = cli.json("visit-list", "--as", "otto")
    assert ooh == [{"customer": "C1", "name": "John Smith", "address": "1 High Street", "postcode": "AB1 1AA",
                    "code": "VIP", "instruction": "Visit in pairs; never alone", "control_measures": [], "details": [],
                    "next_review": "2026-09-03"}]

    # §8.1: reviewed every six months
    assert alert["next_review_at"].startswith("2026-09-03")
    assert karbon.fire_timers("2026-09-03T09:59") == 0
    assert karbon.fire_timers("2026-09-03T10:01") == 1
    review = karbon.open_task("max", alert_id, "2026-09-03T10:01")
    assert review["title"] == "Review the caution alert"
    karbon.complete("max", review["task"], KEEP, now="2026-09-05T10:00")
    alert = karbon.alert(alert_id, "mia")
    assert alert["status"] == "active" and alert["review_count"] == 1
    assert alert["next_review_at"].startswith("2027-03-03T10:00")  # six months from the due date, not the late day
    assert "2027-03-03" in alert["letters"][-1]["body"]  # told it stays, and when it is next reviewed
    assert [lt["template"] for lt in alert["letters"]][2:] == ["caution_alert_kept"]  # nothing changed: no notice

    # §7.3: a code changed at a review that keeps the alert reaches the out-of-hours call handlers too
    assert karbon.fire_timers("2027-03-03T10:01") == 1
    review = karbon.open_task("max", alert_id, "2027-03-03T10:01")
    karbon.complete("max", review["task"], {**KEEP, "marker_code": "PBV", "marker_text": "Phone first"},
                    now="2027-03-06T10:00")
    alert = karbon.alert(alert_id, "mia")
    assert [lt["template"] for lt in alert["letters"]][-2:] == ["out_of_hours_notice", "caution_alert_kept"]
    assert "PBV" in alert["letters"][-2]["body"] and "Phone first" in alert["letters"][-2]["body"]
    assert cli.json("visit-list", "--as", "otto")[0]["code"] == "PBV"

    # the policy gives no appeal route, so the pack has none
    assert "no appeal process" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Unfair")


def test_do_not_visit_is_reviewed_monthly_then_changed_and_removed(karbon, cli):
    alert_id = karbon.report("violence", customer="C2", now=T0)
    alert = decide(karbon, alert_id, {**ADD, "marker_code": "DNV", "marker_text": "Do not visit"})
    assert alert["next_review_at"].startswith("2026-04-03")  # monthly for 'do not visit'
    assert karbon.fire_timers("2026-04-03T09:59") == 0
    assert karbon.fire_timers("2026-04-03T10:01") == 1
    review = karbon.open_task("mia", alert_id, "2026-04-03T10:01")
    karbon.complete("mia", review["task"], KEEP, now="2026-04-04T10:00")
    assert karbon.alert(alert_id, "mia")["next_review_at"].startswith("2026-05-03T10:00")  # a month from the due date

    assert karbon.fire_timers("2026-05-03T10:01") == 1
    review = karbon.open_task("mia", alert_id, "2026-05-03T10:01")
    karbon.complete("mia", review["task"], {**KEEP, "review_outcome": "amend", "review_reason": "Calmer now",
                                            "marker_code": "VIP", "marker_text": "Visit in pairs"},
                    now="2026-05-05T10:00")
    alert = karbon.alert(alert_id, "mia")
    assert alert["marker_code"] == "VIP" and alert["next_review_at"].startswith("2026-11-03T10:00")  # back to six-monthly, from the due date
    assert [lt["template"] for lt in alert["letters"]][-2:] == ["out_of_hours_notice", "caution_alert_kept"]
    assert "MARKER [VIP]: Visit in pairs" in cli("check", "Mary Jones", "--as", "sam")

    assert karbon.fire_timers("2026-11-05T10:01") == 1
    review = karbon.open_task("mia", alert_id, "2026-11-05T10:01")
    karbon.complete("mia", review["task"], {**KEEP, "review_outcome": "remove", "review_reason": "Moved on"},
                    now="2026-11-06T10:00")
    alert = karbon.alert(alert_id, "mia")
    assert alert["status"] == "removed" and alert["next_review_at"] is None
    assert "no marker" in cli("check", "Mary Jones", "--as", "sam")
    assert cli.json("visit-list", "--as", "otto") == []
    assert alert["letters"][-1]["template"] == "out_of_hours_removed"  # §7.3: call handlers' list kept current
    assert karbon.fire_timers("2027-06-01T00:00") == 0


def test_customer_not_told_with_reason_but_out_of_hours_still_told(karbon, cli):
    alert_id = karbon.report("sharps", customer="C3", now=T0)
    task = karbon.open_task("mia", alert_id, T0)
    values = {**ADD, "marker_code": "SHP", "marker_text": "Sharps: wear gloves", "inform_customer": "no"}
    assert "non_disclosure_reason" in karbon.refuse("mia", task["task"], values, now=DECIDED)
    alert = decide(karbon, alert_id, {**values, "non_disclosure_reason": "Would end his engagement with treatment"})
    assert alert["status"] == "active"
    assert alert["non_disclosures"] == [{"reason": "Would end his engagement with treatment", "consulted": None,
                                         "by": "mia"}]
    assert [lt["template"] for lt in alert["letters"]] == ["out_of_hours_notice"]
    assert alert["notes"] == []  # no agencies told
    assert alert["assessments"][0]["content"]["inform_agencies"] is False  # but the decision is recorded


def test_manager_decides_not_to_add(karbon, cli):
    alert_id = karbon.report("abuse", customer="C3", now=T0)
    alert = decide(karbon, alert_id, {k: v for k, v in ADD.items() if k not in (
        "marker_code", "marker_text", "inform_customer", "inform_agencies")} | {"add_to_register": "no"})
    assert alert["status"] == "not_placed" and alert["letters"] == []
    assert alert["cases"][0]["status"] == "completed"
    assert "no marker" in cli("check", "Peter Brown", "--as", "sam")
    assert cli.json("visit-list", "--as", "otto") == []

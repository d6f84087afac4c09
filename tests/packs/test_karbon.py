"""Karbon Homes' caution alert register end to end through the command line
(../shared/policies/karbon-homes-caution-alert-policy.txt)."""
import json

T0 = "2026-03-02T09:00"
DECIDED = "2026-03-03T10:00"
ADD = {"report_source": "contractor", "investigation_findings": "Officer's statement and call log", "incident_nature": "Threats to a repairs operative",
       "future_risk": "high", "person_involved": "Son of the lead tenant", "person_relationship": "household",
       "vulnerabilities_considered": "None known", "add_to_register": "yes", "decision_reason": "Credible threat",
       "marker_code": "VIP", "marker_text": "Visit in pairs; never alone", "inform_customer": "yes",
       "inform_agencies": "no"}
KEEP = {"review_findings": "No further incidents reported", "review_outcome": "keep", "review_reason": "Risk remains",
        "inform_customer": "yes", "vulnerabilities_considered": "None known",
        "incident_nature": "Threats to a repairs operative"}


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
    assert "MARKER (VIP: visit in pairs): Visit in pairs; never alone" in cli("check", "John Smith", "--as", "sam")
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
    assert "Threats to a repairs operative" in letter and "3 September 2026" in letter
    ooh = cli.json("visit-list", "--as", "otto")
    assert ooh == [{"property": "P1", "address": "1 High Street", "postcode": "AB1 1AA", "applies_to": "John Smith (C1)",
                    "customer": "C1", "name": "John Smith",
                    "code": "VIP", "kind": "VIP: visit in pairs", "instruction": "Visit in pairs; never alone", "control_measures": [], "details": [],
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
    assert "3 March 2027" in alert["letters"][-1]["body"]  # told it stays, and when it is next reviewed
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
    assert "MARKER (VIP: visit in pairs): Visit in pairs" in cli("check", "Mary Jones", "--as", "sam")

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


def _review(karbon, alert_id, values, due, done, who="max"):
    assert karbon.fire_timers(due) == 1
    task = karbon.open_task(who, alert_id, due)
    karbon.complete(who, task["task"], values, now=done)
    return karbon.alert(alert_id, "mia")


NOT_TOLD = {**ADD, "marker_code": "PBV", "marker_text": "Police before visiting", "inform_customer": "no",
            "non_disclosure_reason": "Police operation under way"}
TOLD_AT_REVIEW = {**KEEP, "vulnerabilities_considered": "Hearing loss: letter in large print",
                  "incident_nature": "Threats to a repairs operative on 1 March 2026"}


def test_a_subject_access_export_for_a_customer_not_told_withholds_the_out_of_hours_notice_until_a_review_tells_them(
        karbon, cli):
    """§9.1 with §4.2: the out-of-hours notice repeats the code and the instruction the customer was not told."""
    alert_id = karbon.report("threats", customer="C3", now=T0)
    alert = decide(karbon, alert_id, NOT_TOLD)
    assert [lt["template"] for lt in alert["letters"]] == ["out_of_hours_notice"]
    export = cli("export", "subject-access", "C3", "--as", "dpo", now="2026-04-01T10:00")
    assert "Peter Brown" in export and "withheld: covered by a decision not to tell" in export
    for secret in ("PBV", "Police before visiting", "Police operation under way", "Threats to a repairs operative"):
        assert secret not in export
    assert all(lt.get("withheld") for lt in json.loads(export)["alerts"][0]["letters"])

    # a later review tells the customer: nothing is withheld any more
    _review(karbon, alert_id, TOLD_AT_REVIEW, "2026-09-03T10:01", "2026-09-04T10:00")
    data = json.loads(cli("export", "subject-access", "C3", "--as", "dpo", now="2026-09-05T10:00"))
    record = data["alerts"][0]
    assert record["withheld_sections"] == [] and record["marker"]["code"] == "PBV"
    assert [lt["title"] for lt in record["letters"]] == [
        "Caution alert: notice to the out-of-hours call handlers", "The review of your caution alert"]
    assert "Police before visiting" in record["letters"][0]["body"]


def test_a_customer_first_told_at_a_review_is_told_the_incidents_and_when_it_is_next_reviewed(karbon, cli):
    """§5.2: the customer is told the incident(s) that led to the entry and when it will be reviewed."""
    alert_id = karbon.report("threats", customer="C3", now=T0)
    decide(karbon, alert_id, NOT_TOLD)
    assert karbon.fire_timers("2026-09-03T10:01") == 1
    task = karbon.open_task("max", alert_id, "2026-09-03T10:01")
    error = karbon.refuse("max", task["task"], {k: v for k, v in TOLD_AT_REVIEW.items() if k != "incident_nature"},
                          now="2026-09-04T10:00")
    assert "incident_nature" in error
    karbon.complete("max", task["task"], TOLD_AT_REVIEW, now="2026-09-04T10:00")
    letter = karbon.alert(alert_id, "mia")["letters"][-1]
    assert letter["template"] == "caution_alert_kept"
    for item in ("Threats to a repairs operative on 1 March 2026", "3 March 2027", "Police before visiting"):
        assert item in letter["body"]


def test_customer_vulnerabilities_are_considered_again_at_every_review(karbon, cli):
    """§10.1: customer vulnerabilities are considered as part of the decision, the review's too."""
    alert_id = karbon.report("threats", customer="C1", now=T0)
    decide(karbon, alert_id, ADD)
    assert karbon.fire_timers("2026-09-03T10:01") == 1
    task = karbon.open_task("max", alert_id, "2026-09-03T10:01")
    assert "vulnerabilities_considered" in karbon.fields("max", task["task"])
    without = {k: v for k, v in TOLD_AT_REVIEW.items() if k != "vulnerabilities_considered"}
    assert "vulnerabilities_considered" in karbon.refuse("max", task["task"], without, now="2026-09-04T10:00")
    karbon.complete("max", task["task"], TOLD_AT_REVIEW, now="2026-09-04T10:00")
    review = karbon.alert(alert_id, "mia")["assessments"][-1]["content"]
    assert review["vulnerabilities_considered"] == "Hearing loss: letter in large print"


def test_a_report_about_a_household_member_flags_the_lead_tenant_and_links_the_members_own_record(karbon, cli):
    """§6.1: "a caution alert warning (red flag) will appear against the lead tenant on the relevant tenancy"."""
    assert "there is no customer 'C9' to be the lead tenant" in cli.fails(
        "customers", "add", "C4", "--name", "Dean Smith", "--household-of", "C9")
    assert "of C1's household" in cli("customers", "add", "C4", "--name", "Dean Smith", "--address", "1 High Street",
                                      "--postcode", "AB1 1AA", "--household-of", "C1")
    assert "is a member of another lead tenant's household" in cli.fails(
        "customers", "add", "C5", "--name", "Baby Smith", "--household-of", "C4")

    out = cli("report", "--as", "sam", "--customer", "C4", "--category", "threats",
              "--description", "The lead tenant's son threatened the repairs operative", now=T0)
    assert "the marker goes on the lead tenant John Smith (C1); C4's own record is linked to it, not flagged" in out
    alert_id = int(out.split()[1])
    alert = decide(karbon, alert_id, ADD)
    assert alert["customer"] == "C1" and alert["about_customer"] == "C4" and alert["status"] == "active"
    assert "Dear John Smith" in alert["letters"][1]["body"]  # the lead tenant is told (§5.2)
    assert "MARKER (VIP: visit in pairs): Visit in pairs; never alone" in cli("check", "John Smith", "--as", "sam")
    member = cli("check", "Dean Smith", "--as", "sam")
    assert "C4  Dean Smith, 1 High Street: no marker of their own" in member  # their own record is not flagged
    # but staff checking before visiting them see the flag on their household's lead tenant (§6.3)
    assert ("C4  Dean Smith, of the household of the lead tenant John Smith (C1): MARKER (VIP: visit in pairs): "
            "Visit in pairs; never alone") in member
    from tests.helpers import Browser
    from tests.web.conftest import set_passwords
    from webapp import create_app
    set_passwords(["sam"])
    page = Browser(create_app({"TESTING": True}), "sam").get("/check?q=Dean").get_data(as_text=True)
    assert "No marker of their own." in page and "Marker on the lead tenant of the household" in page
    # the code in words, as the command line says it (markers.kind_in_words)
    assert "(C1) (VIP: visit in pairs):</strong>" in page and "[VIP]" not in page
    assert "Visit in pairs; never alone" in page
    assert [r["customer"] for r in cli.json("visit-list", "--as", "otto")] == ["C1"]
    # the member's subject access export holds the alert their behaviour led to (§9.1)
    assert [a["alert"] for a in json.loads(cli("export", "subject-access", "C4", "--as", "dpo"))["alerts"]] == [alert_id]


def test_a_delivered_out_of_hours_notice_does_not_count_as_telling_the_customer(karbon, cli):
    """§5.2 with the working rule of 14 days: only the customer's own letter tells them; the §7.3 notice
    goes to the call handlers."""
    alert_id = karbon.report("threats", customer="C1", now=T0)
    notice, letter = decide(karbon, alert_id, ADD)["letters"]
    assert notice["template"] == "out_of_hours_notice"
    cli("letter", "deliver", notice["id"], "--as", "mia", "--method", "first class post", "--at", "2026-03-04T09:00",
        now="2026-03-20T10:00")
    rows = json.loads(cli("dashboard", "--as", "dpo", now="2026-03-20T10:00"))["not_told"]
    assert [(r["alert"], r["deadline"]) for r in rows] == [(alert_id, "2026-03-17")]
    cli("letter", "deliver", letter["id"], "--as", "mia", "--method", "first class post", "--at", "2026-03-04T09:00",
        now="2026-03-20T10:00")
    assert json.loads(cli("dashboard", "--as", "dpo", now="2026-03-20T10:00"))["not_told"] == []


def test_dangerous_animals_are_a_marker_on_the_property_told_to_the_occupier(karbon, cli):
    """§3.4 "keeping of dangerous animals": a hazard at the address (on = "property"), so whoever lives
    there is shown it and the letter the assessment sends goes to the occupier, not to a person."""
    from sqlalchemy import select
    from workflows.platform.db import transaction
    from workflows.platform.models import Customer
    with transaction() as db:
        home = db.scalar(select(Customer).where(Customer.reference == "C1")).home.reference
    assert "is a marker on a property, not on a person" in cli.fails(
        "report", "--as", "sam", "--customer", "C1", "--category", "dangerous_animals", "--description", "Dog")
    out = cli("report", "--as", "sam", "--property", home, "--category", "dangerous_animals",
              "--description", "Two loose dogs at the gate", now=T0)
    alert_id = int(out.split()[1])
    alert = decide(karbon, alert_id, {**ADD, "marker_code": "PBV", "marker_text": "Dogs: phone before visiting",
                                      "incident_nature": "Dogs loose at the gate"})
    assert alert["status"] == "active"
    letter = next(lt for lt in alert["letters"] if lt["template"] == "caution_alert_added")
    assert letter["body"].startswith("Dear Occupier,") and "Property" not in letter["body"].split("\n")[0]
    sent = cli("letter", "show", str(letter["id"]), "--as", "mia", now=DECIDED)  # as laid out for the envelope
    assert "The Occupier\n1 High Street" in sent and sent.index("1 High Street") < sent.index("Dear Occupier")
    shown = cli("check", "John Smith", "--as", "sam", now=DECIDED)
    assert f"at 1 High Street AB1 1AA (property {home}): MARKER (PBV: phone the customer and the manager before visiting): Dogs: phone before visiting" in shown
    ooh = cli.json("visit-list", "--as", "otto", now=DECIDED)
    assert [(r["property"], r["applies_to"], r["code"], r["kind"]) for r in ooh] == [
        (home, "everyone living there", "PBV", "PBV: phone the customer and the manager before visiting")]
    assert ("  everyone living there: (PBV: phone the customer and the manager before visiting) Dogs: phone before "
            "visiting") in cli("visit-list", "--as", "otto", now=DECIDED)

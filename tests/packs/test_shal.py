"""SHAL's visit in pairs markers end to end through the command line
(../shared/policies/shal-visit-in-pairs-policy.txt)."""
import json

from tests.packs.conftest import SHAL_USERS
from tests.packs.world import world_on_copy

T0 = "2026-03-02T09:00"
DECIDED = "2026-03-03T10:00"
DECIDE = {"basis": "incident", "incident_nature": "Threatened the gas engineer with a hammer",
          "violence_risk": "high", "staff_impact": "Engineer shaken; off work for two days",
          "repeat_likelihood": "medium", "escalating_pattern": "yes", "health_risk": "yes", "place_marker": "yes",
          "file_note": "Engineer's statement; second incident this year", "marker_text": "Visit in pairs",
          "shared_with": "Our repairs contractors", "inform_tenant": "yes",
          "why_unacceptable": "A hammer raised at the engineer put him in danger, so visits need two people"}
KEEP = {"staff_consulted": "The gas engineer and his supervisor", "review_outcome": "keep",
        "review_reason": "Further threats in the autumn", "inform_tenant": "yes",
        "incident_nature": DECIDE["incident_nature"], "why_unacceptable": DECIDE["why_unacceptable"],
        "shared_with": DECIDE["shared_with"]}


def decide(shal, alert_id, values, who="hannah", now=DECIDED):
    task = shal.open_task(who, alert_id, now)
    shal.complete(who, task["task"], values, now=now)
    return shal.alert(alert_id, "hannah")


def test_any_staff_may_ask_the_housing_manager_decides_with_file_note_record_sheet_and_letter(shal, cli):
    alert_id = shal.report("incident", who="sam", now=T0)  # §3.4.1: any member of staff may ask
    for other in ("sam", "hugh", "mo"):
        assert not shal.tasks_for(other, alert_id, T0)
    task = shal.open_task("hannah", alert_id, T0)
    assert shal.fields("hannah", task["task"])["basis"]["options"] == [
        ["incident", "A specific incident"], ["concern", "A clear and verifiable expression of concern"]]
    assert "is for the Housing Manager role" in shal.refuse("hugh", task["task"], DECIDE)
    assert "file_note" in shal.refuse("hannah", task["task"], {**DECIDE, "file_note": ""})
    alert = decide(shal, alert_id, DECIDE)

    assert alert["status"] == "active" and alert["decided_role"] == "housing_manager"
    notes = {n["notebook"]: n["text"] for n in alert["notes"]}
    assert notes["File notes"] == "Engineer's statement; second incident this year"  # §3.4.2
    sheet = notes["VIP Record Sheet"]  # §3.4.3: reason, date added, review date
    assert "Reason marked VIP: Engineer's statement" in sheet
    assert "Date added: 3 March 2026" in sheet and "Review due: 3 February 2027" in sheet  # done within 12 months
    content = alert["assessments"][0]["content"]  # §3.4.4-3.4.6: the risk factors considered
    assert content["violence_risk"] == "high" and content["escalating_pattern"] is True

    letter = alert["letters"][0]  # §3.6.1-3.6.2: told at once (within the week), the five items
    assert letter["template"] == "vip_marker_added"
    for item in ("Threatened the gas engineer with a hammer", "Your records will show a VIP marker",
                 '"Visit in pairs"', "Our repairs contractors", "By 3 February 2027"):
        assert item in letter["body"]
    # §3.6.2: the letter comes from the Housing Manager, who signs it by name
    assert "Hannah\nHousing Manager, SHAL Housing" in cli("letter", "show", letter["id"], "--as", "hannah")
    # §3.3.4: the list for out-of-hours maintenance staff
    assert [(r["customer"], r["instruction"]) for r in cli.json("visit-list", "--as", "mo")] == [("C1", "Visit in pairs")]

    # §3.4.7: reviewed at least every 12 months, with the staff involved: due eleven months on, its
    # step due two weeks later
    assert shal.fire_timers("2027-02-03T09:59") == 0
    assert shal.fire_timers("2027-02-03T10:01") == 1
    review = shal.open_task("hannah", alert_id, "2027-02-03T10:01")
    assert "staff_consulted" in shal.refuse("hannah", review["task"], {**KEEP, "staff_consulted": ""})
    shal.complete("hannah", review["task"], KEEP, now="2027-02-05T10:00")
    alert = shal.alert(alert_id, "hannah")
    # two days after it fell due, yet the next review is still counted from when this one fell due
    assert alert["review_count"] == 1 and alert["next_review_at"].startswith("2028-01-03T10:00")
    assert alert["letters"][-1]["template"] == "vip_marker_kept"
    assert "reviewed 5 February 2027 with The gas engineer and his supervisor" in alert["notes"][-1]["text"]

    # §3.6.4: a tenant who was told sees the marker disclosed with their records, no decision needed
    cli("request", alert_id, "--as", "sam", "--kind", "subject_access", "--details", "All my records",
        now="2027-04-01T10:00")
    assert not shal.tasks_for("hannah", alert_id, "2027-04-01T10:00")
    assert shal.alert(alert_id, "hannah")["letters"][-1]["template"] == "sar_marker_disclosed"


def test_chief_executive_decides_only_when_the_housing_manager_is_absent(shal, cli):
    """§3.4.1: the Housing Manager decides, "or, in their absence, the Chief Executive"."""
    alert_id = shal.report("concern", customer="C2", now=T0)
    assert not shal.tasks_for("cathy", alert_id, T0)  # the Housing Manager is at work
    task = shal.open_task("hannah", alert_id, T0)
    assert "is for the Housing Manager role, which cathy does not hold" in cli.fails(
        "task", "complete", task["task"], "--as", "cathy", now=T0)

    cli("users", "away", "hannah", "--from", "2026-03-03", "--until", "2026-03-13")
    assert not shal.tasks_for("cathy", alert_id, T0)  # the leave has not begun
    assert shal.open_task("cathy", alert_id, DECIDED)["role"] == "housing_manager"
    alert = decide(shal, alert_id, {**DECIDE, "basis": "concern"}, who="cathy")
    assert alert["decided_by"] == "cathy" and alert["decided_role"] == "chief_executive"
    # the deputy signs in the role she acted in
    assert "Cathy\nChief Executive, SHAL Housing" in cli("letter", "show", alert["letters"][0]["id"], "--as", "cathy")

    other = shal.report("concern", customer="C3", now="2026-03-14T09:00")
    assert not shal.tasks_for("cathy", other, "2026-03-14T09:00")  # back from leave
    cli("users", "away", "hannah", "--from", "2026-03-16", "--until", "2026-03-20")
    cli("users", "back", "hannah")  # the leave was cancelled
    assert not shal.tasks_for("cathy", other, "2026-03-17T09:00")
    assert "the last day away (2026-03-01) is before the first (2026-03-16)" in cli.fails(
        "users", "away", "hannah", "--from", "2026-03-16", "--until", "2026-03-01")


def test_drug_dealing_on_a_home_visit_adds_a_marker_automatically(shal, cli):
    alert_id = shal.report("drug_dealing", customer="C3", who="hugh", now=T0)
    task = shal.open_task("hannah", alert_id, T0)
    assert task["title"].startswith("Add the VIP marker")
    assert "place_marker" not in shal.fields("hannah", task["task"])  # no choice: §3.2.3
    alert = decide(shal, alert_id, {"incident_nature": "Scales and bagged drugs seen", "file_note": "Officer's report",
                                    "marker_text": "Visit in pairs", "shared_with": "Police", "inform_tenant": "yes",
                                    "why_unacceptable": "Dealing from the home puts visiting staff in danger"})
    assert alert["status"] == "active" and alert["letters"][0]["template"] == "vip_marker_added"

    assert shal.fire_timers("2027-02-03T10:01") == 1
    review = shal.open_task("hannah", alert_id, "2027-02-03T10:01")
    shal.complete("hannah", review["task"], {"staff_consulted": "Hugh", "review_outcome": "remove",
                                             "review_reason": "Moved away from dealing; police confirm"},
                  now="2027-02-04T10:00")
    assert shal.alert(alert_id, "hannah")["status"] == "removed"
    assert cli.json("visit-list", "--as", "mo") == []


def test_not_told_for_substantial_risk_then_subject_access_decision(shal, cli):
    alert_id = shal.report("incident", customer="C2", now=T0)
    task = shal.open_task("hannah", alert_id, T0)
    assert "non_disclosure_reason" in shal.refuse("hannah", task["task"], {**DECIDE, "inform_tenant": "no"})
    alert = decide(shal, alert_id, {**DECIDE, "inform_tenant": "no",
                                    "non_disclosure_reason": "Would provoke violence against his neighbour"})
    assert alert["letters"] == []
    assert alert["non_disclosures"][0]["reason"] == "Would provoke violence against his neighbour"
    assert "Would provoke violence against his neighbour" in [n["text"] for n in alert["notes"]
                                                             if n["notebook"] == "File notes"]  # §3.6.3
    # a subject access export holds back what the tenant was not told, in every section that repeats it
    cli("users", "add", "connie", "--name", "Connie", "--role", "compliance_officer")
    export = cli("export", "subject-access", "C2", "--as", "connie")
    assert "Mary Jones" in export and "withheld: covered by a decision not to tell" in export
    for secret in ("Would provoke violence", "Visit in pairs", "Threatened the gas engineer"):
        assert secret not in export

    # §3.6.4: the tenant asks to see their records; the Housing Manager decides on disclosure
    assert "no request 'complaint'" in cli.fails("request", alert_id, "--as", "sam", "--kind", "complaint",
                                                 "--details", "x")
    cli("request", alert_id, "--as", "sam", "--kind", "subject_access", "--details", "Everything you hold",
        now="2026-06-01T10:00")
    task = shal.open_task("hannah", alert_id, "2026-06-01T10:00")
    sar = {"third_party_risk": "The neighbour who reported him", "health_effect": "None known",
           "disclose": "no", "sar_reason": "Neighbour still at risk"}
    assert "health_effect" in shal.refuse("hannah", task["task"], {**sar, "health_effect": ""})
    shal.complete("hannah", task["task"], sar, now="2026-06-02T10:00")
    alert = shal.alert(alert_id, "hannah")
    assert alert["letters"] == [] and alert["non_disclosures"][-1]["reason"] == "Neighbour still at risk"

    cli("request", alert_id, "--as", "sam", "--kind", "subject_access", "--details", "Again",
        now="2026-12-01T10:00")
    task = shal.open_task("hannah", alert_id, "2026-12-01T10:00")
    shal.complete("hannah", task["task"], {**sar, "disclose": "yes", "sar_reason": "Neighbour has moved"},
                  now="2026-12-02T10:00")
    assert shal.alert(alert_id, "hannah")["letters"][-1]["template"] == "sar_marker_disclosed"


def test_no_marker_without_a_genuine_risk(shal, cli):
    alert_id = shal.report("concern", customer="C3", now=T0)
    alert = decide(shal, alert_id, {k: v for k, v in DECIDE.items() if k not in (
        "marker_text", "shared_with", "inform_tenant")} | {"place_marker": "no", "file_note": "A general opinion only"})
    assert alert["status"] == "not_placed" and alert["notes"][0]["text"] == "A general opinion only"


def test_objection_to_processing_is_justified_with_a_file_note_or_the_marker_removed(shal, cli):
    alert_id = shal.report("incident", customer="C3", now=T0)
    decide(shal, alert_id, DECIDE)
    cli("request", alert_id, "--as", "sam", "--kind", "objection", "--details", "Solicitor's notice under GDPR",
        now="2026-05-01T10:00")
    task = shal.open_task("hannah", alert_id, "2026-05-01T10:00")
    shal.complete("hannah", task["task"], {"file_notes_reviewed": "Engineer's statement and file note",
                                           "objection_outcome": "justified",
                                           "objection_reason": "Two incidents with a weapon; risk remains"},
                  now="2026-05-02T10:00")
    alert = shal.alert(alert_id, "hannah")
    assert alert["status"] == "active" and alert["letters"][-1]["template"] == "objection_refused"
    assert alert["notes"][-1] == {"notebook": "File notes", "text": "Two incidents with a weapon; risk remains",
                                  "author": "hannah"}  # §3.5: accurate and timely file notes

    cli("request", alert_id, "--as", "sam", "--kind", "objection", "--details", "Court application",
        now="2026-08-01T10:00")
    task = shal.open_task("hannah", alert_id, "2026-08-01T10:00")
    shal.complete("hannah", task["task"], {"file_notes_reviewed": "All", "objection_outcome": "removed",
                                           "objection_reason": "No incident for a year"}, now="2026-08-02T10:00")
    alert = shal.alert(alert_id, "hannah")
    assert alert["status"] == "removed" and alert["letters"][-1]["template"] == "objection_upheld"
    assert shal.fire_timers("2027-06-01T00:00") == 0  # its review was stopped


def test_reminders_go_to_the_chief_executive_while_the_housing_manager_is_away(tmp_path, monkeypatch, cli, smtp):
    """A deputy who may take the absent Housing Manager's steps is also reminded of them."""
    from tests.packs.conftest import SHAL_USERS
    from tests.packs.world import world_on_copy

    def with_reminders(toml):
        toml.write_text(toml.read_text() + '\n[notifications]\nremind_before = "P2D"\n')
    shal = world_on_copy(cli, monkeypatch, tmp_path, "shal",
                         {k: v for k, v in SHAL_USERS.items() if k not in ("hannah", "cathy")}, with_reminders)
    cli("users", "add", "hannah", "--name", "Hannah", "--role", "housing_manager", "--email", "hannah@shal.example")
    cli("users", "add", "cathy", "--name", "Cathy", "--role", "chief_executive", "--email", "cathy@shal.example")

    at_work = shal.report("concern", customer="C1", now=T0)  # the decision is due seven days later
    assert cli("timers", "reminders", now="2026-03-07T10:00").startswith("1 reminder(s)")
    assert smtp.messages[0]["to"] == ["hannah@shal.example"]

    cli("users", "away", "hannah", "--from", "2026-03-12", "--until", "2026-03-20")
    away = shal.report("concern", customer="C2", now="2026-03-10T09:00")
    assert cli("timers", "reminders", now="2026-03-15T10:00").startswith("1 reminder(s)")
    assert smtp.messages[1]["to"] == ["cathy@shal.example", "hannah@shal.example"]
    assert f"alert {away}" in smtp.messages[1]["body"] and f"alert {at_work}" in smtp.messages[0]["body"]


def not_told(cli, now):
    return json.loads(cli("dashboard", "--as", "cora", now=now))["not_told"]


def test_a_letter_not_delivered_within_a_week_of_the_decision_is_overdue_on_the_dashboard(shal, cli):
    """§3.6.1: told within a week of the decision; the week runs until the letter's delivery is recorded."""
    cli("users", "add", "cora", "--name", "Cora", "--role", "compliance_officer")
    alert_id = shal.report("incident", now=T0)
    letter = decide(shal, alert_id, DECIDE)["letters"][0]  # issued on 3 March, at the decision
    assert not_told(cli, "2026-03-10T09:59") == []  # within the week
    rows = not_told(cli, "2026-03-11T10:00")
    assert [(r["alert"], r["decided"], r["deadline"], r["letter"], r["days_late"]) for r in rows] == [
        (alert_id, "2026-03-03", "2026-03-10", "letter issued 3 March 2026, not yet delivered", 1)]

    # recording a delivery before the letter existed, or one not yet made, is refused and saves nothing
    error = cli.fails("letter", "deliver", letter["id"], "--as", "hannah", "--method", "first class post",
                      "--at", "2026-03-02T17:00", now="2026-03-11T10:00")
    assert error == (f"error: delivered_at: letter {letter['id']} ('{letter['title']}') was issued on 3 March 2026 "
                     f"at 10:00, so it cannot have been delivered on 2 March 2026 at 17:00: give the date and time "
                     f"it reached the tenant\n")
    assert "12 March 2026 at 09:00 is in the future" in cli.fails(
        "letter", "deliver", letter["id"], "--as", "hannah", "--method", "first class post",
        "--at", "2026-03-12T09:00", now="2026-03-11T10:00")
    assert shal.alert(alert_id, "hannah")["letters"][0]["delivered_at"] is None
    assert len(not_told(cli, "2026-03-11T10:00")) == 1

    # posted on 4 March: the tenant was told, late or not, and the row goes
    assert "recorded as delivered" in cli("letter", "deliver", letter["id"], "--as", "hannah",
                                          "--method", "first class post", "--at", "2026-03-04T16:00",
                                          now="2026-03-11T10:00")
    assert not_told(cli, "2026-03-11T10:00") == []


def _review_late(shal, alert_id, done):
    assert shal.fire_timers("2027-02-03T10:01") == 1
    review = shal.open_task("hannah", alert_id, "2027-02-03T10:01")
    shal.complete("hannah", review["task"], KEEP, now=done)
    return shal.alert(alert_id, "hannah")


def test_a_review_finished_nine_days_late_does_not_move_the_next_review(shal, cli):
    """§3.4.7: reviewed at least every 12 months: each period counts from when the last review was due."""
    alert_id = shal.report("incident", now=T0)
    decide(shal, alert_id, DECIDE)  # the first review is due on 3 February 2027, 10:00
    alert = _review_late(shal, alert_id, "2027-02-12T10:00")
    assert alert["next_review_at"].startswith("2028-01-03T10:00")
    assert "By 3 January 2028" in alert["letters"][-1]["body"]  # the tenant's letter gives the same date
    assert shal.fire_timers("2028-01-03T09:59") == 0
    assert shal.fire_timers("2028-01-03T10:01") == 1
    # a review done so late that the next one is already due: due at once, not eleven months from now
    review = shal.open_task("hannah", alert_id, "2028-01-03T10:01")
    shal.complete("hannah", review["task"], KEEP, now="2029-03-10T10:00")
    assert shal.alert(alert_id, "hannah")["next_review_at"].startswith("2028-12-03T10:00")
    assert shal.fire_timers("2029-03-10T10:01") == 1


def test_with_review_from_due_date_off_a_late_review_moves_the_next_one(cli, monkeypatch, tmp_path):
    def from_the_day_done(toml):
        toml.write_text(toml.read_text().replace('assessment_process = "shal_assessment"',
                                                 'assessment_process = "shal_assessment"\nreview_from_due_date = false'))
    shal = world_on_copy(cli, monkeypatch, tmp_path, "shal", SHAL_USERS, from_the_day_done)
    alert_id = shal.report("incident", now=T0)
    decide(shal, alert_id, DECIDE)
    assert _review_late(shal, alert_id, "2027-02-12T10:00")["next_review_at"].startswith("2028-01-12T10:00")


UNTOLD = {**DECIDE, "inform_tenant": "no", "non_disclosure_reason": "Would provoke violence against his neighbour"}
TOLD_AT_REVIEW = {**KEEP, "incident_nature": "Threatened the gas engineer with a hammer in March 2026",
                  "why_unacceptable": "Threatening staff with a weapon put the engineer in danger, so visits need two",
                  "shared_with": "Our repairs contractors and the police"}


def _first_review(shal, alert_id):
    """The first review's step, opened when its timer fires (decided on 3 March 2026)."""
    assert shal.fire_timers("2027-02-03T10:01") == 1
    return shal.open_task("hannah", alert_id, "2027-02-03T10:01")


def test_the_review_falls_due_early_enough_to_be_completed_within_twelve_months(shal, cli):
    """§3.4.7: "reviewed at least every 12 months": the review's step is due inside the twelve months."""
    alert_id = shal.report("incident", now=T0)
    alert = decide(shal, alert_id, DECIDE)  # 3 March 2026
    assert alert["next_review_at"].startswith("2027-02-03T10:00")
    assert "Review due: 3 February 2027" in [n["text"] for n in alert["notes"] if n["notebook"] == "VIP Record Sheet"][0]
    assert shal.fire_timers("2027-02-03T09:59") == 0
    review = _first_review(shal, alert_id)
    assert review["due"] <= "2027-03-03"  # done within twelve months of the decision
    shal.complete("hannah", review["task"], TOLD_AT_REVIEW, now="2027-02-10T10:00")
    assert shal.alert(alert_id, "hannah")["next_review_at"].startswith("2028-01-03T10:00")


def test_a_review_that_keeps_the_marker_untold_writes_the_file_note_of_the_reason(shal, cli):
    """§3.6.3: not telling the tenant is confirmed by a file note, at a review as at the decision."""
    alert_id = shal.report("incident", customer="C2", now=T0)
    decide(shal, alert_id, UNTOLD)
    review = _first_review(shal, alert_id)
    shal.complete("hannah", review["task"], {**KEEP, "inform_tenant": "no",
                                             "non_disclosure_reason": "Neighbour still at risk of reprisal"},
                  now="2027-02-10T10:00")
    alert = shal.alert(alert_id, "hannah")
    assert alert["letters"] == []
    assert "Neighbour still at risk of reprisal" in [n["text"] for n in alert["notes"] if n["notebook"] == "File notes"]


def test_a_tenant_first_told_at_a_review_gets_every_item_of_the_letter_with_the_case_reasons(shal, cli):
    """§3.6.2: why the behaviour was unacceptable and how it led to the marker, and items (a)-(e)."""
    alert_id = shal.report("incident", customer="C2", now=T0)
    decide(shal, alert_id, UNTOLD)
    review = _first_review(shal, alert_id)
    for item in ("incident_nature", "why_unacceptable", "shared_with"):
        assert item in shal.refuse("hannah", review["task"], {k: v for k, v in TOLD_AT_REVIEW.items() if k != item},
                                   now="2027-02-10T10:00")
    shal.complete("hannah", review["task"], TOLD_AT_REVIEW, now="2027-02-10T10:00")
    letter = shal.alert(alert_id, "hannah")["letters"][-1]
    assert letter["template"] == "vip_marker_kept"
    for item in ("Threatened the gas engineer with a hammer in March 2026",  # (a)
                 "Threatening staff with a weapon put the engineer in danger, so visits need two",  # why, how
                 "Your records will show a VIP marker", '"Visit in pairs"',  # (b), (c)
                 "Our repairs contractors and the police", "By 3 January 2028",  # (d), (e)
                 "Further threats in the autumn"):
        assert item in letter["body"]
    assert "Housing Manager, SHAL Housing" in cli("letter", "show", letter["id"], "--as", "hannah")
    assert "puts the safety of our staff at risk" not in letter["body"]  # no boilerplate in place of reasons


def test_the_decision_letter_gives_the_case_reasons_why_the_behaviour_was_unacceptable(shal, cli):
    alert_id = shal.report("incident", now=T0)
    task = shal.open_task("hannah", alert_id, T0)
    assert "why_unacceptable" in shal.refuse("hannah", task["task"],
                                             {k: v for k, v in DECIDE.items() if k != "why_unacceptable"})
    body = decide(shal, alert_id, DECIDE)["letters"][0]["body"]
    assert DECIDE["why_unacceptable"] in body and "puts the safety of our staff at risk" not in body


def test_a_subject_access_request_never_says_a_marker_is_there_when_none_is(shal, cli):
    """§3.6.4: SHAL discloses that a VIP marker is in place, and only when one is."""
    never = shal.report("concern", customer="C3", now=T0)
    decide(shal, never, {k: v for k, v in DECIDE.items() if k not in (
        "marker_text", "shared_with", "inform_tenant", "why_unacceptable")} | {"place_marker": "no",
                                                                             "file_note": "A general opinion only"})
    cli("request", never, "--as", "sam", "--kind", "subject_access", "--details", "All my records",
        now="2026-04-01T10:00")
    assert not shal.tasks_for("hannah", never, "2026-04-01T10:00")
    letter = shal.alert(never, "hannah")["letters"][-1]
    assert letter["template"] == "sar_no_marker"
    assert "does not carry a Visit in Pairs (VIP) marker" in letter["body"]
    for wrong in ("carries a Visit in Pairs", 'reads:\n    ""', "reviewed by ."):
        assert wrong not in letter["body"]

    removed = shal.report("incident", customer="C1", now=T0)
    decide(shal, removed, DECIDE)
    review = _first_review(shal, removed)
    shal.complete("hannah", review["task"], {"staff_consulted": "The gas engineer", "review_outcome": "remove",
                                             "review_reason": "No incident for a year"}, now="2027-02-10T10:00")
    cli("request", removed, "--as", "sam", "--kind", "subject_access", "--details", "All my records",
        now="2027-03-01T10:00")
    letter = shal.alert(removed, "hannah")["letters"][-1]
    assert letter["template"] == "sar_no_marker" and "carries a Visit in Pairs" not in letter["body"]

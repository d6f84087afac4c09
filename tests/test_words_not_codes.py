"""People read words, not codes (issue 18): through the command line, a Derby case's story, its
letter, the form's hints and refusals read the labels the BPMN and the pack give, dates in
words on a UK clock, and the `--json` output keeps the codes next to the labels."""
import json

from tests.helpers import MARKER, record_on_red_triangle
from tests.packs.small_pack import small_world

T0 = "2026-06-01T09:00"
DECIDED = "2026-06-02T13:05"  # 14:05 on a UK clock (British Summer Time)


def _partner_info_assessed(derby):
    alert_id = derby.report("partner_info", customer="C2", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    values = {"partner_source": "Derbyshire Police", "complex_needs_consulted": "yes", **MARKER,
              "control_measures": "visit_in_pairs,contact_asb_manager_first",
              "complex_needs_input": "Agrees: unpredictable when unwell"}
    derby.complete("anna", task["task"], values, now=DECIDED)
    return alert_id, task["task"]


def test_the_story_on_the_command_line_reads_the_forms_labels_and_dates_in_words(derby, cli):
    alert_id, _ = _partner_info_assessed(derby)
    shown = cli("alerts", "show", alert_id, "--as", "anna", now=DECIDED)
    assert "Information from partners" in shown and "partner_info" not in shown  # the category's label
    assert "Nature of the risk (§2): Physical harm" in shown and "physical_harm" not in shown
    assert "Control measures: Visit in pairs and Contact the ASB Manager before visiting" in shown
    assert "visit_in_pairs" not in shown
    assert "Support sought from the Complex Needs Manager?: Yes" in shown and "True" not in shown
    assert "(ASB Manager)" in shown and "asb_manager" not in shown  # the deciding role by its name
    assert "2 June 2026 at 14:05" in shown  # an event's moment on a UK clock, in words
    assert "next review 2 December 2026" in shown
    # the machine's output keeps the codes, with the labels beside them
    data = json.loads(cli("alerts", "show", alert_id, "--as", "anna", "--json", now=DECIDED))
    assert data["category"] == "partner_info" and data["category_label"] == "Information from partners"
    assert data["decided_role"] == "asb_manager" and data["decided_role_name"] == "ASB Manager"
    done = next(t for t in data["tasks"] if t["status"] == "completed")
    assert {"question": "Nature of the risk (§2)", "answer": "Physical harm"} in done["answers_in_words"]
    assert data["events"][0]["at"].startswith("2026-06-01T09:00")


def test_the_register_and_the_next_step_on_the_command_line_read_labels_and_dates_in_words(derby, cli):
    alert_id, _ = _partner_info_assessed(derby)
    listed = cli("alerts", "list", "--as", "anna", now=DECIDED)
    line = next(row for row in listed.splitlines() if row.startswith(f"alert {alert_id:>5}"))
    assert "Information from partners" in line and "partner_info" not in line  # the category by its label
    assert "next review 2 December 2026" in line
    reported = cli("report", "--as", "sam", "--customer", "C1", "--category", "rpo", "--description", "Shouted",
                   now=DECIDED)
    assert "for ASB Manager, due" in reported and "asb_manager" not in reported  # the next step's role by its name
    step = derby.open_task("anna", int(reported.split()[1]), DECIDED)["task"]
    cli("task", "claim", step, "--as", "anna", now=DECIDED)
    assert cli("task", "release", step, "--as", "anna", now=DECIDED).strip() == f"task {step} released to the ASB Manager"
    assert cli.json("alerts", "list", "--as", "anna", now=DECIDED)[0]["category"] == "partner_info"  # codes for machines


def test_the_command_line_names_a_markers_status_by_the_label_the_web_shows(derby, cli):
    assessed, _ = _partner_info_assessed(derby)
    waiting = derby.report("rpo", customer="C1", now=DECIDED)  # under assessment until its first step is done
    shown = cli("alerts", "show", waiting, "--as", "anna", now=DECIDED).splitlines()[0]
    assert shown.endswith("  Under assessment"), shown  # markers.status_label, as on the register page
    assert cli("alerts", "show", assessed, "--as", "anna", now=DECIDED).splitlines()[0].endswith("  Active")
    listed = cli("alerts", "list", "--as", "anna", "--status", "under_assessment", now=DECIDED)
    line = next(row for row in listed.splitlines() if row.startswith(f"alert {waiting:>5}"))
    assert "Under assessment" in line and "under" not in line.replace("Under assessment", "")
    assert cli.json("alerts", "show", waiting, "--as", "anna", "--json", now=DECIDED)["status"] == "under_assessment"


def test_a_form_says_in_words_when_a_follow_up_is_needed_and_what_is_missing(derby, cli):
    alert_id = derby.report("partner_info", customer="C2", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    shown = cli("task", "show", task["task"], "--as", "anna", now=T0)
    assert ("complex_needs_input (string, required if you answered Yes to "
            "'Support sought from the Complex Needs Manager?')") in shown
    assert "==" not in shown and "required when" not in shown
    assert "risk_nature (enum, required): Nature of the risk (§2)  one or more of: physical_harm (Physical harm)" in shown
    assert "[ASB Manager]" in shown and "due 11 June 2026" in shown
    error = derby.refuse("anna", task["task"], {"partner_source": "Derbyshire Police",
                                                "complex_needs_consulted": "yes", **MARKER}, now=DECIDED)
    assert ("complex_needs_input: Fill in 'Complex Needs Manager's input': it is needed because you "
            "answered Yes to 'Support sought from the Complex Needs Manager?'") in error


def _offender_marked(derby):
    alert_id = derby.report("rpo", customer="C1", now=T0)
    task = derby.open_task("anna", alert_id, T0)
    derby.complete("anna", task["task"], {"offence_date": "2025-01-01", "offence_nature": "Assault, 2025", "scheduled_offender": "no", **MARKER,
                                          "control_measures": "visit_in_pairs,phone_before_visiting"},
                   now=DECIDED)
    record_on_red_triangle(derby, alert_id, now=DECIDED)
    return alert_id


def test_a_letter_reads_the_review_date_and_its_own_date_in_words(derby, cli):
    alert_id = _offender_marked(derby)
    letter = derby.alert(alert_id)["letters"][0]
    assert "2 December 2026" in letter["body"] and "2026-12-02" not in letter["body"]  # the review date in words
    sent = cli("letter", "show", letter["id"], "--as", "hugo")  # the letter as sent: its date at the top, in words
    assert "Date: 2 June 2026" in sent and "2026-06-02" not in sent


def test_the_appeal_outcome_letter_opens_with_the_outcomes_label(derby, cli):
    alert_id = _offender_marked(derby)
    cli("appeal", alert_id, "--as", "sam", "--grounds", "I have changed", now="2026-06-05T10:00")
    hearing = derby.open_task("helen", alert_id, "2026-06-05T10:00")
    derby.complete("helen", hearing["task"], {"appeal_outcome": "uphold",
                                              "appeal_reasons": "The officer's decision stands"},
                   now="2026-06-10T10:00")
    body = derby.alert(alert_id)["letters"][-1]["body"]
    assert "Uphold the decision: The officer's decision stands" in body  # the option's label from the BPMN
    assert "uphold:" not in body


def test_a_refusal_names_the_roles_by_their_names(derby, cli):
    refused = cli.fails("export", "subject-access", "C1", "--as", "anna")
    assert ("a subject access export is open only to the Compliance Officer or Head of Housing Management "
            "roles") in refused
    assert "compliance_officer" not in refused and "head_of_housing_management" not in refused


def test_a_lint_finding_names_the_element_by_its_name_with_its_id_after(cli, monkeypatch, tmp_path):
    from tests.packs.small_pack import REVIEW
    world = small_world(cli, monkeypatch, tmp_path, {"mo": ["manager"]})
    broken = REVIEW.replace('<bpmn:intermediateCatchEvent id="due">', '<bpmn:intermediateCatchEvent id="due" name="A year">')
    broken = broken.replace(">P1Y<", ">P1Q<")
    path = tmp_path / "small_review_broken.bpmn"
    path.write_text(broken.replace('id="small_review"', 'id="small_review_x"'))
    error = cli.fails("pack", "check", str(path))
    assert "'A year' (due_def)" in error, error
    assert world  # the pack's own diagrams deployed cleanly

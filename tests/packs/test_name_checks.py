"""The lint's cross-checks of names across a pack (workflows/definitions/name_checks.py), each on its
own broken copy of the small pack written for the tests (tests/packs/small_pack.py), through
`alertflow pack check`; and the five seed packs passing them."""
import pytest

from tests.packs.small_pack import ASSESSMENT, LETTER, PACK_TOML, REVIEW, write_small_pack

SEED_PACKS = ("derby", "dover", "karbon", "polha", "shal")


def small(tmp_path, monkeypatch, *, assessment=ASSESSMENT, review=REVIEW, pack_toml=PACK_TOML, letter=LETTER):
    folder = write_small_pack(tmp_path, review=review)
    (folder / "small_assessment.bpmn").write_text(assessment)
    (folder / "pack.toml").write_text(pack_toml)
    (folder / "letters" / "told.txt").write_text(letter)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    return folder


def replaced(text, *pairs):
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("pack", SEED_PACKS)
def test_the_five_seed_packs_pass_the_cross_checks(cli, monkeypatch, pack):
    monkeypatch.setenv("ALERTFLOW_PACK", pack)
    assert "no problems found" in cli("pack", "check")


def test_schedule_review_must_name_a_process_of_the_pack_deploying_or_deployed(cli, monkeypatch, tmp_path):
    folder = small(tmp_path, monkeypatch, assessment=ASSESSMENT.replace(
        '<camunda:property name="process" value="small_review"/>', '<camunda:property name="process" value="small_reveiw"/>'))
    error = cli.fails("pack", "check")
    assert ("small_assessment.bpmn: 'Review' (schedule): schedule_review names the process 'small_reveiw', "
            "which is neither in the pack's diagrams nor deployed (the pack's processes: small_assessment, "
            "small_incident, small_review)") in error, error
    assert "names the process 'small_reveiw'" in cli.fails("pack", "deploy")
    assert cli("pack", "versions") == ""  # nothing deployed
    # a process already deployed counts, though its file is no longer in the pack's folder
    small(tmp_path, monkeypatch)
    cli("pack", "deploy")
    (folder / "small_review.bpmn").unlink()
    (folder / "small_assessment.bpmn").write_text(ASSESSMENT.replace('name="Decide the marker"', 'name="Decide"'))
    cli("users", "add", "olive", "--name", "Olive", "--role", "process_owner")
    assert "deployed small_assessment version 2" in cli("pack", "deploy", "--as", "olive")


def test_requests_must_start_a_process_of_the_pack(cli, monkeypatch, tmp_path):
    small(tmp_path, monkeypatch, pack_toml=PACK_TOML + '\n[requests.copy]\nlabel = "A copy of the assessment"\n'
                                                      'process = "small_copy"\n')
    error = cli.fails("pack", "check")
    line = (f"{tmp_path / 'small' / 'pack.toml'}: [requests.copy]: request 'A copy of the assessment' (copy) starts "
            f"the process 'small_copy', which is neither in the pack's diagrams nor deployed (the pack's processes: "
            f"small_assessment, small_incident, small_review)")
    assert line in error, error
    assert error.count(line) == 1, error  # once, not once per diagram checked


# the assessment with a step only the level-3 path takes: "Explain the level" asks level_explained
GATEWAY = '<bpmn:sequenceFlow id="f3" sourceRef="place" targetRef="schedule"/>'
EXPLAINING = replaced(
    ASSESSMENT,
    ('<bpmn:flowNodeRef>letter</bpmn:flowNodeRef>',
     '<bpmn:flowNodeRef>letter</bpmn:flowNodeRef><bpmn:flowNodeRef>gw_level</bpmn:flowNodeRef>'
     '<bpmn:flowNodeRef>explain</bpmn:flowNodeRef>'),
    (GATEWAY,
     '<bpmn:sequenceFlow id="f3" sourceRef="place" targetRef="gw_level"/>'
     '<bpmn:exclusiveGateway id="gw_level" name="Level 3?" default="f_plain"><bpmn:incoming>f3</bpmn:incoming>'
     '<bpmn:outgoing>f_high</bpmn:outgoing><bpmn:outgoing>f_plain</bpmn:outgoing></bpmn:exclusiveGateway>'
     '<bpmn:userTask id="explain" name="Explain the level"><bpmn:extensionElements><camunda:formData>'
     '<camunda:formField id="level_explained" label="Why level 3" type="string"/></camunda:formData>'
     '</bpmn:extensionElements><bpmn:incoming>f_high</bpmn:incoming><bpmn:outgoing>f_explained</bpmn:outgoing></bpmn:userTask>'
     '<bpmn:sequenceFlow id="f_high" sourceRef="gw_level" targetRef="explain"><bpmn:conditionExpression '
     'xsi:type="bpmn:tFormalExpression">level == \'L3\'</bpmn:conditionExpression></bpmn:sequenceFlow>'
     '<bpmn:sequenceFlow id="f_plain" sourceRef="gw_level" targetRef="schedule"/>'
     '<bpmn:sequenceFlow id="f_explained" sourceRef="explain" targetRef="schedule"/>'),
    ('<bpmn:serviceTask id="schedule" name="Review" camunda:type="external" camunda:topic="schedule_review">'
     '<bpmn:extensionElements><camunda:properties><camunda:property name="process" value="small_review"/>'
     '</camunda:properties></bpmn:extensionElements><bpmn:incoming>f3</bpmn:incoming>',
     '<bpmn:serviceTask id="schedule" name="Review" camunda:type="external" camunda:topic="schedule_review">'
     '<bpmn:extensionElements><camunda:properties><camunda:property name="process" value="small_review"/>'
     '</camunda:properties></bpmn:extensionElements><bpmn:incoming>f_plain</bpmn:incoming>'
     '<bpmn:incoming>f_explained</bpmn:incoming>'))


def test_a_letter_reading_a_field_some_path_does_not_set_is_refused(cli, monkeypatch, tmp_path):
    small(tmp_path, monkeypatch, assessment=EXPLAINING, letter=LETTER + "Why: $level_explained\n")
    error = cli.fails("pack", "check")
    assert ("small_assessment.bpmn: 'Tell them' (letter): issue_letter: template 'told' (The marker on your "
            "record) reads $level_explained, which the path 'start' → 'Decide the marker' (decide) → 'Place' (place) "
            "→ 'Level 3?' (gw_level) → 'Review' (schedule) → 'Tell them' (letter) does not set before it: it is set "
            "only by 'Explain the level' (explain). The fields it may read here: ") in error, error
    assert "customer_name, customer_ref" in error and "contact_rules_labels" in error  # the valid names listed
    # the review issues the same letter and has no such step at all
    assert ("small_review.bpmn: 'Tell them' (letter): issue_letter: template 'told' (The marker on your record) "
            "reads $level_explained, which no step of this process sets and no case starts with") in error, error


def test_a_form_field_with_the_name_of_a_register_fact_is_refused(cli, monkeypatch, tmp_path):
    # the review asks when it was held as `review_date`: the letter's $review_date is the next review's date
    small(tmp_path, monkeypatch, review=REVIEW.replace(
        '<camunda:formField id="review_reason"',
        '<camunda:formField id="review_date" label="Date of the review" type="date"/><camunda:formField id="review_reason"'))
    error = cli.fails("pack", "check")
    assert ("small_review.bpmn: 'Review the marker' (review): form field 'review_date' has the "
            "name of a register fact the case already knows, which every letter reads from the register, not from "
            "this answer: give the answer its own name (e.g. 'review_date_answer'). Names a form may not take: "
            "about_customer_ref, alert_id, alert_reference, ") in error, error
    protected = error.split("may not take: ")[1].strip().split(", ")
    assert "review_date" in protected and "alert_id" in protected
    assert not {"level", "marker_code", "marker_text", "control_measures"} & set(protected)  # answered on purpose


def errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def test_must_differ_must_name_a_field_set_before_the_step(cli, monkeypatch, tmp_path):
    # the first step of the assessment may not differ from the last decider: nobody has decided yet
    small(tmp_path, monkeypatch, assessment=ASSESSMENT.replace(
        '<camunda:property name="decision" value="true"/>',
        '<camunda:property name="decision" value="true"/><camunda:property name="mustDiffer" value="last_decision_by"/>'))
    error = cli.fails("pack", "check")
    assert ("small_assessment.bpmn: 'Decide the marker' (decide): mustDiffer names "
            "'last_decision_by', which the path 'start' → 'Decide the marker' (decide) does not set before it: it is "
            "set only by 'Decide the marker' (decide). The fields set before it on every path: about_customer_ref, "
            "alert_id, ") in error, error
    assert len(errors(error)) == 1, error


def test_assignee_field_must_name_a_field_set_on_every_path_before_the_step(cli, monkeypatch, tmp_path):
    small(tmp_path, monkeypatch, assessment=EXPLAINING.replace(
        '<camunda:property name="mustDiffer" value="reported_by,staff_involved"/>',
        '<camunda:property name="assigneeField" value="level_explained"/>'))
    error = cli.fails("pack", "check")
    assert ("small_assessment.bpmn: 'Deliver the letter' (deliver): assigneeField names "
            "'level_explained', which the path 'start' → 'Decide the marker' (decide) → 'Place' (place) → "
            "'Level 3?' (gw_level) → 'Review' (schedule) → 'Tell them' (letter) → 'Deliver the letter' (deliver) "
            "does not set before it: it is set only by 'Explain the level' (explain). The fields set before it on "
            "every path: about_customer_ref, ") in error, error
    assert len(errors(error)) == 1, error


def test_must_outrank_must_name_a_person_and_role_set_on_every_path_before_the_step(cli, monkeypatch, tmp_path):
    # only the level-3 path records who explained the level; delivery must outrank them
    small(tmp_path, monkeypatch, assessment=EXPLAINING.replace(
        '<camunda:formField id="level_explained" label="Why level 3" type="string"/>',
        '<camunda:formField id="level_explained" label="Why level 3" type="string"/>'
        '<camunda:formField id="explained_by" label="Explained by" type="string"/>'
        '<camunda:formField id="explained_by_role" label="Their role" type="string"/>').replace(
        '<camunda:property name="mustDiffer" value="reported_by,staff_involved"/>',
        '<camunda:property name="mustOutrank" value="explained_by"/>'))
    path = ("the path 'start' → 'Decide the marker' (decide) → 'Place' (place) → 'Level 3?' (gw_level) → "
            "'Review' (schedule) → 'Tell them' (letter) → 'Deliver the letter' (deliver) does not set before it: "
            "it is set only by 'Explain the level' (explain). The fields set before it on every path: "
            "about_customer_ref, alert_id, ")
    for command in (("pack", "check"), ("pack", "deploy")):
        error = cli.fails(*command)
        for field in ("explained_by", "explained_by_role"):  # the person, and the role they acted in
            assert (f"small_assessment.bpmn: 'Deliver the letter' (deliver): mustOutrank names '{field}', "
                    f"which {path}") in error, error
        assert len(errors(error)) == 2, error
    assert cli("pack", "versions") == ""  # nothing deployed


def test_must_outrank_on_a_review_cannot_name_what_only_an_appeal_starts_with(cli, monkeypatch, tmp_path, app):
    from tests.helpers import Browser, PASSWORD, one_hash_per_password
    from tests.processes.conftest import text
    # an appeal's case starts knowing its original decider; a review's never does, so its step would stop
    outranking = REVIEW.replace('<camunda:property name="decision" value="true"/>',
                                '<camunda:property name="decision" value="true"/>'
                                '<camunda:property name="mustOutrank" value="original_decider"/>')
    expected = ("'Review the marker' (review): mustOutrank names 'original_decider', which no step of this process "
                "sets and its cases do not start with (only an appeal's case does). The fields set before it on "
                "every path: about_customer_ref, ")
    folder = small(tmp_path, monkeypatch, review=outranking)
    error = cli.fails("pack", "check")
    assert f"small_review.bpmn: {expected}" in error, error
    assert "mustOutrank names 'original_decider_role', which no step of this process sets" in error, error
    assert len(errors(error)) == 2, error
    # on the web too: the pack deployed as it was, the process owner uploads the change
    (folder / "small_review.bpmn").write_text(REVIEW)
    cli("pack", "deploy")
    cli("users", "add", "olive", "--name", "Olive", "--role", "process_owner")
    from workflows.accounts import credentials
    from workflows.platform.db import transaction
    with one_hash_per_password(), transaction() as db:
        credentials.set_password(db, username="olive", password=PASSWORD, by="test")
    refused = Browser(app, "olive").upload(outranking.encode(), "small_review.bpmn", action="deploy")
    assert refused.status_code == 422 and expected in text(refused), text(refused)
    assert "small_review v2" not in cli("pack", "versions")


def test_a_note_template_reading_a_field_some_path_does_not_set_is_refused(cli, monkeypatch, tmp_path):
    # a line on the record sheet, filed before the letter, reads why the level is 3
    noting = replaced(
        EXPLAINING,
        ('<bpmn:flowNodeRef>letter</bpmn:flowNodeRef>', '<bpmn:flowNodeRef>letter</bpmn:flowNodeRef>'
                                                        '<bpmn:flowNodeRef>sheet</bpmn:flowNodeRef>'),
        ('<bpmn:sequenceFlow id="f4" sourceRef="schedule" targetRef="letter"/>',
         '<bpmn:sequenceFlow id="f4" sourceRef="schedule" targetRef="sheet"/>'
         '<bpmn:serviceTask id="sheet" name="Record sheet" camunda:type="external" camunda:topic="add_templated_note">'
         '<bpmn:extensionElements><camunda:properties><camunda:property name="notebook" value="Record sheet"/>'
         '<camunda:property name="template" value="sheet"/></camunda:properties></bpmn:extensionElements>'
         '<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f4b</bpmn:outgoing></bpmn:serviceTask>'
         '<bpmn:sequenceFlow id="f4b" sourceRef="sheet" targetRef="letter"/>'),
        ('<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>',
         '<bpmn:incoming>f4b</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>'))
    folder = small(tmp_path, monkeypatch, assessment=noting, pack_toml=PACK_TOML + (
        '\n[letters.sheet]\ntitle = "Record sheet line"\nfile = "letters/sheet.txt"\n'))
    (folder / "letters" / "sheet.txt").write_text("Marker placed: $marker_text.\nWhy level 3: $level_explained\n")
    error = cli.fails("pack", "check")
    assert ("small_assessment.bpmn: 'Record sheet' (sheet): add_templated_note: template 'sheet' (Record sheet "
            "line) reads $level_explained, which the path 'start' → 'Decide the marker' (decide) → 'Place' (place) "
            "→ 'Level 3?' (gw_level) → 'Review' (schedule) → 'Record sheet' (sheet) does not set before it: it is "
            "set only by 'Explain the level' (explain). The fields it may read here: ") in error, error
    assert "customer_name, customer_ref" in error and "(letters/sheet.txt line 2)" in error, error
    assert len(errors(error)) == 1, error
    assert "reads $level_explained" in cli.fails("pack", "deploy") and cli("pack", "versions") == ""


def test_a_timer_duration_that_is_not_iso_8601_is_refused_with_its_iso_form(cli, monkeypatch, tmp_path):
    small(tmp_path, monkeypatch, review=REVIEW.replace(">P1Y<", ">12 months<"))
    error = cli.fails("pack", "check")
    assert "small_review.bpmn: due_def: timeDuration: '12 months' is not an ISO 8601 duration: write P12M" in error, error
    assert len(errors(error)) == 1, error


def test_a_due_in_that_is_not_iso_8601_is_refused_with_its_iso_form(cli, monkeypatch, tmp_path):
    small(tmp_path, monkeypatch,
          assessment=ASSESSMENT.replace('<camunda:property name="mustDiffer" value="reported_by,staff_involved"/>',
                                        '<camunda:property name="dueIn" value="p5d"/>'))
    error = cli.fails("pack", "check")
    assert ("small_assessment.bpmn: 'Deliver the letter' (deliver): dueIn: 'p5d' is not an "
            "ISO 8601 duration: write P5D") in error, error
    assert len(errors(error)) == 1, error


def test_a_pack_toml_duration_that_is_not_iso_8601_is_refused_with_its_iso_form(cli, monkeypatch, tmp_path):
    small(tmp_path, monkeypatch, pack_toml=PACK_TOML.replace('tell_tenant_within = "P14D"', 'tell_tenant_within = "14d"'))
    error = cli.fails("pack", "check")
    line = (f"{tmp_path / 'small' / 'pack.toml'}: [registers] tell_tenant_within: "
            f"'14d' is not an ISO 8601 duration: write P14D")
    assert line in error, error
    assert errors(error) == [f"error: {line}"], error  # once, not once per diagram checked


def test_a_duration_no_parser_reads_is_refused_when_the_pack_loads_with_the_form_to_write(cli, monkeypatch, tmp_path):
    small(tmp_path, monkeypatch, pack_toml=PACK_TOML.replace('tell_tenant_within = "P14D"',
                                                             'tell_tenant_within = "fourteen days"'))
    assert "tell_tenant_within: 'fourteen days' is not an ISO 8601 duration: write P14D" in cli.fails("pack", "check")

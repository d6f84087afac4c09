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


def test_people_fields_must_be_set_before_the_step_on_every_path(cli, monkeypatch, tmp_path):
    # the first step of the assessment may not differ from the last decider: nobody has decided yet
    small(tmp_path, monkeypatch, assessment=EXPLAINING.replace(
        '<camunda:property name="decision" value="true"/>',
        '<camunda:property name="decision" value="true"/><camunda:property name="mustDiffer" value="last_decision_by"/>'
    ).replace('<camunda:property name="mustDiffer" value="reported_by,staff_involved"/>',
              '<camunda:property name="assigneeField" value="level_explained"/>'))
    error = cli.fails("pack", "check")
    assert ("small_assessment.bpmn: 'Decide the marker' (decide): mustDiffer names "
            "'last_decision_by', which the path 'start' → 'Decide the marker' (decide) does not set before it: it is "
            "set only by 'Decide the marker' (decide). The fields set before it on every path: about_customer_ref, "
            "alert_id, ") in error, error
    assert ("small_assessment.bpmn: 'Deliver the letter' (deliver): assigneeField names "
            "'level_explained', which the path 'start' → 'Decide the marker' (decide) → 'Place' (place) → "
            "'Level 3?' (gw_level) → 'Review' (schedule) → 'Tell them' (letter) → 'Deliver the letter' (deliver) "
            "does not set before it: it is set only by 'Explain the level' (explain)") in error, error


def test_durations_that_are_not_iso_8601_are_refused_with_their_iso_form(cli, monkeypatch, tmp_path):
    small(tmp_path, monkeypatch,
          review=REVIEW.replace(">P1Y<", ">12 months<"),
          assessment=ASSESSMENT.replace('<camunda:property name="mustDiffer" value="reported_by,staff_involved"/>',
                                        '<camunda:property name="dueIn" value="p5d"/>'),
          pack_toml=PACK_TOML.replace('tell_tenant_within = "P14D"', 'tell_tenant_within = "14d"'))
    error = cli.fails("pack", "check")
    assert "small_review.bpmn: due_def: timeDuration: '12 months' is not an ISO 8601 duration: write P12M" in error, error
    assert ("small_assessment.bpmn: 'Deliver the letter' (deliver): dueIn: 'p5d' is not an "
            "ISO 8601 duration: write P5D") in error, error
    assert (f"{tmp_path / 'small' / 'pack.toml'}: [registers] tell_tenant_within: "
            f"'14d' is not an ISO 8601 duration: write P14D") in error, error
    # what no parser reads at all is refused when the pack loads, with the form to write
    small(tmp_path / "again", monkeypatch, pack_toml=PACK_TOML.replace('tell_tenant_within = "P14D"',
                                                             'tell_tenant_within = "fourteen days"'))
    assert "tell_tenant_within: 'fourteen days' is not an ISO 8601 duration: write P14D" in cli.fails("pack", "check")

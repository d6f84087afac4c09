"""Diagrams are checked when they are loaded, never when a tenant's case reaches them, and a
policy change is a BPMN edit deployed as a new version."""
import pytest

from tests.helpers import edit, place_near_miss_marker

CONDITION = "category == 'rpo'"


@pytest.mark.parametrize("expression, message", [
    ("__import__('os').system('id')", "attribute access '.system' is not allowed"),
    ("__import__('os')", "the function '__import__' is not allowed"),
    ("().__class__.__base__.__subclasses__()", "attribute access '.__subclasses__' is not allowed"),
    ("category.upper() == 'RPO'", "attribute access '.upper' is not allowed"),
    ("category == 'rpo' and", "syntax error"),
    ("catgory == 'rpo'", "reads catgory, which no form field or case variable provides"),
    ("[x for x in 'abc']", "ListComp is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("2 ** 1000000", "the power operator is not allowed"),
])
def test_unsafe_or_broken_condition_is_refused_naming_file_and_element(cli, pack_dir, expression, message):
    edit(pack_dir / "derby_assessment.bpmn", CONDITION, expression.replace("&", "&amp;").replace("<", "&lt;"))
    error = cli.fails("pack", "deploy")
    assert "derby_assessment.bpmn: 'RPO / offender' (f_rpo):" in error and message in error
    assert "deployed" not in cli.fails("pack", "deploy")
    assert cli("pack", "versions") == ""  # nothing half-deployed, not even the other files


def test_lane_that_names_no_role_is_refused(cli, pack_dir):
    edit(pack_dir / "derby_review.bpmn", 'name="Complex Needs Manager"', 'name="Complex Needs Team"')
    error = cli.fails("pack", "check")
    assert ("derby_review.bpmn: 'Complex Needs Team' (Lane_2): lane 'Complex Needs Team' names no role of the "
            "Derby Homes pack") in error


def test_duration_that_does_not_parse_is_refused(cli, pack_dir):
    edit(pack_dir / "derby_review.bpmn", ">P6M<", ">P6Q<")
    assert "derby_review.bpmn: 'Six months' (due_def): timeDuration: 'P6Q' is not an ISO 8601 duration" in cli.fails("pack", "check")
    edit(pack_dir / "derby_review.bpmn", ">P6Q<", ">P6M<")
    edit(pack_dir / "derby_review.bpmn", 'name="dueIn" value="P14D"', 'name="dueIn" value="two weeks"')
    assert "'Review the marker' (review_asb): dueIn: 'two weeks' is not an ISO 8601 duration" in cli.fails("pack", "check")


def test_unknown_action_template_and_script_tasks_are_refused(cli, pack_dir):
    path = pack_dir / "derby_assessment.bpmn"
    edit(path, 'camunda:topic="place_marker"', 'camunda:topic="delete_everything"')
    edit(path, 'value="marker_placed"', 'value="no_such_letter"')
    edit(path, "</bpmn:process>", '<bpmn:scriptTask id="script_1" name="Run Python"><bpmn:script>import os</bpmn:script>'
                                  '</bpmn:scriptTask></bpmn:process>')
    error = cli.fails("pack", "check")
    assert "'Run Python' (script_1): script tasks are not run; use a service task naming an action" in error
    assert "'Marker on the register' (place_marker): unknown action 'delete_everything'" in error
    assert "'Letter to the tenant' (letter): unknown letter template 'no_such_letter'" in error


def test_xml_that_does_not_parse_names_the_file(cli, pack_dir):
    edit(pack_dir / "derby_appeal.bpmn", "</bpmn:process>", "</bpmn:proces>")
    error = cli.fails("pack", "check")
    assert "derby_appeal.bpmn: (document): the XML does not parse" in error


def test_xxe_and_billion_laughs_are_refused_without_reading_anything(cli, pack_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
           '<bpmn:process id="p" name="&x;" isExecutable="true"/></bpmn:definitions>')
    laughs = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
              '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
              '<bpmn:process id="p" name="&d;" isExecutable="true"/></bpmn:definitions>')
    for name, content in (("xxe.bpmn", xxe), ("laughs.bpmn", laughs)):
        (pack_dir / name).write_text(content)
        error = cli.fails("pack", "check", str(pack_dir / name))
        assert f"{name}: (document): the file declares a DTD" in error
        assert "TOP-SECRET" not in error and "lollol" not in error
        (pack_dir / name).unlink()


def test_bare_camunda_durations_are_accepted(cli, pack_dir):
    text = (pack_dir / "derby_review.bpmn").read_text()
    assert ">P6M<" in text  # written bare, as Camunda Modeler writes it
    assert "no problems found" in cli("pack", "check")


def test_changing_the_review_period_is_a_bpmn_edit_new_cases_use_it_running_cases_keep_theirs(derby, cli, pack_dir):
    old = place_near_miss_marker(derby, "C1", "2026-01-10T09:00")
    edit(pack_dir / "derby_review.bpmn", ">P6M<", ">P3M<")
    cli("users", "add", "paula", "--name", "Paula", "--role", "process_owner")
    out = cli("pack", "deploy", "--as", "paula")
    assert "deployed derby_review version 2 from derby_review.bpmn" in out
    assert "changed 'due' timer: timeDuration P6M -> timeDuration P3M" in out  # what changed, shown
    assert "every process is already deployed" in cli("pack", "deploy", "--as", "paula")
    new = place_near_miss_marker(derby, "C2", "2026-01-10T09:00")

    assert derby.alert(old)["next_review_at"].startswith("2026-07-10")
    assert derby.alert(new)["next_review_at"].startswith("2026-04-10")
    versions = cli("pack", "versions")
    assert "derby_review v1" in versions and "by paula" in versions and "derby_review v2" in versions


def test_exclusive_gateway_without_default_flow_is_refused(cli, pack_dir):
    edit(pack_dir / "derby_review.bpmn", ' default="f_keep"', "")
    edit(pack_dir / "derby_review.bpmn", '<bpmn:sequenceFlow id="f_keep" name="Keep" sourceRef="gw_outcome" targetRef="keep"/>',
         '<bpmn:sequenceFlow id="f_keep" name="Keep" sourceRef="gw_outcome" targetRef="keep">'
         '<bpmn:conditionExpression>review_outcome != \'remove\'</bpmn:conditionExpression></bpmn:sequenceFlow>')
    error = cli.fails("pack", "check")
    assert "'Outcome?' (gw_outcome): exclusive gateway with 2 outgoing flows has no default flow" in error


def test_unreachable_element_is_refused(cli, pack_dir):
    edit(pack_dir / "derby_assessment.bpmn", "</bpmn:process>",
         '<bpmn:userTask id="orphan" name="Forgotten step"/></bpmn:process>')
    assert "'Forgotten step' (orphan): unreachable: no path from a start event leads here" in cli.fails("pack", "check")


def test_a_path_that_places_a_marker_without_telling_or_recording_why_not_is_refused(cli, pack_dir):
    edit(pack_dir / "derby_assessment.bpmn", 'sourceRef="schedule_review" targetRef="gw_inform"',
         'sourceRef="schedule_review" targetRef="told"')
    error = cli.fails("pack", "check")
    assert "'Marker on the register' (place_marker): a path from here reaches 'end_marker' without telling the tenant" in error


def test_a_path_that_leaves_a_marker_with_no_review_ahead_is_refused(cli, pack_dir):
    edit(pack_dir / "derby_review.bpmn", 'sourceRef="keep" targetRef="schedule_next"',
         'sourceRef="keep" targetRef="gw_inform"')
    error = cli.fails("pack", "check")
    assert "'Keep the marker, reason documented' (keep): a path from here reaches 'end_kept' leaving the marker in place with no review ahead" in error


def test_an_appeal_task_not_marked_must_outrank_is_refused(cli, pack_dir):
    edit(pack_dir / "derby_appeal.bpmn", '<camunda:property name="mustOutrank" value="original_decider"/>', "")
    error = cli.fails("pack", "check")
    assert "'Hear the appeal' (hear_appeal): an appeal must be heard by someone more senior" in error


def test_versions_are_compared_and_waiting_cases_migrated_with_a_dry_run_first(derby, cli, pack_dir):
    from tests.helpers import KEEP

    cli("users", "add", "paula", "--name", "Paula", "--role", "process_owner")
    waiting_on_timer = place_near_miss_marker(derby, "C1", "2026-01-10T09:00")
    waiting_on_review = place_near_miss_marker(derby, "C2", "2025-06-01T09:00")
    assert derby.fire_timers("2026-01-10T10:00") == 1  # C2's review is now with the Head of Service

    edit(pack_dir / "derby_review.bpmn", ">P6M<", ">P3M<")
    cli("pack", "deploy", "--as", "paula")
    changes = cli("pack", "diff", "derby_review", 1, 2)
    assert "changed 'due' timer: timeDuration P6M -> timeDuration P3M" in changes

    assert "not a process owner" in cli.fails("pack", "migrate", "derby_review", "--as", "helen", "--dry-run")
    plan = cli("pack", "migrate", "derby_review", "--as", "paula", "--dry-run")
    assert plan.count("can move") == 2
    assert derby.alert(waiting_on_timer)["next_review_at"].startswith("2026-07-10")  # a dry run changes nothing

    # version 3 renames the Head of Service's review step: a case waiting there cannot move to it
    edit(pack_dir / "derby_review.bpmn", "review_head_of_service", "review_by_head_of_service")
    text = (pack_dir / "derby_review.bpmn").read_text().replace("review_head_of_service", "review_by_head_of_service")
    (pack_dir / "derby_review.bpmn").write_text(text)
    cli("pack", "deploy", "--as", "paula")
    assert "added userTask 'review_by_head_of_service'" in cli("pack", "diff", "derby_review", 2, 3)
    result = cli("pack", "migrate", "derby_review", "--to", 3, "--as", "paula", now="2026-01-11T09:00")
    lines = {line.split(" (")[0]: line for line in result.splitlines()}
    review_case = [c for c in derby.alert(waiting_on_review)["cases"] if c["kind"] == "review"][0]["case"]
    assert "cannot move: its waiting step 'review_head_of_service' is not in version 3" in lines[f"case {review_case}"]
    timer_case = [c for c in derby.alert(waiting_on_timer)["cases"] if c["kind"] == "review"][0]["case"]
    assert "moved" in lines[f"case {timer_case}"]

    # the moved case keeps its start and follows the new duration: decided 10 January, due 10 April
    alert = derby.alert(waiting_on_timer)
    assert alert["next_review_at"].startswith("2026-04-10T09:00")
    assert [c for c in alert["cases"] if c["kind"] == "review"][0]["next_timer_at"].startswith("2026-04-10T09:00")
    assert [c["version"] for c in alert["cases"] if c["kind"] == "review"] == [3]
    assert any(e["action"] == "case_migrated" and e["actor"] == "paula" for e in alert["events"])
    assert derby.fire_timers("2026-04-10T09:01") == 1
    review = derby.open_task("helen", waiting_on_timer, "2026-04-10T09:01")
    derby.complete("helen", review["task"], KEEP, now="2026-04-11T09:00")
    # its next review follows the new version too: three months from when this one fell due
    assert derby.alert(waiting_on_timer)["next_review_at"].startswith("2026-07-10T09:00")


def test_an_id_used_twice_is_refused(cli, pack_dir):
    edit(pack_dir / "derby_review.bpmn", '<bpmn:sequenceFlow id="f_remove"', '<bpmn:sequenceFlow id="f_keep"')
    assert "f_keep: the id 'f_keep' is used by 2 elements" in cli.fails("pack", "check")


@pytest.mark.parametrize("expression, message", [
    ("b'x' * 500000000", "the constant b'x' is not allowed"),
    ("'x' * 1000000000000", "repeating text or lists with * is not allowed"),
    ("not " * 450 + "True", "nested more than 40 levels deep"),
    ("-" * 1900 + "1", "nested more than 40 levels deep"),
    ("lower('P6M') * 1000000000000", "repeating text or lists with * is not allowed"),
    ("-'P6M'", "cannot be evaluated"),
])
def test_timer_that_would_exhaust_memory_or_fail_when_reached_is_refused_at_check(cli, pack_dir, expression, message):
    edit(pack_dir / "derby_review.bpmn", ">P6M</bpmn:timeDuration>", f">{expression}</bpmn:timeDuration>")
    error = cli.fails("pack", "check")
    assert "derby_review.bpmn: 'Six months' (due_def): timer: " in error and message in error
    assert "Traceback" not in error


@pytest.mark.parametrize("expression", ["not " * 450 + "True", "-" * 1900 + "1 == 1", "lower('a') * 99 == 'a'"])
def test_condition_that_would_crash_when_reached_is_refused_at_deploy(cli, pack_dir, expression):
    edit(pack_dir / "derby_assessment.bpmn", CONDITION, expression.replace("'", "&apos;"))
    error = cli.fails("pack", "deploy")
    assert "derby_assessment.bpmn: 'RPO / offender' (f_rpo): condition: " in error and "Traceback" not in error
    assert cli("pack", "versions") == ""


MULTI = ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="{collection}">'
         '<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>'
         '<bpmn:completionCondition>{condition}</bpmn:completionCondition>'
         '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')


@pytest.mark.parametrize("cardinality, condition, collection, message", [
    ("b'x' * 500000000", "True", "answers", "loopCardinality: the constant b'x' is not allowed"),
    ("999999999", "True", "answers", "loopCardinality '999999999' must be a whole number from 0 to 100"),
    ("lenght(answers)", "True", "answers", "loopCardinality: the function 'lenght' is not allowed"),
    ("3", "not " * 450 + "True", "answers", "completionCondition: the expression is nested more than 40"),
    ("3", "missing_name", "answers", "completionCondition 'missing_name' reads missing_name"),
    ("3", "True", "nowhere", "camunda:collection names 'nowhere', which no form field or case variable"),
])
def test_multi_instance_expressions_are_checked_at_deploy(cli, pack_dir, cardinality, condition, collection, message):
    path = pack_dir / "derby_assessment.bpmn"
    text = path.read_text()
    start = text.index('<bpmn:userTask id="assess_offender"')
    end = text.index("</bpmn:userTask>", start)
    # answers: a name the diagram provides, so only the element under test is at fault
    path.write_text(text[:end] + MULTI.format(cardinality=cardinality, condition=condition,
                                              collection=collection).replace("answers", "evidence")
                    + text[end + len("</bpmn:userTask>"):])
    error = cli.fails("pack", "check")
    assert f"derby_assessment.bpmn: 'Assess risk from offending (§5.1)' (assess_offender): {message}" in error, error
    assert "Traceback" not in error

"""A multi-instance step whose loopCardinality is an expression over case data is bounded when
the case reaches it, as a constant one is at deploy: a count over the limit, or not a whole
number, stops the step with a message naming it, and nothing of the step is saved."""
import pytest

from tests.packs.small_pack import ASSESSMENT, write_small_pack
from tests.packs.world import PackWorld

# before the decision, the manager says how many partners to consult; one step per partner follows
ASK = ('<bpmn:userTask id="count" name="How many partners"><bpmn:extensionElements><camunda:formData>'
       '<camunda:formField id="partners" label="Partners to consult" type="long"><camunda:validation>'
       '<camunda:constraint name="required"/></camunda:validation></camunda:formField></camunda:formData>'
       '</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>m1</bpmn:outgoing></bpmn:userTask>\n'
       '<bpmn:userTask id="consult" name="Consult a partner"><bpmn:extensionElements><camunda:formData>'
       '<camunda:formField id="partner_view" label="What the partner said" type="string"/></camunda:formData>'
       '</bpmn:extensionElements><bpmn:incoming>m1</bpmn:incoming><bpmn:outgoing>m2</bpmn:outgoing>'
       '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>'
       '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>\n'
       '<bpmn:sequenceFlow id="m1" sourceRef="count" targetRef="consult"/>'
       '<bpmn:sequenceFlow id="m2" sourceRef="consult" targetRef="decide"/>\n')


def assessment_with(cardinality: str) -> str:
    text = ASSESSMENT.replace('<bpmn:flowNodeRef>decide</bpmn:flowNodeRef>',
                              '<bpmn:flowNodeRef>count</bpmn:flowNodeRef><bpmn:flowNodeRef>consult</bpmn:flowNodeRef>'
                              '<bpmn:flowNodeRef>decide</bpmn:flowNodeRef>', 1)
    text = text.replace('<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>',
                        '<bpmn:incoming>m2</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>', 1)
    text = text.replace('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>',
                        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count"/>' + ASK.format(cardinality=cardinality), 1)
    assert text.count("consult") > 3
    return text


@pytest.fixture
def world(cli, monkeypatch, tmp_path):
    def on(cardinality):
        write_small_pack(tmp_path, assessment=assessment_with(cardinality))
        monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
        monkeypatch.setenv("ALERTFLOW_PACK", "small")
        return PackWorld(cli, {"sam": ["staff"], "mia": ["manager"]})
    return on


@pytest.mark.parametrize("partners, cardinality, problem", [
    (101, "partners", "its loopCardinality 'partners' gave 101, but a step runs from 0 to 100 times"),
    (5000000, "partners * 1000", "its loopCardinality 'partners * 1000' gave 5000000000, but a step runs from 0 to 100 times"),
    (3, "partners / 2", "its loopCardinality 'partners / 2' gave 1.5, which is not a whole number"),
])
def test_a_count_from_case_data_beyond_the_limit_stops_the_step_and_saves_nothing(world, partners, cardinality, problem):
    small = world(cardinality)
    alert = small.report("concern")
    task = small.open_task("mia", alert)
    error = small.refuse("mia", task["task"], {"partners": partners})
    assert "the multi-instance step 'Consult a partner'" in error and problem in error, error
    assert "Traceback" not in error
    # nothing of the refused step was saved: it is still open, with no answer and no consult step
    assert small.open_task("mia", alert) == task
    assert not [e for e in small.alert(alert, "dpo")["events"] if e["action"] == "task_completed"]


def test_a_count_from_case_data_within_the_limit_makes_one_step_per_instance(world):
    small = world("partners")
    alert = small.report("concern")
    small.complete("mia", small.open_task("mia", alert)["task"], {"partners": 2})
    assert [t["title"] for t in small.tasks_for("mia", alert)] == ["Consult a partner"] * 2

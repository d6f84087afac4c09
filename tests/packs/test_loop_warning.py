"""The deploy check warns (and still deploys) when a diagram loops back to a step within one case:
a case that runs round and round is better a continuation (end it; schedule the next case)."""
from tests.packs.small_pack import REVIEW, write_small_pack

LOOP = REVIEW.replace(
    '<bpmn:sequenceFlow id="r4" sourceRef="review" targetRef="keep"/>',
    '<bpmn:sequenceFlow id="r4" sourceRef="review" targetRef="gw_more"/>'
    '<bpmn:exclusiveGateway id="gw_more" default="r4b"><bpmn:incoming>r4</bpmn:incoming><bpmn:outgoing>r4b</bpmn:outgoing>'
    '<bpmn:outgoing>r_more</bpmn:outgoing></bpmn:exclusiveGateway>'
    '<bpmn:sequenceFlow id="r4b" sourceRef="gw_more" targetRef="keep"/>'
    '<bpmn:sequenceFlow id="r_more" sourceRef="gw_more" targetRef="gather"><bpmn:conditionExpression '
    'xsi:type="bpmn:tFormalExpression">review_reason == "more"</bpmn:conditionExpression></bpmn:sequenceFlow>'
    '<bpmn:userTask id="gather" name="Gather more information"><bpmn:incoming>r_more</bpmn:incoming>'
    '<bpmn:outgoing>r_back</bpmn:outgoing></bpmn:userTask>'
    '<bpmn:sequenceFlow id="r_back" sourceRef="gather" targetRef="review"/>').replace(
    '<bpmn:flowNodeRef>review</bpmn:flowNodeRef>',
    '<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>gw_more</bpmn:flowNodeRef><bpmn:flowNodeRef>gather</bpmn:flowNodeRef>')


def test_a_loop_of_user_tasks_within_one_case_is_warned_of_but_deploys(cli, monkeypatch, tmp_path):
    folder = write_small_pack(tmp_path, review=LOOP)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    result = cli._run(["pack", "check", str(folder / "small_review.bpmn")], None)
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.stdout
    assert "warning: " in result.stderr and "'Review the marker' (review): a path from here leads back to it " \
           "(with 'Gather more information') within one case" in result.stderr
    assert "use a review-style continuation instead: end the case and start the next one" in result.stderr
    # it deploys all the same
    assert "deployed small_review version 1" in cli("pack", "deploy")


def test_the_small_pack_without_a_loop_has_no_warning(cli, monkeypatch, tmp_path):
    write_small_pack(tmp_path)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    result = cli._run(["pack", "check"], None)
    assert result.exit_code == 0 and "warning" not in result.output, result.output

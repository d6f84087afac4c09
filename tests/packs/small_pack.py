"""A small pack written for the tests: one assessment, one review and a process for linked
incidents, to prove generic features (marker fields, validWhen, mustDiffer on several fields,
read_register, the review lint, linked incidents moving the review) away from the landlords' seeds."""
from pathlib import Path

from tests.packs.world import PackWorld

PACK_TOML = """
[pack]
name = "Small Test Housing"
assessment_process = "small_assessment"
incident_process = "small_incident"

[roles.staff]
name = "Staff"
rank = 1
[roles.manager]
name = "Manager"
rank = 3
[roles.process_owner]
name = "Process Owner"
rank = 0
[roles.compliance_officer]
name = "Compliance Officer"
rank = 0
[roles.admin]
name = "Administrator"
rank = 0

[marker_fields]
contact_rules = "How to contact them"

[categories.concern]
label = "A concern"

[registers]
tell_tenant_within = "P14D"

[letters.told]
title = "The marker on your record"
file = "letters/told.txt"
"""

LETTER = """Dear $customer_name,
Staff will: $marker_text (level $level).
How we will contact you: $contact_rules_labels.
Next review by $review_date.
"""

HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_{id}" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="{id}" name="{id}" isExecutable="true">
"""
TAIL = "\n</bpmn:process>\n</bpmn:definitions>\n"

LEVELS = '<camunda:value id="L1" name="Level 1"/><camunda:value id="L2" name="Level 2"/><camunda:value id="L3" name="Level 3"/>'
RULES = ('<camunda:formField id="contact_rules" label="How we contact them" type="enum"><camunda:properties>'
         '<camunda:property id="multiple" value="true"/></camunda:properties><camunda:validation>'
         '<camunda:constraint name="required"/></camunda:validation><camunda:value id="any" name="Any way"/>'
         '<camunda:value id="letters_only" name="Letters only"/><camunda:value id="by_appointment" name="By appointment"/>'
         '</camunda:formField>')

ASSESSMENT = HEAD.format(id="small_assessment") + f"""<bpmn:laneSet id="ls"><bpmn:lane id="l_manager" name="Manager"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>decide</bpmn:flowNodeRef><bpmn:flowNodeRef>place</bpmn:flowNodeRef><bpmn:flowNodeRef>schedule</bpmn:flowNodeRef><bpmn:flowNodeRef>letter</bpmn:flowNodeRef></bpmn:lane>
<bpmn:lane id="l_staff" name="Staff"><bpmn:flowNodeRef>deliver</bpmn:flowNodeRef><bpmn:flowNodeRef>delivered</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="decide" name="Decide the marker"><bpmn:extensionElements><camunda:formData>
<camunda:formField id="marker_text" label="Marker wording" type="string"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
<camunda:formField id="level" label="Level" type="enum"><camunda:validation><camunda:constraint name="required"/></camunda:validation>{LEVELS}</camunda:formField>
{RULES}</camunda:formData><camunda:properties><camunda:property name="decision" value="true"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:serviceTask id="place" name="Place" camunda:type="external" camunda:topic="place_marker"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
<bpmn:serviceTask id="schedule" name="Review" camunda:type="external" camunda:topic="schedule_review"><bpmn:extensionElements><camunda:properties><camunda:property name="process" value="small_review"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>
<bpmn:serviceTask id="letter" name="Tell them" camunda:type="external" camunda:topic="issue_letter"><bpmn:extensionElements><camunda:properties><camunda:property name="template" value="told"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:serviceTask>
<bpmn:userTask id="deliver" name="Deliver the letter"><bpmn:extensionElements><camunda:formData><camunda:formField id="delivered_at" label="Delivered at" type="datetime"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField></camunda:formData><camunda:properties><camunda:property name="mustDiffer" value="reported_by,staff_involved"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>
<bpmn:serviceTask id="delivered" name="Delivery recorded" camunda:type="external" camunda:topic="record_letter_delivery"><bpmn:extensionElements><camunda:properties><camunda:property name="method" value="hand delivered"/><camunda:property name="field" value="delivered_at"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f7</bpmn:outgoing></bpmn:serviceTask>
<bpmn:endEvent id="end"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/><bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="place"/>
<bpmn:sequenceFlow id="f3" sourceRef="place" targetRef="schedule"/><bpmn:sequenceFlow id="f4" sourceRef="schedule" targetRef="letter"/>
<bpmn:sequenceFlow id="f5" sourceRef="letter" targetRef="deliver"/><bpmn:sequenceFlow id="f6" sourceRef="deliver" targetRef="delivered"/>
<bpmn:sequenceFlow id="f7" sourceRef="delivered" targetRef="end"/>""" + TAIL

REVIEW = HEAD.format(id="small_review") + f"""<bpmn:laneSet id="ls"><bpmn:lane id="l_manager" name="Manager"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>due</bpmn:flowNodeRef><bpmn:flowNodeRef>read</bpmn:flowNodeRef><bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>keep</bpmn:flowNodeRef><bpmn:flowNodeRef>next</bpmn:flowNodeRef><bpmn:flowNodeRef>gw_told</bpmn:flowNodeRef><bpmn:flowNodeRef>letter</bpmn:flowNodeRef><bpmn:flowNodeRef>not_told</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
<bpmn:startEvent id="start"><bpmn:outgoing>r1</bpmn:outgoing></bpmn:startEvent>
<bpmn:intermediateCatchEvent id="due"><bpmn:incoming>r1</bpmn:incoming><bpmn:outgoing>r2</bpmn:outgoing><bpmn:timerEventDefinition id="due_def"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P1Y</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:serviceTask id="read" name="As the register holds it now" camunda:type="external" camunda:topic="read_register"><bpmn:incoming>r2</bpmn:incoming><bpmn:outgoing>r3</bpmn:outgoing></bpmn:serviceTask>
<bpmn:userTask id="review" name="Review the marker"><bpmn:extensionElements><camunda:formData>
<camunda:formField id="review_reason" label="Reasons" type="string"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
<camunda:formField id="level" label="Lower level" type="enum"><camunda:properties><camunda:property id="validWhen" value="level &lt; current_level"/><camunda:property id="invalidMessage" value="a review may only lower the level here"/></camunda:properties>{LEVELS}</camunda:formField>
{RULES}
<camunda:formField id="non_disclosure_reason" label="Why they are not told" type="string"><camunda:properties><camunda:property id="requiredWhen" value="tenant_told == False"/></camunda:properties></camunda:formField>
</camunda:formData><camunda:properties><camunda:property name="decision" value="true"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>r3</bpmn:incoming><bpmn:outgoing>r4</bpmn:outgoing></bpmn:userTask>
<bpmn:serviceTask id="keep" name="Keep" camunda:type="external" camunda:topic="keep_marker"><bpmn:incoming>r4</bpmn:incoming><bpmn:outgoing>r5</bpmn:outgoing></bpmn:serviceTask>
<bpmn:serviceTask id="next" name="Next review" camunda:type="external" camunda:topic="schedule_review"><bpmn:extensionElements><camunda:properties><camunda:property name="process" value="small_review"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>r5</bpmn:incoming><bpmn:outgoing>r6</bpmn:outgoing></bpmn:serviceTask>
<bpmn:exclusiveGateway id="gw_told" default="r_not_told"><bpmn:incoming>r6</bpmn:incoming><bpmn:outgoing>r_told</bpmn:outgoing><bpmn:outgoing>r_not_told</bpmn:outgoing></bpmn:exclusiveGateway>
<bpmn:serviceTask id="letter" name="Tell them" camunda:type="external" camunda:topic="issue_letter"><bpmn:extensionElements><camunda:properties><camunda:property name="template" value="told"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>r_told</bpmn:incoming><bpmn:outgoing>r7</bpmn:outgoing></bpmn:serviceTask>
<bpmn:serviceTask id="not_told" name="Why not" camunda:type="external" camunda:topic="record_non_disclosure"><bpmn:incoming>r_not_told</bpmn:incoming><bpmn:outgoing>r8</bpmn:outgoing></bpmn:serviceTask>
<bpmn:endEvent id="end"><bpmn:incoming>r7</bpmn:incoming><bpmn:incoming>r8</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="r1" sourceRef="start" targetRef="due"/><bpmn:sequenceFlow id="r2" sourceRef="due" targetRef="read"/>
<bpmn:sequenceFlow id="r3" sourceRef="read" targetRef="review"/><bpmn:sequenceFlow id="r4" sourceRef="review" targetRef="keep"/>
<bpmn:sequenceFlow id="r5" sourceRef="keep" targetRef="next"/><bpmn:sequenceFlow id="r6" sourceRef="next" targetRef="gw_told"/>
<bpmn:sequenceFlow id="r_told" sourceRef="gw_told" targetRef="letter"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">tenant_told == True</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="r_not_told" sourceRef="gw_told" targetRef="not_told"/>
<bpmn:sequenceFlow id="r7" sourceRef="letter" targetRef="end"/><bpmn:sequenceFlow id="r8" sourceRef="not_told" targetRef="end"/>""" + TAIL


OUTCOMES = ('<camunda:value id="recorded" name="Recorded on the marker, nothing more"/>'
            '<camunda:value id="amend" name="Change the marker"/>'
            '<camunda:value id="sooner" name="Bring the review forward"/>'
            '<camunda:value id="now" name="Review it now"/>')

# a later concern linked to the marker: the manager reads the marker and decides what it changes
INCIDENT = HEAD.format(id="small_incident") + f"""<bpmn:laneSet id="ls"><bpmn:lane id="l_manager" name="Manager"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>assess</bpmn:flowNodeRef><bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>amend</bpmn:flowNodeRef><bpmn:flowNodeRef>sooner</bpmn:flowNodeRef><bpmn:flowNodeRef>now</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
<bpmn:startEvent id="start"><bpmn:outgoing>i1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="assess" name="Assess the linked incident"><bpmn:extensionElements><camunda:formData>
<camunda:formField id="incident_outcome" label="What it changes" type="enum"><camunda:validation><camunda:constraint name="required"/></camunda:validation>{OUTCOMES}</camunda:formField>
<camunda:formField id="review_by" label="Review by" type="date"><camunda:properties><camunda:property id="requiredWhen" value="incident_outcome == 'sooner'"/></camunda:properties></camunda:formField>
<camunda:formField id="marker_text" label="New wording" type="string"><camunda:properties><camunda:property id="requiredWhen" value="incident_outcome == 'amend'"/></camunda:properties></camunda:formField>
<camunda:formField id="level" label="New level" type="enum"><camunda:properties><camunda:property id="requiredWhen" value="incident_outcome == 'amend'"/></camunda:properties>{LEVELS}</camunda:formField>
</camunda:formData><camunda:properties><camunda:property name="decision" value="true"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>i1</bpmn:incoming><bpmn:outgoing>i2</bpmn:outgoing></bpmn:userTask>
<bpmn:exclusiveGateway id="gw" default="i_recorded"><bpmn:incoming>i2</bpmn:incoming><bpmn:outgoing>i_recorded</bpmn:outgoing><bpmn:outgoing>i_amend</bpmn:outgoing><bpmn:outgoing>i_sooner</bpmn:outgoing><bpmn:outgoing>i_now</bpmn:outgoing></bpmn:exclusiveGateway>
<bpmn:serviceTask id="amend" name="Change the marker" camunda:type="external" camunda:topic="amend_marker"><bpmn:incoming>i_amend</bpmn:incoming><bpmn:outgoing>i3</bpmn:outgoing></bpmn:serviceTask>
<bpmn:serviceTask id="sooner" name="Review brought forward" camunda:type="external" camunda:topic="reschedule_review"><bpmn:extensionElements><camunda:properties><camunda:property name="date_field" value="review_by"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>i_sooner</bpmn:incoming><bpmn:outgoing>i4</bpmn:outgoing></bpmn:serviceTask>
<bpmn:serviceTask id="now" name="Reviewed now" camunda:type="external" camunda:topic="start_review_now"><bpmn:incoming>i_now</bpmn:incoming><bpmn:outgoing>i5</bpmn:outgoing></bpmn:serviceTask>
<bpmn:endEvent id="end"><bpmn:incoming>i_recorded</bpmn:incoming><bpmn:incoming>i3</bpmn:incoming><bpmn:incoming>i4</bpmn:incoming><bpmn:incoming>i5</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="i1" sourceRef="start" targetRef="assess"/><bpmn:sequenceFlow id="i2" sourceRef="assess" targetRef="gw"/>
<bpmn:sequenceFlow id="i_recorded" sourceRef="gw" targetRef="end"/>
<bpmn:sequenceFlow id="i_amend" sourceRef="gw" targetRef="amend"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">incident_outcome == 'amend'</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="i_sooner" sourceRef="gw" targetRef="sooner"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">incident_outcome == 'sooner'</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="i_now" sourceRef="gw" targetRef="now"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">incident_outcome == 'now'</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="i3" sourceRef="amend" targetRef="end"/><bpmn:sequenceFlow id="i4" sourceRef="sooner" targetRef="end"/><bpmn:sequenceFlow id="i5" sourceRef="now" targetRef="end"/>""" + TAIL


def write_small_pack(root: Path, review: str = REVIEW, toml: str = PACK_TOML, assessment: str = ASSESSMENT,
                     extra: dict | None = None, incident: str = INCIDENT) -> Path:
    """The small pack under root/small; `extra`: more files (name -> text), e.g. appeal processes."""
    folder = root / "small"
    (folder / "letters").mkdir(parents=True, exist_ok=True)
    (folder / "pack.toml").write_text(toml)
    (folder / "letters" / "told.txt").write_text(LETTER)
    (folder / "small_assessment.bpmn").write_text(assessment)
    (folder / "small_review.bpmn").write_text(review)
    (folder / "small_incident.bpmn").write_text(incident)
    for name, content in (extra or {}).items():
        (folder / name).write_text(content)
    return folder


def small_world(cli, monkeypatch, tmp_path, users) -> PackWorld:
    write_small_pack(tmp_path)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    return PackWorld(cli, users)


# --- the business calendar variant: working days, appeals in time and late -------------------

CALENDAR_TOML = PACK_TOML.replace(
    'assessment_process = "small_assessment"\n',
    'assessment_process = "small_assessment"\nappeal_process = "small_appeal"\nappeal_within = "P10WD"\n',
).replace("[roles.process_owner]", '[roles.director]\nname = "Director"\nrank = 5\n[roles.process_owner]') + """
[calendar]
nation = "{nation}"
closed = {closed}
"""

# the assessment's decision is due the working day after the concern is reported
CALENDAR_ASSESSMENT = ASSESSMENT.replace(
    '<camunda:property name="decision" value="true"/></camunda:properties>',
    '<camunda:property name="decision" value="true"/><camunda:property name="dueIn" value="P1WD"/></camunda:properties>', 1)

APPEAL_FORM = ('<camunda:formField id="appeal_outcome" label="Outcome" type="enum"><camunda:validation>'
               '<camunda:constraint name="required"/></camunda:validation><camunda:value id="upheld" name="Upheld"/>'
               '<camunda:value id="dismissed" name="Dismissed"/></camunda:formField>'
               '<camunda:formField id="appeal_reasons" label="Reasons" type="string"><camunda:validation>'
               '<camunda:constraint name="required"/></camunda:validation></camunda:formField>')
HEAR = ('<bpmn:userTask id="hear" name="Hear the appeal"><bpmn:extensionElements><camunda:formData>' + APPEAL_FORM +
        '</camunda:formData><camunda:properties><camunda:property name="decision" value="true"/>'
        '<camunda:property name="mustOutrank" value="original_decider"/></camunda:properties></bpmn:extensionElements>'
        '<bpmn:incoming>INCOMING</bpmn:incoming><bpmn:outgoing>a2</bpmn:outgoing></bpmn:userTask>'
        '<bpmn:serviceTask id="outcome" name="Record the outcome" camunda:type="external" camunda:topic="record_appeal_outcome">'
        '<bpmn:incoming>a2</bpmn:incoming><bpmn:outgoing>a3</bpmn:outgoing></bpmn:serviceTask>'
        '<bpmn:endEvent id="end"><bpmn:incoming>a3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="a2" sourceRef="hear" targetRef="outcome"/><bpmn:sequenceFlow id="a3" sourceRef="outcome" targetRef="end"/>')

APPEAL = HEAD.format(id="small_appeal") + (
    '<bpmn:laneSet id="ls"><bpmn:lane id="l_director" name="Director"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
    '<bpmn:flowNodeRef>hear</bpmn:flowNodeRef><bpmn:flowNodeRef>outcome</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>'
    '</bpmn:lane></bpmn:laneSet><bpmn:startEvent id="start"><bpmn:outgoing>a1</bpmn:outgoing></bpmn:startEvent>'
    '<bpmn:sequenceFlow id="a1" sourceRef="start" targetRef="hear"/>' + HEAR.replace("INCOMING", "a1")) + TAIL

# an appeal lodged after appeal_within: the director decides whether to hear it, with reasons
LATE_APPEAL = HEAD.format(id="small_late_appeal") + (
    '<bpmn:laneSet id="ls"><bpmn:lane id="l_director" name="Director"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
    '<bpmn:flowNodeRef>discretion</bpmn:flowNodeRef><bpmn:flowNodeRef>record</bpmn:flowNodeRef>'
    '<bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>not_heard</bpmn:flowNodeRef>'
    '<bpmn:flowNodeRef>hear</bpmn:flowNodeRef><bpmn:flowNodeRef>outcome</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>'
    '</bpmn:lane></bpmn:laneSet><bpmn:startEvent id="start"><bpmn:outgoing>d1</bpmn:outgoing></bpmn:startEvent>'
    '<bpmn:userTask id="discretion" name="Decide whether to hear the late appeal"><bpmn:extensionElements><camunda:formData>'
    '<camunda:formField id="hear_late_appeal" label="Hear it although it is late?" type="boolean"/>'
    '<camunda:formField id="late_appeal_reasons" label="Reasons" type="string"><camunda:validation>'
    '<camunda:constraint name="required"/></camunda:validation></camunda:formField>'
    '</camunda:formData></bpmn:extensionElements><bpmn:incoming>d1</bpmn:incoming><bpmn:outgoing>d2</bpmn:outgoing></bpmn:userTask>'
    '<bpmn:serviceTask id="record" name="Record whether it is heard" camunda:type="external" '
    'camunda:topic="record_late_appeal_decision"><bpmn:incoming>d2</bpmn:incoming><bpmn:outgoing>d3</bpmn:outgoing></bpmn:serviceTask>'
    '<bpmn:exclusiveGateway id="gw" default="d_no"><bpmn:incoming>d3</bpmn:incoming><bpmn:outgoing>d_yes</bpmn:outgoing>'
    '<bpmn:outgoing>d_no</bpmn:outgoing></bpmn:exclusiveGateway>'
    '<bpmn:endEvent id="not_heard"><bpmn:incoming>d_no</bpmn:incoming></bpmn:endEvent>'
    '<bpmn:sequenceFlow id="d1" sourceRef="start" targetRef="discretion"/>'
    '<bpmn:sequenceFlow id="d2" sourceRef="discretion" targetRef="record"/>'
    '<bpmn:sequenceFlow id="d3" sourceRef="record" targetRef="gw"/>'
    '<bpmn:sequenceFlow id="d_yes" sourceRef="gw" targetRef="hear"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
    'late_appeal_heard == True</bpmn:conditionExpression></bpmn:sequenceFlow>'
    '<bpmn:sequenceFlow id="d_no" sourceRef="gw" targetRef="not_heard"/>' + HEAR.replace("INCOMING", "d_yes")) + TAIL


def write_calendar_pack(root: Path, nation: str = "england-and-wales", closed: str = "[]",
                        late_appeals: bool = False, review_after: str = "P1Y") -> Path:
    """The small pack counting working days on a nation's calendar ([calendar]), with an appeal
    window of ten working days, a review timer of `review_after` and, if asked, a late_appeals process."""
    toml = CALENDAR_TOML.format(nation=nation, closed=closed)
    extra = {"small_appeal.bpmn": APPEAL}
    if late_appeals:  # a late-appeal diagram the pack does not name would be linted as a review
        toml = toml.replace('appeal_within = "P10WD"', 'appeal_within = "P10WD"\nlate_appeals = "small_late_appeal"')
        extra["small_late_appeal.bpmn"] = LATE_APPEAL
    return write_small_pack(root, toml=toml, assessment=CALENDAR_ASSESSMENT, review=REVIEW.replace(">P1Y<", f">{review_after}<"),
                            extra=extra)

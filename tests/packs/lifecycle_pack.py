"""One pack written for the tests that uses every capability of issue 14 ("a marker's life as it
really is"), built from the small pack's pieces (tests/packs/small_pack.py): linked incidents that
move the review ([pack] incident_process, reschedule_review), fields of the pack's own carried on the
marker ([marker_fields] with a type and who may see them, set by set_marker_fields and read by the
review's timer and letter), a bounded date with a cross-field rule (min, max, validWhen), working
days on England's bank holidays ([calendar], P10WD appeal window, P1WD due date) and late appeals
sent to a director's discretion ([pack] late_appeals)."""
from pathlib import Path

from tests.packs import small_pack
from tests.packs.world import PackWorld

MARKER_FIELDS = '''[marker_fields]
contact_rules = "How to contact them"

[marker_fields.review_period]
label = "Reviewed every"
type = "enum"

[marker_fields.expires_on]
label = "Marker expires on"
type = "date"
visible_to = "readers"
'''

TOML = (small_pack.CALENDAR_TOML.format(nation="england-and-wales", closed="[]")
        .replace('name = "Small Test Housing"', 'name = "Long Life Housing"')
        .replace('appeal_within = "P10WD"', 'appeal_within = "P10WD"\nlate_appeals = "life_late_appeal"')
        .replace('[marker_fields]\ncontact_rules = "How to contact them"\n', MARKER_FIELDS))

LETTER = small_pack.LETTER + "We review the marker every $review_period_labels; it ends on $expires_on at the latest.\n"

# the assessment asks how often the marker is reviewed and when it ends at the latest: the end is
# bounded (not before today, at most five years on), and beyond three years needs a reason
PERIOD_AND_EXPIRY = (
    '<camunda:formField id="period" label="Review every" type="enum"><camunda:validation><camunda:constraint name="required"/>'
    '</camunda:validation><camunda:value id="P6M" name="Six months"/><camunda:value id="P12M" name="Twelve months"/></camunda:formField>'
    '<camunda:formField id="expiry" label="Marker ends by" type="date"><camunda:properties>'
    '<camunda:property id="min" value="today"/><camunda:property id="max" value="today + P60M"/>'
    '<camunda:property id="validWhen" value="expiry &lt;= date_after(today(), \'P36M\') or expiry_reason"/>'
    '<camunda:property id="invalidMessage" value="an expiry beyond 36 months needs a reason"/>'
    '</camunda:properties><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>'
    '<camunda:formField id="expiry_reason" label="Why it lasts longer than 36 months" type="string"/>')

SET_FIELDS = ('<bpmn:serviceTask id="fields" name="Carry the term on the marker" camunda:type="external" '
              'camunda:topic="set_marker_fields"><bpmn:extensionElements><camunda:properties>'
              '<camunda:property name="review_period" value="period"/><camunda:property name="expires_on" value="expiry"/>'
              '</camunda:properties></bpmn:extensionElements><bpmn:incoming>f3</bpmn:incoming>'
              '<bpmn:outgoing>f3b</bpmn:outgoing></bpmn:serviceTask>'
              '<bpmn:sequenceFlow id="f3b" sourceRef="fields" targetRef="schedule"/>')

ASSESSMENT = (small_pack.CALENDAR_ASSESSMENT
              .replace(small_pack.RULES, small_pack.RULES + PERIOD_AND_EXPIRY)
              .replace('<bpmn:flowNodeRef>schedule</bpmn:flowNodeRef>',
                       '<bpmn:flowNodeRef>fields</bpmn:flowNodeRef><bpmn:flowNodeRef>schedule</bpmn:flowNodeRef>')
              .replace('<bpmn:sequenceFlow id="f3" sourceRef="place" targetRef="schedule"/>',
                       '<bpmn:sequenceFlow id="f3" sourceRef="place" targetRef="fields"/>' + SET_FIELDS)
              .replace('<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>',
                       '<bpmn:incoming>f3b</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>'))

# the review waits as long as the marker's own review_period says (P6M or P12M), and is due at the
# latest on the day the marker expires (dueIn naming a marker field)
REVIEW = small_pack.REVIEW.replace(">P1Y<", ">review_period<").replace(
    '<camunda:property name="decision" value="true"/></camunda:properties>',
    '<camunda:property name="decision" value="true"/><camunda:property name="dueIn" value="expires_on"/></camunda:properties>', 1)


# a linked incident that changes the marker may also move its end (set_marker_fields after amend_marker)
NEW_EXPIRY = ('<camunda:formField id="new_expiry" label="Marker now ends by" type="date"><camunda:properties>'
              '<camunda:property id="min" value="today"/></camunda:properties></camunda:formField>')
INCIDENT = (small_pack.INCIDENT
            .replace('</camunda:formData><camunda:properties><camunda:property name="decision"',
                     NEW_EXPIRY + '</camunda:formData><camunda:properties><camunda:property name="decision"', 1)
            .replace('<bpmn:flowNodeRef>amend</bpmn:flowNodeRef>',
                     '<bpmn:flowNodeRef>amend</bpmn:flowNodeRef><bpmn:flowNodeRef>new_end</bpmn:flowNodeRef>')
            .replace('<bpmn:incoming>i_amend</bpmn:incoming><bpmn:outgoing>i3</bpmn:outgoing>',
                     '<bpmn:incoming>i_amend</bpmn:incoming><bpmn:outgoing>i3a</bpmn:outgoing>')
            .replace('<bpmn:sequenceFlow id="i3" sourceRef="amend" targetRef="end"/>',
                     '<bpmn:sequenceFlow id="i3a" sourceRef="amend" targetRef="new_end"/>'
                     '<bpmn:serviceTask id="new_end" name="Move the marker\'s end" camunda:type="external" '
                     'camunda:topic="set_marker_fields"><bpmn:extensionElements><camunda:properties>'
                     '<camunda:property name="expires_on" value="new_expiry or expires_on"/></camunda:properties>'
                     '</bpmn:extensionElements><bpmn:incoming>i3a</bpmn:incoming><bpmn:outgoing>i3</bpmn:outgoing>'
                     '</bpmn:serviceTask><bpmn:sequenceFlow id="i3" sourceRef="new_end" targetRef="end"/>'))


def _renamed(text: str) -> str:
    return text.replace("small_", "life_")


def write_lifecycle_pack(root: Path, assessment: str = ASSESSMENT, toml: str = TOML, review: str = REVIEW) -> Path:
    folder = root / "life"
    (folder / "letters").mkdir(parents=True, exist_ok=True)
    (folder / "pack.toml").write_text(_renamed(toml))
    (folder / "letters" / "told.txt").write_text(LETTER)
    for name, diagram in {"life_assessment.bpmn": assessment, "life_review.bpmn": review,
                          "life_incident.bpmn": INCIDENT, "life_appeal.bpmn": small_pack.APPEAL,
                          "life_late_appeal.bpmn": small_pack.LATE_APPEAL}.items():
        (folder / name).write_text(_renamed(diagram))
    return folder


def lifecycle_world(cli, monkeypatch, tmp_path, users) -> PackWorld:
    write_lifecycle_pack(tmp_path)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "life")
    return PackWorld(cli, users)

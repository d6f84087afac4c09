"""Markers on properties, on a small pack written for the tests: a category the pack puts on
properties (`on = "property"`) assessed by its own process (`assessment_process`); the hazard shows
on check before visiting for the address, its postcode and whoever lives there (two successive
occupiers), and on the visit list by property; a category on the wrong kind of subject is refused
naming the field; `pack check` refuses a bad `on` and a process that is not there."""
import re

from tests.packs.small_pack import ASSESSMENT, HEAD, PACK_TOML, TAIL, write_small_pack
from tests.packs.world import PackWorld
from workflows.platform.db import transaction
from workflows.platform.models import Alert, Customer, Letter
from sqlalchemy import func, select

USERS = {"sam": ["staff"], "mo": ["manager"], "ada": ["admin"]}

HAZARD_TOML = PACK_TOML + """
[categories.hazard]
label = "A hazard at the address"
on = "property"
assessment_process = "small_hazard"
"""

# the manager decides the hazard's wording and it is placed: no letter (nobody to address but the occupier)
HAZARD = HEAD.format(id="small_hazard") + """<bpmn:laneSet id="ls"><bpmn:lane id="l_manager" name="Manager"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>decide</bpmn:flowNodeRef><bpmn:flowNodeRef>place</bpmn:flowNodeRef><bpmn:flowNodeRef>schedule</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
<bpmn:startEvent id="start"><bpmn:outgoing>h1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="decide" name="Decide what staff must do at the address"><bpmn:extensionElements><camunda:formData>
<camunda:formField id="marker_text" label="Instruction to staff" type="string"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
</camunda:formData><camunda:properties><camunda:property name="decision" value="true"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>h1</bpmn:incoming><bpmn:outgoing>h2</bpmn:outgoing></bpmn:userTask>
<bpmn:serviceTask id="place" name="Place" camunda:type="external" camunda:topic="place_marker"><bpmn:incoming>h2</bpmn:incoming><bpmn:outgoing>h3</bpmn:outgoing></bpmn:serviceTask>
<bpmn:serviceTask id="schedule" name="Review" camunda:type="external" camunda:topic="schedule_review"><bpmn:extensionElements><camunda:properties><camunda:property name="process" value="small_review"/></camunda:properties></bpmn:extensionElements><bpmn:incoming>h3</bpmn:incoming><bpmn:outgoing>h4</bpmn:outgoing></bpmn:serviceTask>
<bpmn:endEvent id="end"><bpmn:incoming>h4</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="h1" sourceRef="start" targetRef="decide"/><bpmn:sequenceFlow id="h2" sourceRef="decide" targetRef="place"/>
<bpmn:sequenceFlow id="h3" sourceRef="place" targetRef="schedule"/><bpmn:sequenceFlow id="h4" sourceRef="schedule" targetRef="end"/>""" + TAIL


def hazard_world(cli, monkeypatch, tmp_path, toml=HAZARD_TOML):
    write_small_pack(tmp_path, toml=toml, extra={"small_hazard.bpmn": HAZARD})
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    return PackWorld(cli, USERS)


def place_hazard(world, property_ref, now="2026-03-02T09:00", text="Dog at the address: phone first"):
    out = world.cli("report", "--as", "sam", "--property", property_ref, "--category", "hazard",
                    "--description", "A large dog went for the surveyor", now=now)
    alert_id = int(re.search(r"alert (\d+) reported", out).group(1))
    task = world.open_task("mo", alert_id, now)
    world.complete("mo", task["task"], {"marker_text": text}, now=now)
    return alert_id


def property_of(cli, customer):
    with transaction() as db:
        return db.scalar(select(Customer).where(Customer.reference == customer)).home.reference


def test_the_out_of_hours_list_gives_per_property_the_person_and_property_markers_that_apply(
        cli, monkeypatch, tmp_path, app):
    from tests.compliance.api_helpers import bearer, token
    from tests.helpers import settings
    world = hazard_world(cli, monkeypatch, tmp_path)
    home = property_of(cli, "C1")
    place_hazard(world, home)
    alert_id = world.report("concern", customer="C1", now="2026-03-02T10:00", description="Shouted at the officer")
    task = world.open_task("mo", alert_id, "2026-03-02T10:00")
    cli("task", "complete", task["task"], "--as", "mo", now="2026-03-02T10:00",
        *settings({"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only"}))
    rows = app.test_client().get("/api/v1/out-of-hours", headers=bearer(token(cli, "ooh", "out_of_hours:read"))
                                 ).get_json()["markers"]
    assert [(r["property"], r["address"], r["applies_to"], r["instruction"]) for r in rows] == [
        (home, "1 High Street", "everyone living there", "Dog at the address: phone first"),
        (home, "1 High Street", "John Smith (C1)", "Visit in pairs")]
    assert "surveyor" not in str(rows) and "Shouted" not in str(rows)


def test_a_hazard_on_a_property_shows_for_two_successive_occupiers(cli, monkeypatch, tmp_path):
    world = hazard_world(cli, monkeypatch, tmp_path)
    home = property_of(cli, "C1")  # John Smith lives at 1 High Street
    alert_id = place_hazard(world, home)
    with transaction() as db:
        assert db.scalar(select(func.count()).select_from(Letter).where(Letter.alert_id == alert_id)) == 0
        assert db.get(Alert, alert_id).customer_id is None  # on the place, not on a pretend customer
    for asked in ("1 High Street", "John Smith", home):
        out = cli("check", asked, "--as", "sam", now="2026-03-03T09:00")
        assert f"C1  John Smith, at 1 High Street AB1 1AA (property {home}): MARKER: Dog at the address: phone " \
               f"first (at this address)" in out, asked
    assert "Dog at the address" not in cli("check", "Mary Jones", "--as", "sam", now="2026-03-03T09:00")
    # John moves out; Mary Jones moves in: the hazard is shown for her, and no longer for him
    cli("tenancy", "start", "C1", "--as", "sam", "--address", "9 Low Road", "--postcode", "AB9 9ZZ",
        "--starts", "2026-04-01", now="2026-03-20T09:00")
    cli("tenancy", "start", "C2", "--as", "sam", "--property", home, "--starts", "2026-04-15", now="2026-03-20T09:00")
    empty = cli("check", "1 High Street", "--as", "sam", now="2026-04-02T09:00")
    assert f"{home}  1 High Street AB1 1AA: MARKER: Dog at the address: phone first (at this address)" in empty
    assert "John Smith" not in empty
    assert "Dog at the address" not in cli("check", "John Smith", "--as", "sam", now="2026-04-02T09:00")
    later = cli("check", "AB1 1AA", "--as", "sam", now="2026-04-15T09:00")
    assert f"C2  Mary Jones, at 1 High Street AB1 1AA (property {home}): MARKER: Dog at the address" in later
    # the visit list: by property, what applies there, nothing of the reasons
    rows = cli.json("visit-list", "--as", "sam", now="2026-04-15T09:00")
    assert [(r["property"], r["applies_to"], r["instruction"]) for r in rows] == [
        (home, "everyone living there", "Dog at the address: phone first")]
    assert "surveyor" not in str(rows)


def test_a_category_on_the_wrong_kind_of_subject_is_refused_naming_the_field(cli, monkeypatch, tmp_path):
    world = hazard_world(cli, monkeypatch, tmp_path)
    home = property_of(cli, "C1")
    error = cli.fails("report", "--as", "sam", "--customer", "C1", "--category", "hazard", "--description", "Dog")
    assert "customer: A hazard at the address is a marker on a property, not on a person" in error
    error = cli.fails("report", "--as", "sam", "--property", home, "--category", "concern", "--description", "x")
    assert f"property: A concern is a marker on a person, not on a property: name the customer, not property {home}" \
        in error
    assert "property: name the property" in cli.fails("report", "--as", "sam", "--category", "hazard",
                                                        "--description", "Dog")
    assert "no property with reference 'P99'" in cli.fails("report", "--as", "sam", "--property", "P99",
                                                           "--category", "hazard", "--description", "Dog")
    with transaction() as db:
        assert db.scalar(select(func.count()).select_from(Alert)) == 0
    assert world  # the pack deployed


def test_pack_check_refuses_a_bad_subject_and_a_missing_process(cli, monkeypatch, tmp_path):
    write_small_pack(tmp_path, toml=HAZARD_TOML.replace('on = "property"', 'on = "address"'),
                     extra={"small_hazard.bpmn": HAZARD})
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    assert '[categories.hazard] on must be "person" (a marker on a customer) or "property"' in cli.fails("pack", "check")
    write_small_pack(tmp_path, toml=HAZARD_TOML, assessment=ASSESSMENT)
    (tmp_path / "small" / "small_hazard.bpmn").unlink()
    error = cli.fails("pack", "check")
    assert "category 'A hazard at the address' (hazard) is assessed by the process 'small_hazard', which is neither " \
           "in the pack's diagrams nor deployed" in error


def test_the_api_reports_a_hazard_against_a_property_and_refuses_it_against_a_customer(cli, monkeypatch, tmp_path, app):
    from tests.compliance.api_helpers import bearer, token
    hazard_world(cli, monkeypatch, tmp_path)
    home = property_of(cli, "C1")
    headers, client = bearer(token(cli, "hms", "concerns:write")), app.test_client()
    refused = client.post("/api/v1/concerns", json={"customer": "C1", "category": "hazard", "description": "Dog"},
                          headers=headers)
    assert refused.status_code == 400 and refused.json["field"] == "customer"
    assert "is a marker on a property, not on a person" in refused.json["error"]
    refused = client.post("/api/v1/concerns", json={"property": home, "category": "concern", "description": "x"},
                          headers=headers)
    assert refused.status_code == 400 and refused.json["field"] == "property"
    missing = client.post("/api/v1/concerns", json={"property": "P99", "category": "hazard", "description": "Dog"},
                          headers=headers)
    assert missing.status_code == 404 and missing.json["field"] == "property"
    with transaction() as db:
        assert db.scalar(select(func.count()).select_from(Alert)) == 0
    done = client.post("/api/v1/concerns", json={"property": home, "category": "hazard", "description": "Dog"},
                       headers=headers)
    assert done.status_code == 201, done.json
    with transaction() as db:
        alert = db.get(Alert, done.json["alert"])
        assert alert.property.reference == home and alert.customer_id is None

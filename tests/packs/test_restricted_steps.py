"""A step carries its alert's restriction, and the inboxes judge need to know on it: on a small pack
written for the tests (tests/packs/small_pack.py) whose linked-incident assessment may lock the
record to the managers, a staff step already open on the alert (delivering the first letter) is
hidden from staff, in its list and every count, from the moment the record is restricted."""
from sqlalchemy import select

from tests.helpers import PASSWORD, Browser
from tests.packs.small_pack import INCIDENT, PACK_TOML, write_small_pack
from tests.packs.world import PackWorld
from workflows.accounts import credentials
from workflows.platform.db import transaction
from workflows.platform.models import Alert, HumanTask

USERS = {"sam": ["staff"], "tess": ["staff"], "mo": ["manager"], "meg": ["manager"]}
T0, DECIDED, LATER = "2026-03-02T09:00", "2026-03-03T10:00", "2026-03-04T09:00"
DECISION = {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only"}

SECURE_TOML = PACK_TOML + """
[restrictions.secure]
label = "Secure list"
visible_to = ["manager"]
staff_instruction = "Contact a manager before visiting."
"""
# the incident's "change the marker" outcome locks the record to the secure list instead
SECURE_INCIDENT = INCIDENT.replace(
    'camunda:topic="amend_marker">',
    'camunda:topic="restrict_record"><bpmn:extensionElements><camunda:properties>'
    '<camunda:property name="restriction" value="secure"/></camunda:properties></bpmn:extensionElements>')


def test_a_step_open_when_its_record_is_restricted_is_hidden_from_the_roles_outside_it(cli, monkeypatch, tmp_path, app):
    write_small_pack(tmp_path, toml=SECURE_TOML, incident=SECURE_INCIDENT)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    world = PackWorld(cli, USERS)
    alert_id = world.report("concern", now=T0, description="Threatened the gas engineer")
    world.complete("mo", world.open_task("mo", alert_id, T0)["task"], DECISION, now=DECIDED)
    delivery = world.open_task("tess", alert_id, DECIDED)  # the letter waits for staff (not sam: he reported it)
    assert delivery["title"] == "Deliver the letter"
    assert cli.json("inbox", "--as", "tess", "--show", "roles", now=DECIDED)[0]["task"] == delivery["task"]

    cli("report", "--as", "sam", "--customer", "C1", "--category", "concern", "--description", "Shouted at us",
        "--link-to", alert_id, now=LATER)
    assess = world.open_task("meg", alert_id, LATER)
    world.complete("meg", assess["task"], {"incident_outcome": "amend", "marker_text": "Visit in pairs", "level": "L2"},
                   now=LATER)
    with transaction() as db:
        assert db.scalar(select(Alert.restriction).where(Alert.id == alert_id)) == "secure"
        copies = set(db.scalars(select(HumanTask.restriction).where(HumanTask.alert_id == alert_id)))
    assert copies == {"secure"}  # every step of the alert, the open delivery among them

    assert world.tasks_for("tess", alert_id, LATER) == []
    assert "nothing" in cli("inbox", "--as", "tess", now=LATER).lower()
    with transaction() as db:
        credentials.set_password(db, username="tess", password=PASSWORD, by="test")
    tess = Browser(app, "tess")
    assert "Deliver the letter" not in tess.client.get("/inbox").get_data(as_text=True)
    assert tess.client.get("/inbox/counts.json").get_json() == {"mine": 0, "unclaimed": 0, "overdue": 0}
    # the managers the restriction admits still see the record's open work
    assert world.alert(alert_id, "mo")["restriction"] == "secure"

"""A new step e-mailed to those it waits on who asked for it (their own setting), once, over a real
SMTP server; never to the person the concern is about, never with the customer's name."""
import re

from sqlalchemy import select

from tests.helpers import Browser
from workflows.platform import wording
from workflows.platform.db import transaction
from workflows.platform.models import User


def _managers_with_email(cli):
    cli("users", "add", "rita", "--name", "Rita", "--role", "asb_manager", "--email", "rita@derby.example")
    cli("users", "add", "rob", "--name", "Rob", "--role", "asb_manager", "--email", "rob@derby.example")


def test_a_new_step_is_e_mailed_once_to_those_who_asked(derby, cli, smtp):
    _managers_with_email(cli)
    assert "rita is now e-mailed when a step arrives" in cli("users", "new-step-emails", "rita", "on")
    alert_id = derby.report("rpo")
    assert "1 new step announcement(s) sent" in cli("timers", "reminders")
    [message] = smtp.messages
    task = derby.open_task("rita", alert_id)
    assert message["to"] == ["rita@derby.example"]  # rob did not ask
    assert message["subject"].startswith(
        f"New step for you: '{task['title']}' (task {task['task']}), due on {wording.day(task['due'])}")
    assert f"alert {alert_id}" in message["body"] and "John Smith" not in message["body"]
    assert "0 new step announcement(s) sent" in cli("timers", "reminders")  # once only
    assert [e["action"] for e in derby.alert(alert_id)["events"]].count("step_announced") == 1

    cli("users", "new-step-emails", "rita", "off")
    derby.report("near_miss", customer="C2")
    assert "0 new step announcement(s) sent" in cli("timers", "reminders")
    assert len(smtp.messages) == 1


def test_the_person_a_concern_is_about_hears_nothing_of_its_step(derby, cli, smtp):
    _managers_with_email(cli)
    for who in ("rita", "rob"):
        cli("users", "new-step-emails", who, "on")
    out = cli("report", "--as", "sam", "--customer", "C1", "--category", "rpo", "--description", "He threatened Rita",
              "--staff-involved", "rita")
    assert re.search(r"alert (\d+) reported", out)
    cli("timers", "reminders")
    assert [m["to"] for m in smtp.messages] == [["rob@derby.example"]]


def test_a_person_chooses_new_step_emails_on_their_settings_page(world, app):
    sam = Browser(app, "sam")
    page = sam.get("/settings").get_data(as_text=True)
    assert 'id="announce-no" name="announce_new_steps" value="no" checked' in page
    saved = sam.post("/settings", {"announce_new_steps": "yes"}, token_from="/settings")
    assert saved.status_code == 302
    assert "you are e-mailed when a step arrives" in sam.get("/settings").get_data(as_text=True)
    with transaction() as db:
        assert db.scalar(select(User.announce_new_steps).where(User.username == "sam")) is True
    forged = sam.client.post("/settings", data={"announce_new_steps": "no", "csrf_token": "x"})
    assert forged.status_code == 400
    with transaction() as db:
        assert db.scalar(select(User.announce_new_steps).where(User.username == "sam")) is True

"""One rule for the text people type (workflows/platform/text.py), on every face: well-formed Unicode, no
control characters but newline and tab, and the same lengths as the database columns hold.
A bad value is refused naming the field, and nothing of it is saved."""
import pytest
from sqlalchemy import func, select

from workflows.platform.db import transaction
from workflows.platform.models import Alert, Customer, HumanTask

BAD = [("\x00", "control character (U+0000)"), ("\ud800", "not well-formed text"),
       ("\x1b[2J", "control character (U+001B)")]


def count(model):
    with transaction() as db:
        return db.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("bad, message", BAD + [("x" * 99_990, "100,000 characters long; at most 5,000")])
def test_a_concern_with_bad_text_is_refused_on_the_command_line(derby, cli, bad, message):
    error = derby.cli.fails("report", "--as", "sam", "--customer", "C1", "--category", "rpo",
                            "--description", f"He shouted{bad}")
    assert error.startswith("error: description: description ") and message in error
    assert count(Alert) == 0


def test_a_customer_longer_than_its_column_is_refused_on_the_command_line(derby, cli):
    error = cli.fails("customers", "add", "C9", "--name", "x" * 100_000)
    assert "error: name: name is 100,000 characters long; at most 200 are allowed" in error
    assert "at most 40" in cli.fails("customers", "add", "C" * 41, "--name", "Ann Lee")
    assert "control character" in cli.fails("customers", "add", "C9", "--name", "Ann\x00Lee")
    assert "not well-formed text" in cli.fails("users", "add", "zed", "--name", "Zed\udcff", "--role", "staff")
    assert count(Customer) == 3
    cli("customers", "add", "C9", "--name", "Ann Lee", "--address", "1 Low Road\r\nDerby", "--postcode", "de1 9zz")
    with transaction() as db:
        assert db.scalar(select(Customer).where(Customer.reference == "C9")).address == "1 Low Road\nDerby"


@pytest.mark.parametrize("bad, message", BAD)
def test_a_form_answer_with_bad_text_is_refused_and_the_step_stays_open(derby, bad, message):
    alert = derby.report("near_miss")
    task = derby.open_task("helen", alert)["task"]
    error = derby.refuse("helen", task, {"evidence": f"Log{bad}"})
    assert "error: evidence: Evidence considered " in error and message in error
    with transaction() as db:
        assert db.scalar(select(HumanTask.status).where(HumanTask.id == task)) in ("ready", "claimed")
    assert derby.open_task("helen", alert)["task"] == task

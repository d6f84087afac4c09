"""Reminders before a step's due date and escalations after it, by e-mail over a real SMTP
server: on Celery workers with beat, and in the main job's own process when REDIS_URL is unset."""
from tests.workers.conftest import wait_for

T0 = "2026-03-02T09:00"  # the concern is reported; the ASB Manager's assessment is due P10D later


def _staff_with_email(cli):
    cli("users", "add", "rita", "--name", "Rita", "--role", "asb_manager", "--email", "rita@derby.example")
    cli("users", "add", "rob", "--name", "Rob", "--role", "asb_manager", "--email", "rob@derby.example")
    cli("users", "add", "hester", "--name", "Hester", "--role", "head_of_service", "--email", "hester@derby.example")


def _reminder_rounds(processes):
    return processes.log("w1").count("Task alertflow.reminders[") // 2


def test_role_reminded_before_the_due_date_and_manager_told_after_it_once_each(
        derby, cli, shared_clock, smtp, celery_processes):
    _staff_with_email(cli)
    shared_clock.set(T0)
    alert_id = derby.report("rpo")
    task = derby.open_task("anna", alert_id)
    assert task["due"] == "2026-03-12"
    celery_processes.worker("w1")
    celery_processes.beat(seconds=1)

    shared_clock.set("2026-03-09T09:00")  # three days before: nothing yet
    rounds = _reminder_rounds(celery_processes)
    wait_for(lambda: _reminder_rounds(celery_processes) >= rounds + 3, "three rounds of reminders")
    assert smtp.messages == []

    shared_clock.set("2026-03-10T10:00")  # within two days (pack.toml [notifications] remind_before = "P2D")
    wait_for(lambda: smtp.messages, "the reminder")
    rounds = _reminder_rounds(celery_processes)
    wait_for(lambda: _reminder_rounds(celery_processes) >= rounds + 3, "three more rounds")
    [reminder] = smtp.messages
    assert reminder["to"] == ["rita@derby.example", "rob@derby.example"]  # the role, as nobody has claimed it
    assert f"task {task['task']}" in reminder["subject"] and "12 March 2026" in reminder["subject"]
    assert "John Smith" not in reminder["body"]  # no customer details in e-mail

    shared_clock.set("2026-03-12T10:00")  # overdue: the ASB Manager's manager is told
    wait_for(lambda: len(smtp.messages) == 2, "the escalation")
    rounds = _reminder_rounds(celery_processes)
    wait_for(lambda: _reminder_rounds(celery_processes) >= rounds + 3, "three more rounds")
    assert len(smtp.messages) == 2
    escalation = smtp.messages[1]
    assert escalation["to"] == ["hester@derby.example"] and escalation["subject"].startswith("Overdue")
    events = [e["action"] for e in derby.alert(alert_id)["events"]]
    assert events.count("reminder_sent") == 1 and events.count("escalation_sent") == 1


def test_without_redis_the_main_job_fires_timers_and_sends_reminders_in_its_own_process(
        derby, cli, shared_clock, smtp, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    _staff_with_email(cli)
    shared_clock.set(T0)
    alert_id = derby.report("rpo")
    task = derby.open_task("anna", alert_id)
    cli("task", "claim", task["task"], "--as", "rita")
    shared_clock.set("2026-03-11T09:00")
    assert "'reminders': 1" in cli("serve", "--once")
    assert "'reminders': 0" in cli("serve", "--once")  # once only
    assert [m["to"] for m in smtp.messages] == [["rita@derby.example"]]  # claimed: its assignee alone

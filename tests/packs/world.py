"""Driving a policy pack through the command line, as staff would (like tests/helpers.py's
DerbyWorld, for any pack)."""
import re
import shutil

from tests.helpers import settings
from workflows.definitions.pack import active_pack
from workflows.platform import config


def copy_pack(tmp_path, key):
    """A copy of a pack's folder under tmp_path, to edit; returns its pack.toml."""
    shutil.copytree(config.packs_dir() / key, tmp_path / key)
    return tmp_path / key / "pack.toml"


def world_on_copy(cli, monkeypatch, tmp_path, key, users, edit) -> "PackWorld":
    """A PackWorld on a copy of a pack that edit(pack.toml path) changed first, as an
    organisation would set its own pack up."""
    edit(copy_pack(tmp_path, key))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", key)
    return PackWorld(cli, users)


DPO = "dpo"  # the data protection officer: reads every story the pack's case_readers may (to check state)


class PackWorld:
    def __init__(self, cli, users: dict, customers=(("C1", "John Smith"), ("C2", "Mary Jones"), ("C3", "Peter Brown"))):
        self.cli = cli
        cli("pack", "deploy")
        for username, roles in {**users, DPO: [active_pack().compliance_role]}.items():
            cli("users", "add", username, "--name", username.title(), *sum((["--role", r] for r in roles), []))
        for ref, name in customers:
            cli("customers", "add", ref, "--name", name, "--address", f"{ref[1:]} High Street", "--postcode", "AB1 1AA")

    def report(self, category, customer="C1", who="sam", now=None, description="Something happened") -> int:
        out = self.cli("report", "--as", who, "--customer", customer, "--category", category,
                       "--description", description, now=now)
        return int(re.search(r"alert (\d+) reported", out).group(1))

    def inbox(self, who, now=None) -> list[dict]:
        return self.cli.json("inbox", "--as", who, now=now)

    def tasks_for(self, who, alert_id, now=None) -> list[dict]:
        return [t for t in self.inbox(who, now) if t["alert"] == alert_id]

    def open_task(self, who, alert_id, now=None) -> dict:
        """The one open step for this alert in this person's inbox."""
        tasks = self.tasks_for(who, alert_id, now)
        assert len(tasks) == 1, f"{who} has {len(tasks)} steps for alert {alert_id}: {tasks}"
        return tasks[0]

    def fields(self, who, task_id) -> dict:
        return {f["id"]: f for f in self.cli.json("task", "show", task_id, "--as", who)["fields"]}

    def complete(self, who, task_id, values, now=None) -> str:
        return self.cli("task", "complete", task_id, "--as", who, *settings(values), now=now)

    def refuse(self, who, task_id, values, now=None) -> str:
        return self.cli.fails("task", "complete", task_id, "--as", who, *settings(values), now=now)

    def alert(self, alert_id, who, now=None) -> dict:
        return self.cli.json("alerts", "show", alert_id, "--as", who, now=now)

    def fire_timers(self, now) -> int:
        return int(self.cli("timers", "fire", now=now).split()[0])

    def events(self, alert_id, who, action) -> list[dict]:
        return [e for e in self.alert(alert_id, who)["events"] if e["action"] == action]

"""Driving Alertflow through its command line, as staff would."""
import json
import re
from contextlib import contextmanager

from click.testing import CliRunner

from cli.main import main

USERS = {
    "sam": ["staff"], "tina": ["asb_team"], "anna": ["asb_manager"], "alex": ["asb_manager"],
    "carl": ["complex_needs_manager"], "helen": ["head_of_service"], "harry": ["head_of_service"],
    "ivy": ["investigating_officer"], "hugo": ["head_of_housing_management"],
    "arthur": ["area_housing_manager"], "sean": ["service_manager"], "pat": ["personnel_manager"],
}

RISK = {
    "risk_source": "Police", "risk_nature": "physical_harm", "evidence": "Incident log",
    "likelihood": "medium", "impact": "high", "decision_reason": "Real risk to staff",
}


_SEEDED_HASHES: dict[str, str] = {}


@contextmanager
def one_hash_per_password():
    """While a fixture seeds accounts: each password is hashed once per run (by the app's own
    generate_password_hash, its method and cost unchanged) and that hash is given to every
    account seeded with it, instead of a fresh scrypt hash (~0.1-0.2 s) per account per test.
    Only the salt is shared among seeded accounts; signing in still checks the hash at full cost,
    and a password set by a test itself (web page, `users password`) is hashed as in production."""
    from workflows.accounts import credentials

    real = credentials.generate_password_hash

    def hashed_once(password, *args, **kwargs):
        if args or kwargs:
            return real(password, *args, **kwargs)
        if password not in _SEEDED_HASHES:
            _SEEDED_HASHES[password] = real(password)
        return _SEEDED_HASHES[password]

    credentials.generate_password_hash = hashed_once
    try:
        yield
    finally:
        credentials.generate_password_hash = real


class Cli:
    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args, now=None):
        """Run a command that must succeed; returns what it printed."""
        result = self._run(args, now)
        assert result.exit_code == 0, f"alertflow {' '.join(map(str, args))}\n{result.output}{result.exception!r}"
        return result.stdout

    def fails(self, *args, now=None):
        """Run a command that must fail cleanly (status 1); returns its error output."""
        result = self._run(args, now)
        assert result.exit_code == 1, f"expected failure: alertflow {' '.join(map(str, args))}\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.stderr

    def json(self, *args, now=None):
        return json.loads(self(*args, "--json", now=now))

    def _run(self, args, now):
        argv = (["--now", now] if now else []) + [str(a) for a in args]
        return self.runner.invoke(main, argv)


def settings(values: dict) -> list[str]:
    """--set options for a form."""
    out = []
    for field, value in values.items():
        out += ["--set", f"{field}={value}"]
    return out


class DerbyWorld:
    def __init__(self, cli: Cli):
        self.cli = cli
        cli("pack", "deploy")
        for username, roles in USERS.items():
            cli("users", "add", username, "--name", username.title(), *sum((["--role", r] for r in roles), []))
        for ref, name in (("C1", "John Smith"), ("C2", "Mary Jones"), ("C3", "Peter Brown")):
            cli("customers", "add", ref, "--name", name, "--address", f"{ref[1:]} High Street, Derby",
                "--postcode", "DE1 1AA")

    def report(self, category, customer="C1", who="sam", now=None) -> int:
        out = self.cli("report", "--as", who, "--customer", customer, "--category", category,
                       "--description", "Something happened", now=now)
        return int(re.search(r"alert (\d+) reported", out).group(1))

    def inbox(self, who, now=None) -> list[dict]:
        return self.cli.json("inbox", "--as", who, now=now)

    def open_task(self, who, alert_id, now=None) -> dict:
        """The one open step for this alert in this person's inbox."""
        tasks = [t for t in self.inbox(who, now) if t["alert"] == alert_id]
        assert len(tasks) == 1, f"{who} has {len(tasks)} steps for alert {alert_id}: {tasks}"
        return tasks[0]

    def complete(self, who, task_id, values, now=None) -> str:
        return self.cli("task", "complete", task_id, "--as", who, *settings(values), now=now)

    def refuse(self, who, task_id, values, now=None) -> str:
        return self.cli.fails("task", "complete", task_id, "--as", who, *settings(values), now=now)

    def alert(self, alert_id, who="hugo", now=None) -> dict:
        return self.cli.json("alerts", "show", alert_id, "--as", who, now=now)

    def fire_timers(self, now) -> int:
        return int(self.cli("timers", "fire", now=now).split()[0])

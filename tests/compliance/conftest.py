"""A seeded Derby world for the compliance tests, on the clock at NOW = 2026-06-15 12:00.

  A1  C1 John Smith    rpo            active; letter written 03-04, not recorded as sent; appeal lodged
                                      05-20, hearing (Head of Service) due 06-03, not heard
  A2  C2 Mary Jones    partner_info   active; not told, reason recorded (non-disclosure)
  A3  C4 Susan Green   rpo            active, scheduled offender (restricted to the secure list); not told,
                                      reason recorded; review due 07-06; appeal lodged 05-25, due 06-08
  A4  C3 Peter Brown   near_miss      active since 2025-11-12; review fell due 05-12, its step (Head of
                                      Service) due 05-26, not done; letter not recorded as sent
  A5  C2 Mary Jones    mental_health  assessment step claimed by carl, due 04-11
  A6  C3 Peter Brown   rpo            assessment step (ASB Manager) due 06-11
  A7  C1 John Smith    complaints     appointing step (Head of Service), due 06-17: not yet overdue
"""

import pytest

from tests.helpers import MARKER, PASSWORD, Browser, one_hash_per_password

NOW = "2026-06-15T12:00"
EXTRA_USERS = {"cora": "compliance_officer", "ada": "admin"}


class Seeded:
    def __init__(self, derby, cli):
        self.derby, self.cli = derby, cli
        for username, role in EXTRA_USERS.items():
            cli("users", "add", username, "--name", username.title(), "--role", role)
        cli("customers", "add", "C4", "--name", "Susan Green", "--address", "4 Low Road, Derby", "--postcode", "DE2 2BB")
        d = derby
        self.a1 = self._placed("rpo", "C1", "2026-03-02T09:00", "anna", "2026-03-04T10:00",
                               {"offence_date": "2025-01-01", "offence_nature": "Assault, 2025", "scheduled_offender": "no", **MARKER},
                               recorded="2026-03-04T11:00")
        self.a2 = self._placed("partner_info", "C2", "2026-03-02T09:00", "anna", "2026-03-04T10:00",
                               {"partner_source": "Derbyshire Police", "complex_needs_consulted": "no", **MARKER,
                                "inform_tenant": "no",
                                "non_disclosure_reason": "Telling her may put the informant at risk"},
                               recorded="2026-03-04T11:00")
        self.a3 = self._placed("rpo", "C4", "2026-01-05T09:00", "anna", "2026-01-06T10:00",
                               {"offence_date": "2025-01-01", "offence_nature": "Scheduled offence", "scheduled_offender": "yes", **MARKER,
                                "inform_tenant": "no", "non_disclosure_reason": "Police advice: MAPPA"},
                               recorded="2026-01-06T11:00", keeper="anna")
        self.a4 = self._placed("near_miss", "C3", "2025-11-10T09:00", "helen", "2025-11-12T10:00",
                               {"assessment_method": "Talked to the officer", **MARKER},
                               recorded="2025-11-12T11:00")
        assert d.fire_timers("2026-05-12T12:00") == 1  # A4's review falls due; its step is due 14 days on
        self.a5 = d.report("mental_health", customer="C2", now="2026-04-01T09:00")
        cli("task", "claim", d.open_task("carl", self.a5, "2026-04-01T09:00")["task"], "--as", "carl",
            now="2026-04-01T10:00")
        self.a6 = d.report("rpo", customer="C3", now="2026-06-01T09:00")
        self.a7 = d.report("complaints", customer="C1", now="2026-06-12T09:00")
        cli("appeal", self.a1, "--as", "sam", "--grounds", "I have changed", now="2026-05-20T09:00")
        cli("appeal", self.a3, "--as", "anna", "--grounds", "Not a risk any more", now="2026-05-25T09:00")

    def _placed(self, category, customer, reported, decider, decided, values, recorded, keeper="tina") -> int:
        """A marker decided (on the register at once), then put on the red triangle by its keeper."""
        d = self.derby
        alert_id = d.report(category, customer=customer, now=reported)
        d.complete(decider, d.open_task(decider, alert_id, decided)["task"], values, now=decided)
        task = d.open_task(keeper, alert_id, recorded)
        d.complete(keeper, task["task"], {"housing_system_reference": f"RT-{alert_id}"}, now=recorded)
        return alert_id


@pytest.fixture
def seeded(derby, cli):
    return Seeded(derby, cli)


def signed_in_client(app, username):
    """A test client signed in as this person of the world (given the tests' password first), the
    second step too for the roles that need it."""
    from workflows.accounts import credentials
    from workflows.platform import db as database
    with one_hash_per_password(), database.transaction() as db:
        credentials.set_password(db, username=username, password=PASSWORD, by="test")
    return Browser(app, username).client


@pytest.fixture
def web(app, seeded):
    """Sign in as anyone of the seeded world: web('cora') is a signed-in test client."""
    return lambda username: signed_in_client(app, username)

"""`alertflow demo` loads each pack's demo users and cases when that pack is chosen."""
import pytest

PACKS = ["karbon", "dover", "shal", "polha"]


@pytest.mark.parametrize("key", PACKS)
def test_demo_loads_users_and_cases(key, cli, monkeypatch):
    monkeypatch.setenv("ALERTFLOW_PACK", key)
    assert "demo loaded" in cli("demo")
    assert "no problems found" in cli("pack", "check")
    users = cli("users", "list")
    assert "admin" in users
    alerts = cli.json("alerts", "list", "--as", "compliance.officer", "--status", "all")
    assert alerts and {a["status"] for a in alerts} >= {"active", "under_assessment"}
    assert "already loaded" in cli("demo")

"""`alertflow demo` loads each pack's demo users and cases when that pack is chosen."""
import json

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


def test_derby_demo_a_decided_marker_protects_staff_while_the_red_triangle_step_is_overdue(cli, monkeypatch):
    """D1002: decided three days ago ("phone first; visit in pairs"), the ASB team's step two days
    due. Staff see the instruction now; the overdue step is on the ASB team's inbox and the dashboard."""
    monkeypatch.setenv("ALERTFLOW_PACK", "derby")
    assert "demo loaded" in cli("demo")
    check = cli("check", "Lisa Hartley", "--as", "staff")
    assert "MARKER: Phone before visiting; visit in pairs" in check
    assert "Phone before visiting; visit in pairs" in cli("visit-list", "--as", "staff")
    steps = [t for t in cli.json("inbox", "--as", "asb.team") if t["customer"] == "D1002"]
    assert [(t["title"], t["kind"], t["overdue"]) for t in steps] == [
        ("Update the red triangle: place the marker", "housing_system", True)]
    board = json.loads(cli("dashboard", "--as", "compliance.officer"))
    assert [r["title"] for r in board["overdue"] if r["customer"] == "D1002"] == ["Update the red triangle: place the marker"]

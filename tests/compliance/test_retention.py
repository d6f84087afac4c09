"""Retention of closed records follows the pack's `retain_closed_for`: the dashboard lists
closed records kept past it (a pack that sets none lists nothing). Derby's procedure gives no
period, so this test sets one on a copy of Derby's pack."""
import json
import shutil

from tests.compliance.conftest import signed_in_client
from tests.helpers import DerbyWorld, RISK
from workflows.platform import clock, config


def test_closed_records_past_the_packs_retention_period(database_url, app, cli, monkeypatch, tmp_path):
    shutil.copytree(config.packs_dir() / "derby", tmp_path / "derby")
    toml = tmp_path / "derby" / "pack.toml"
    toml.write_text(toml.read_text().replace('tell_tenant_within = "P14D"',
                                             'tell_tenant_within = "P14D"\nretain_closed_for = "P1Y"'))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    derby = DerbyWorld(cli)
    cli("users", "add", "cora", "--name", "Cora", "--role", "compliance_officer")
    old = derby.report("near_miss", customer="C1", now="2025-01-10T09:00")
    derby.complete("helen", derby.open_task("helen", old, "2025-01-10T10:00")["task"],
                   {"assessment_method": "Spoke to staff", **RISK, "place_marker": "no"}, now="2025-01-10T10:00")
    recent = derby.report("near_miss", customer="C2", now="2025-09-01T09:00")
    derby.complete("helen", derby.open_task("helen", recent, "2025-09-01T10:00")["task"],
                   {"assessment_method": "Spoke to staff", **RISK, "place_marker": "no"}, now="2025-09-01T10:00")
    board = json.loads(cli("--now", "2026-03-01T12:00", "dashboard", "--as", "cora"))
    assert board["retain_closed_for"] == "P1Y"
    assert [(r["alert"], r["closed"], r["keep_until"], r["status"]) for r in board["past_retention"]] == [
        (old, "2025-01-10", "2026-01-10", "not_placed")]
    cora = signed_in_client(app, "cora")
    with clock.frozen_at(clock.parse_moment("2026-03-01T12:00")):
        page = cora.get("/compliance").get_data(as_text=True)
    assert "<td>Not placed</td>" in page and "not placed" not in page  # the status in words


def test_a_pack_without_a_retention_period_lists_nothing(seeded, cli):
    board = json.loads(cli("--now", "2030-01-01", "dashboard", "--as", "cora"))
    assert board["retain_closed_for"] is None and board["past_retention"] == []

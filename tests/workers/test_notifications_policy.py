"""The reminder and escalation policy is pack data, checked when the pack is loaded."""
import shutil

import pytest

from workflows.platform import config
from workflows.definitions.pack import PackError, load_pack


def _pack_with(tmp_path, notifications: str):
    shutil.copytree(config.PROJECT_ROOT / "bpmn" / "derby", tmp_path / "derby")
    toml = tmp_path / "derby" / "pack.toml"
    text = toml.read_text()
    toml.write_text(text[:text.index("[notifications]")] + notifications)
    return load_pack("derby", tmp_path)


def test_derby_reminds_two_days_ahead_and_escalates_to_each_roles_manager():
    notes = load_pack("derby").notifications
    assert notes.remind_before == "P2D" and notes.escalate_after == "PT0S"
    assert notes.managers["asb_manager"] == "head_of_service"
    assert notes.managers["head_of_service"] == "head_of_housing_management"


def test_an_unknown_role_or_a_bad_duration_is_refused_when_the_pack_loads(tmp_path):
    with pytest.raises(PackError, match="unknown role 'area_boss'"):
        _pack_with(tmp_path / "a", '[notifications]\nremind_before = "P2D"\n[notifications.managers]\nstaff = "area_boss"\n')
    with pytest.raises(PackError, match="remind_before"):
        _pack_with(tmp_path / "b", '[notifications]\nremind_before = "two days"\n')
    with pytest.raises(PackError, match="unknown settings"):
        _pack_with(tmp_path / "c", '[notifications]\nremind_befor = "P2D"\n')


def test_the_shared_clock_moves_every_process_reading_the_file(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.helpers import Cli

    cli = Cli()
    monkeypatch.delenv("ALERTFLOW_CLOCK_FILE", raising=False)
    assert "set ALERTFLOW_CLOCK_FILE" in cli.fails("clock", "set", "2027-01-01")
    monkeypatch.setenv("ALERTFLOW_CLOCK_FILE", str(tmp_path / "clock"))
    cli("clock", "set", "2027-01-01T09:30")
    other_process = subprocess.run([str(Path(sys.executable).parent / "alertflow"), "clock", "show"],
                                   capture_output=True, text=True, env=dict(os.environ))
    assert other_process.stdout.strip() == "2027-01-01T09:30:00+00:00", other_process.stderr
    cli("clock", "reset")
    assert not cli("clock", "show").startswith("2027-01-01")

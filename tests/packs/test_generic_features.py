"""The generic features the four packs brought (no pack names in code): checked on their own."""
import dataclasses
import shutil

import pytest

from tests.packs.world import copy_pack
from workflows import config, definitions
from workflows.pack import PackError, load_pack


def test_a_timer_may_read_case_data_but_only_names_the_case_has(tmp_path):
    pack = load_pack("karbon")
    xml = (pack.directory / "karbon_review.bpmn").read_text()
    assert definitions.check(xml, "karbon_review.bpmn", pack) == []
    broken = xml.replace("marker_code == 'DNV'", "marker_kode == 'DNV'")
    findings = [str(f) for f in definitions.check(broken, "karbon_review.bpmn", pack)]
    assert findings and "marker_kode" in findings[0] and "due_def" in findings[0]


def test_pack_settings_are_checked_when_the_pack_loads(tmp_path):
    path = copy_pack(tmp_path, "shal")
    text = path.read_text()
    path.write_text(text.replace('deputises_for = ["housing_manager"]', 'deputises_for = ["housing_boss"]'))
    with pytest.raises(PackError, match="deputises_for unknown roles"):
        load_pack("shal", tmp_path)

    dover = tmp_path / "dover"
    shutil.copytree(config.packs_dir() / "dover", dover)
    toml = dover / "pack.toml"
    toml.write_text(toml.read_text().replace('appeal_within = "P14D"', 'appeal_within = "fourteen days"'))
    with pytest.raises(PackError, match="appeal_within"):
        load_pack("dover", tmp_path)


def test_letter_delivery_methods_come_from_the_pack(tmp_path):
    path = copy_pack(tmp_path, "dover")
    assert "hand delivered" in load_pack("dover", tmp_path).delivery_methods  # the default list
    text = path.read_text().replace('appeal_within = "P14D"', 'appeal_within = "P14D"\n'
                                    'letter_delivery_methods = ["recorded delivery", "hand delivered by two officers"]')
    path.write_text(text)
    pack = load_pack("dover", tmp_path)
    assert pack.delivery_methods == ("recorded delivery", "hand delivered by two officers")
    # the diagram's service task records "hand delivered", which this pack no longer offers
    xml = (pack.directory / "dover_assessment.bpmn").read_text()
    findings = [str(f) for f in definitions.check(xml, "dover_assessment.bpmn", pack)]
    assert findings == ["dover_assessment.bpmn: delivered: unknown delivery method 'hand delivered' "
                        "(the pack's: recorded delivery, hand delivered by two officers)"]
    path.write_text(text.replace('["recorded delivery", "hand delivered by two officers"]', "[]"))
    with pytest.raises(PackError, match="letter_delivery_methods must be a list of one or more names"):
        load_pack("dover", tmp_path)


def test_a_pack_that_keeps_markers_after_a_tenancy_ends_only_records_the_end(karbon, cli):
    alert_id = karbon.report("threats", customer="C1", now="2026-03-02T09:00")
    task = karbon.open_task("mia", alert_id, "2026-03-02T09:00")
    karbon.complete("mia", task["task"], {
        "report_source": "staff", "investigation_findings": "x", "incident_nature": "x", "future_risk": "low",
        "person_involved": "x", "person_relationship": "lead_tenant", "vulnerabilities_considered": "x",
        "add_to_register": "yes", "decision_reason": "x", "marker_code": "VIP", "marker_text": "Visit in pairs",
        "inform_customer": "yes", "inform_agencies": "no"}, now="2026-03-02T10:00")
    assert "0 marker(s) removed" in cli("tenancy", "end", "C1", "--as", "sam")
    assert karbon.alert(alert_id, "mia")["status"] == "active"
    assert "no customer with reference" in cli.fails("tenancy", "end", "C9", "--as", "sam")


def test_requests_and_appeals_name_what_is_missing(karbon, cli):
    alert_id = karbon.report("threats", customer="C2", now="2026-03-02T09:00")
    assert "no request 'subject_access' (requests: none)" in cli.fails(
        "request", alert_id, "--as", "sam", "--kind", "subject_access", "--details", "x")
    assert "there is no alert 99" in cli.fails("appeal", 99, "--as", "sam", "--grounds", "x")


def test_a_pack_that_issues_letters_must_say_how_soon_the_tenant_is_told(cli, monkeypatch, tmp_path):
    seed = config.packs_dir()
    toml = copy_pack(tmp_path, "karbon")
    text = toml.read_text()
    assert 'tell_tenant_within = "P14D"' in text
    toml.write_text(text.replace('tell_tenant_within = "P14D"', ""))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "karbon")
    for command in (("pack", "check"), ("pack", "deploy")):
        error = cli.fails(*command)
        assert error.endswith("the pack issues letters, so it must say how soon the tenant is told of a decision: "
                              "set [registers] tell_tenant_within, e.g. tell_tenant_within = \"P14D\" (an ISO 8601 "
                              "duration; the dashboard lists letters not delivered by then)\n"), error
        assert len(error.splitlines()) == 1
    # a diagram's issue_letter is checked against the same setting
    pack = load_pack("karbon", seed)
    pack.registers = dataclasses.replace(pack.registers, tell_tenant_within=None)
    xml = (pack.directory / "karbon_assessment.bpmn").read_text()
    findings = [str(f) for f in definitions.check(xml, "karbon_assessment.bpmn", pack)]
    assert findings and all("set [registers] tell_tenant_within in pack.toml" in f for f in findings)


def test_the_next_review_counts_from_the_due_date_unless_the_pack_says_otherwise(tmp_path):
    toml = copy_pack(tmp_path, "dover")
    assert load_pack("dover", tmp_path).review_from_due_date is True  # the default
    toml.write_text(toml.read_text().replace('appeal_within = "P14D"',
                                             'appeal_within = "P14D"\nreview_from_due_date = false'))
    assert load_pack("dover", tmp_path).review_from_due_date is False

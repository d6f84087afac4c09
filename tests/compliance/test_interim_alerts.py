"""Urgent interim alerts still without a full assessment, on a pack that has them (Dover: a
credible threat puts an alert on at once, pending the line manager's assessment)."""
import json

from tests.packs.world import PackWorld

USERS = {"sam": ["officer"], "lena": ["manager"], "cara": ["customer_services"], "hank": ["head_of_housing"],
         "cora": ["compliance_officer"]}
INCIDENT = {"incident_channel": "face_to_face", "incident_record": "He threatened to stab me",
            "line_manager": "lena", "credible_threat": "yes", "marker_text": "URGENT: do not visit"}
CONFIRMED = {"discussed_with_officer": "yes", "vulnerability_support": "None known", "behaviour_contact": "no_warning",
             "severity": "L3", "future_risk": "L3",
             "alert_needed": "yes", "decision_reason": "Threat to stab", "level": "L3",
             "marker_text": "Level 3: no home visits", "control_measures": "visit_in_pairs",
             "contact_restrictions": "none", "threat_credible": "yes", "police_referred": "yes", "inform_customer": "yes",
             "no_warning_reason": "Threat to stab; police involved", "staff_alerted": "yes", "police_reference": "KP-77"}


def test_an_urgent_alert_waits_on_the_dashboard_until_its_assessment_decides(monkeypatch, cli):
    monkeypatch.setenv("ALERTFLOW_PACK", "dover")
    dover = PackWorld(cli, USERS)
    alert_id = dover.report("incident", now="2026-03-02T09:00")
    dover.complete("sam", dover.open_task("sam", alert_id, "2026-03-02T09:30")["task"], INCIDENT, now="2026-03-02T09:30")
    cara = dover.open_task("cara", alert_id, "2026-03-02T10:00")  # the urgent alert goes on the housing system too
    dover.complete("cara", cara["task"], {"housing_system_reference": "CA-1"}, now="2026-03-02T10:00")

    board = json.loads(cli("--now", "2026-03-09T12:00", "dashboard", "--as", "cora"))
    assert [(r["alert"], r["placed"], r["days"]) for r in board["interim"]] == [(alert_id, "2026-03-02", 7)]
    assert board["markers"] == [{"category": "incident", "category_label": board["markers"][0]["category_label"],
                                 "level": "no level", "count": 1}]

    task = dover.open_task("lena", alert_id, "2026-03-09T12:00")
    dover.complete("lena", task["task"], CONFIRMED, now="2026-03-09T12:00")
    cara = dover.open_task("cara", alert_id, "2026-03-09T12:30")
    dover.complete("cara", cara["task"], {"housing_system_reference": "CA-1"}, now="2026-03-09T12:30")
    board = json.loads(cli("--now", "2026-03-10T12:00", "dashboard", "--as", "cora"))
    assert board["interim"] == []
    assert [(m["level"], m["count"]) for m in board["markers"]] == [("L3", 1)]

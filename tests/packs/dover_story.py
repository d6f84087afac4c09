"""Dover's pack played through the command line: the answers and steps its tests share."""
from tests.packs.world import DPO

T0 = "2026-03-02T09:00"
RECORDED = "2026-03-02T09:30"
DECIDED = "2026-03-03T10:00"
INCIDENT = {"incident_channel": "face_to_face", "incident_record": "Meeting ended; he threatened to hit me",
            "line_manager": "lena", "credible_threat": "no"}
ASSESS = {"discussed_with_officer": "yes", "vulnerability_support": "None known", "behaviour_contact": "spoken", "severity": "L2", "future_risk": "L2", "alert_needed": "yes",
          "decision_reason": "Threatened to hit an officer at a meeting", "level": "L2",
          "marker_text": "Level 2: visit in pairs", "control_measures": "visit_in_pairs",
          "contact_restrictions": "none", "threat_credible": "no", "police_referred": "no", "inform_customer": "yes"}
KEEP = {"new_information": "None received", "risk_reduced": "no", "measures_proportionate": "yes",
        "review_outcome": "keep", "review_reason": "Still a risk", "contact_restrictions": "none",
        "restrictions_reason": "None needed", "inform_customer": "yes"}


EXTERNAL = {"information_source": "Kent Police", "incident_record": "Known to the police for violence",
            "credible_threat": "no"}
EXTERNAL_ASSESS = {k: v for k, v in ASSESS.items() if k not in ("discussed_with_officer", "behaviour_contact")}


def record_external(dover, alert_id, values=EXTERNAL, who="mike", now=T0):
    """§8.2: the nominated manager records what was received and whether it shows a credible threat (§8.7)."""
    task = dover.open_task(who, alert_id, now)
    assert task["title"].startswith("Record the information received")
    dover.complete(who, task["task"], values, now=now)


def record_incident(dover, alert_id, values=INCIDENT, now=RECORDED):
    task = dover.open_task("sam", alert_id, now)
    assert task["assignee"] == "sam"  # the reporting officer keeps the file record
    dover.complete("sam", task["task"], values, now=now)


def assess(dover, alert_id, values, who="lena", now=DECIDED, change="place the marker"):
    task = dover.open_task(who, alert_id, now)
    dover.complete(who, task["task"], values, now=now)
    if values.get("alert_needed") == "yes":
        alert = dover.alert(alert_id, DPO, now=now)
        assert alert["status"] == "active" and alert["decision_no"] >= 1  # on the register at the decision
        on_system(dover, alert_id, now, change)
    return dover.alert(alert_id, DPO)


def on_system(dover, alert_id, now=DECIDED, change="place the marker"):
    """§6.5: the Customer Service team puts the change on the account; the register gave them the step."""
    task = dover.open_task("cara", alert_id, now)
    assert task["kind"] == "housing_system"
    assert task["title"] == f"Update the housing management system: {change}"
    assert "housing_system_reference" in dover.refuse("cara", task["task"], {"housing_system_ref": "CA-1"}, now=now)
    dover.complete("cara", task["task"], {"housing_system_reference": "CA-1"}, now=now)

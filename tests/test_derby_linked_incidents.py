"""Derby's linked incidents (bpmn/derby/derby_incident.bpmn) through the command line: a new
concern about a tenant already marked is assessed against the marker by the manager who reviews its
category (§3, §6), who may bring the six-monthly review forward; one review waits throughout."""
from tests.helpers import KEEP, MARKER, record_on_red_triangle

T0, DECIDED, LATER = "2026-03-02T09:00", "2026-03-03T10:00", "2026-04-01T09:00"
ASSESSED = {"incident_conduct": "Shouted at the caretaker in the stairwell", "incident_outcome": "sooner",
            "review_by": "2026-05-01"}


def running_reviews(derby, alert_id):
    return [c for c in derby.alert(alert_id)["cases"] if c["kind"] == "review" and c["status"] == "running"]


def test_a_new_concern_about_a_marked_tenant_is_assessed_knowing_the_marker_and_brings_the_review_forward(derby, cli):
    alert_id = derby.report("rpo", now=T0)
    derby.complete("anna", derby.open_task("anna", alert_id, T0)["task"],
                   {"offence_date": "2025-01-01", "offence_nature": "Assault, 2025", "scheduled_offender": "no", **MARKER}, now=DECIDED)
    record_on_red_triangle(derby, alert_id)
    assert derby.alert(alert_id)["next_review"] == "2026-09-03"  # six months from the decision (§6)
    out = cli("report", "--as", "sam", "--customer", "C1", "--category", "rpo", "--description",
              "Threatened the caretaker again", "--link-to", alert_id, now=LATER)
    assert f"concern linked to the marker on alert {alert_id}" in out
    task = derby.open_task("anna", alert_id, LATER)  # the ASB Manager reviews offenders' markers (§6)
    assert task["title"] == "Assess the new incident against the marker"
    shown = cli("task", "show", task["task"], "--as", "anna", now=LATER)
    assert f"the marker this concern is linked to (alert {alert_id}): RPO or criminal offender" in shown
    assert "next review 3 September 2026" in shown and "linked by sam: Threatened the caretaker again" in shown
    derby.complete("anna", task["task"], ASSESSED, now=LATER)
    alert = derby.alert(alert_id)
    assert alert["next_review"] == "2026-05-01" and len(running_reviews(derby, alert_id)) == 1
    assert [i["linked"] for i in alert["incidents"]] == [False, True]
    assert alert["assessments"][-1]["content"]["incident_conduct"] == ASSESSED["incident_conduct"]
    assert derby.fire_timers("2026-04-30T23:00") == 0
    assert derby.fire_timers("2026-05-01T00:01") == 1
    review = derby.open_task("anna", alert_id, "2026-05-01T00:01")
    assert review["title"] == "Review the marker"
    derby.complete("anna", review["task"], KEEP, now="2026-05-02T10:00")
    assert len(running_reviews(derby, alert_id)) == 1
    assert derby.alert(alert_id)["next_review"] == "2026-11-01"  # six months from the brought-forward review

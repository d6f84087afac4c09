"""A subject access export holds every row about the person, and nothing about anyone else;
what a decision not to tell them covers is marked withheld; a marker's dossier prints its whole
history. Through the web app (JSON and PDF) and the CLI."""
import io
import json

from pypdf import PdfReader
from sqlalchemy import select

from workflows.platform import db as database
from workflows.platform.models import (Alert, AuditEvent, Case, Customer, HumanTask, Letter, NonDisclosure, Note, RiskAssessment)


def rows_about(customer_ref):
    """Every row the database holds about this customer, by kind, as the export names them."""
    with database.transaction() as db:
        customer = db.scalar(select(Customer).where(Customer.reference == customer_ref))
        alerts = list(db.scalars(select(Alert.id).where(Alert.customer_id == customer.id)))
        cases = list(db.scalars(select(Case.id).where(Case.alert_id.in_(alerts))))
        return {
            "alerts": set(alerts),
            "risk_assessments": set(db.scalars(select(RiskAssessment.id).where(RiskAssessment.alert_id.in_(alerts)))),
            "letters": set(db.scalars(select(Letter.id).where(Letter.alert_id.in_(alerts)))),
            "non_disclosures": set(db.scalars(select(NonDisclosure.id).where(NonDisclosure.alert_id.in_(alerts)))),
            "notes": set(db.scalars(select(Note.id).where(Note.customer_id == customer.id))),
            "tasks": set(db.scalars(select(HumanTask.id).where(HumanTask.case_id.in_(cases)))),
            "events": set(db.scalars(select(AuditEvent.id).where(AuditEvent.alert_id.in_(alerts)))),
        }


def exported_ids(data):
    out = {"alerts": set(), "risk_assessments": set(), "letters": set(), "non_disclosures": set(), "notes": set(),
           "tasks": set(), "events": set()}
    for a in data["alerts"]:
        out["alerts"].add(a["alert"])
        for kind in ("risk_assessments", "letters", "non_disclosures", "notes", "tasks", "events"):
            out[kind] |= {row["id"] for row in a[kind]}
    out["notes"] |= {n["id"] for n in data["notes"]}
    return out


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_subject_access_holds_every_row_about_the_person_and_nothing_about_anyone_else(seeded, web, cli):
    client = web("hugo")  # Head of Housing Management: may export, and is on the secure list
    response = client.get("/compliance/subject-access/C1.json")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    data = response.get_json()
    assert data["subject"]["reference"] == "C1" and data["subject"]["name"] == "John Smith"
    assert exported_ids(data) == rows_about("C1")
    assert {a["alert"] for a in data["alerts"]} == {seeded.a1, seeded.a7}
    text = json.dumps(data)
    for other in ("Mary Jones", "Peter Brown", "Susan Green", "C2", "C3", "C4", "informant", "MAPPA"):
        assert other not in text
    a1 = next(a for a in data["alerts"] if a["alert"] == seeded.a1)
    assert a1["withheld_sections"] == [] and a1["marker"]["marker_text"] == "Visit in pairs"
    assert a1["letters"][0]["title"] == "A note has been added to your record"
    assert a1["risk_assessments"][0]["content"]["offence_nature"] == "Assault, 2025"


def test_what_a_decision_not_to_tell_covers_is_withheld(seeded, web):
    data = web("hugo").get("/compliance/subject-access/C2.json").get_json()
    assert exported_ids(data) == rows_about("C2")  # every row is accounted for, withheld or not
    a2 = next(a for a in data["alerts"] if a["alert"] == seeded.a2)
    # Derby's pack: withheld_when_not_told = marker, risk_assessments, notes, non_disclosures, tasks, events
    assert a2["withheld_sections"] == ["events", "marker", "non_disclosures", "notes", "risk_assessments", "tasks"]
    assert a2["marker"] == {"withheld": True, "reason": "withheld: covered by a decision not to tell the customer"}
    for kind in ("risk_assessments", "non_disclosures", "tasks", "events"):
        assert a2[kind] and all(set(row) == {"id", "withheld", "reason"} for row in a2[kind]), kind
    a5 = next(a for a in data["alerts"] if a["alert"] == seeded.a5)  # no decision not to tell on this one
    assert a5["withheld_sections"] == [] and a5["marker"]["category"] == "mental_health"
    text = json.dumps(data)
    assert "informant" not in text and "Derbyshire Police" not in text and "Visit in pairs" not in text


def test_the_subject_access_pdf_marks_withheld_items(seeded, web):
    response = web("hugo").get("/compliance/subject-access/C2.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "Mary Jones" in text and "withheld: covered by a decision not to tell the customer" in text
    assert "informant" not in text and "John Smith" not in text


def test_restricted_records_and_who_may_export(seeded, web, cli):
    # the compliance officer may export, but Derby's secure list does not include them
    cora = web("cora").get("/compliance/subject-access/C4.json").get_json()
    assert cora["alerts"] == []
    hugo = web("hugo").get("/compliance/subject-access/C4.json").get_json()
    assert [a["alert"] for a in hugo["alerts"]] == [seeded.a3]
    for who in ("sam", "anna", "helen"):
        assert web(who).get("/compliance/subject-access/C1.json").status_code == 403
    assert web("hugo").get("/compliance/subject-access/C99.json").status_code == 404
    assert "open only to" in cli.fails("export", "subject-access", "C1", "--as", "anna")
    data = json.loads(cli("export", "subject-access", "C1", "--as", "cora"))
    assert exported_ids(data) == rows_about("C1")
    with database.transaction() as db:
        exports = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "subject_access_exported")
                                    .order_by(AuditEvent.id)))
    assert [(e.actor, e.detail["customer"]) for e in exports] == [("cora", "C4"), ("hugo", "C4"), ("cora", "C1")]


def test_a_marker_dossier_prints_its_whole_history(seeded, web, derby, tmp_path, cli):
    from tests.compliance.conftest import NOW
    hearing = derby.open_task("helen", seeded.a1, NOW)
    derby.complete("helen", hearing["task"], {"appeal_outcome": "uphold", "appeal_reasons": "The risk stands"}, now=NOW)
    response = web("cora").get(f"/alerts/{seeded.a1}/dossier.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in ("Marker dossier A%06d" % seeded.a1, "John Smith", "Something happened",  # the report
                     "Assault, 2025",                                  # the risk assessment
                     "marker placed", "Decision 1",
                     "A note has been added to your record",           # the letter
                     "I have changed", "The risk stands", "uphold",    # the appeal
                     "Every event"):
        assert expected in text, expected
    # the scheduled offender's dossier: secure list only, and opening it is audited
    assert web("cora").get(f"/alerts/{seeded.a3}/dossier.pdf").status_code == 404
    restricted = pdf_text(web("hugo").get(f"/alerts/{seeded.a3}/dossier.pdf").data)
    assert "Police advice: MAPPA" in restricted and "Scheduled offender" in restricted
    with database.transaction() as db:
        viewed = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "restricted_record_viewed",
                                                          AuditEvent.alert_id == seeded.a3)))
    assert [e.actor for e in viewed] == ["hugo"]
    out = tmp_path / "dossier.pdf"
    cli("export", "dossier", seeded.a2, "--as", "cora", "--output", out)
    assert "Telling her may put the informant at risk" in pdf_text(out.read_bytes())

"""The register of active markers, the non-disclosure register and the out-of-hours list, as
each role sees them through the web app and the CLI: restricted rows are absent for roles that
may not see them, reasons never reach the out-of-hours list, and a removed marker leaves both
lists at once."""
import csv
import io
import json

from tests.compliance.conftest import NOW
from tests.helpers import USERS

REGISTER_READERS = {"cora", "tina", "anna", "alex", "helen", "harry", "hugo"}
SECURE_LIST = {"anna", "alex", "arthur", "hugo"}  # Derby §5.1 (arthur: area housing manager)
NON_DISCLOSURE_READERS = {"tina", "anna", "alex", "hugo", "cora"}


def rows_of_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


EVERYONE = sorted([*USERS, "cora", "ada"])


def test_register_exports_as_each_role(seeded, web):
    for who in EVERYONE:
        check_register_as(seeded, web(who), who)


def check_register_as(seeded, client, who):
    page, as_csv, as_json = (client.get(f"/compliance/register{ext}") for ext in ("", ".csv", ".json"))
    if who not in REGISTER_READERS:
        assert page.status_code == as_csv.status_code == as_json.status_code == 403
        return
    assert page.status_code == as_csv.status_code == as_json.status_code == 200
    expected = {seeded.a1, seeded.a2, seeded.a4} | ({seeded.a3} if who in SECURE_LIST else set())
    rows = as_json.get_json()
    assert {r["alert"] for r in rows} == expected
    assert {int(r["alert"]) for r in rows_of_csv(as_csv.get_data(as_text=True))} == expected
    assert as_csv.headers["Content-Disposition"].startswith("attachment;")
    text = as_csv.get_data(as_text=True) + json.dumps(rows) + page.get_data(as_text=True)
    assert ("Susan Green" in text) == (who in SECURE_LIST)
    for reason in ("informant", "MAPPA", "Real risk to staff"):
        assert reason not in text  # the register holds instructions, never reasons


def test_register_filters(seeded, web):
    client = web("cora")
    assert {r["alert"] for r in client.get("/compliance/register.json?category=rpo").get_json()} == {seeded.a1}
    assert {r["alert"] for r in client.get("/compliance/register.json?placed_by=helen").get_json()} == {seeded.a4}
    assert {r["alert"] for r in client.get("/compliance/register.json?customer=Mary").get_json()} == {seeded.a2}
    assert {r["alert"] for r in client.get("/compliance/register.json?review_before=2026-06-01").get_json()} == {seeded.a4}
    bad = client.get("/compliance/register.json?category=arson&review_before=soon")
    assert bad.status_code == 400
    assert set(bad.get_json()["errors"]) == {"category", "review_before"}
    row = client.get("/compliance/register.json?customer=C1").get_json()[0]
    assert row["instruction"] == "Visit in pairs" and row["placed_by"] == "anna" and row["decided_by"] == "anna"  # on at the decision
    assert row["next_review"] == "2026-09-04" and row["category_label"] == "RPO or criminal offender"


def test_non_disclosure_register_as_each_role(seeded, web):
    for who in EVERYONE:
        check_non_disclosures_as(seeded, web(who), who)


def check_non_disclosures_as(seeded, client, who):
    page, as_csv, as_json = (client.get(f"/compliance/non-disclosures{ext}") for ext in ("", ".csv", ".json"))
    if who not in NON_DISCLOSURE_READERS:
        assert page.status_code == as_csv.status_code == as_json.status_code == 403
        return
    expected = {seeded.a2: "Telling her may put the informant at risk"}
    if who in SECURE_LIST:
        expected[seeded.a3] = "Police advice: MAPPA"
    assert {r["alert"]: r["reason"] for r in as_json.get_json()} == expected
    assert {int(r["alert"]): r["reason"] for r in rows_of_csv(as_csv.get_data(as_text=True))} == expected
    assert all(r["decided_by"] == "anna" for r in as_json.get_json())
    assert ("MAPPA" in page.get_data(as_text=True)) == (who in SECURE_LIST)


def test_the_cli_exports_follow_the_same_rules(seeded, cli):
    assert {int(r["alert"]) for r in rows_of_csv(cli("export", "register", "--as", "tina"))} == {
        seeded.a1, seeded.a2, seeded.a4}
    assert {r["alert"] for r in json.loads(cli("export", "register", "--as", "hugo", "--format", "json"))} == {
        seeded.a1, seeded.a2, seeded.a3, seeded.a4}
    assert "open only to" in cli.fails("export", "register", "--as", "sam")
    assert "open only to" in cli.fails("export", "non-disclosures", "--as", "helen")
    assert [r["alert"] for r in json.loads(cli("export", "non-disclosures", "--as", "tina", "--format", "json"))] == [
        seeded.a2]


def test_viewing_and_exporting_registers_is_audited(seeded, web, cli):
    web("hugo").get("/compliance/register.csv")
    web("tina").get("/compliance/non-disclosures")
    events = {e["action"]: e for e in json.loads(cli("alerts", "show", seeded.a1, "--as", "hugo", "--json"))["events"]}
    from workflows.platform import db as database
    from workflows.platform.models import AuditEvent
    from sqlalchemy import select
    with database.transaction() as db:
        exported = db.scalars(select(AuditEvent).where(AuditEvent.action == "register_exported")).one()
        viewed = db.scalars(select(AuditEvent).where(AuditEvent.action == "non_disclosure_register_viewed")).one()
        assert exported.actor == "hugo" and exported.detail["restricted_alerts"] == [seeded.a3]
        assert viewed.actor == "tina" and viewed.detail["alerts"] == [seeded.a2]
    assert events  # the case history still reads


def test_out_of_hours_list_has_addresses_and_instructions_never_reasons(seeded, web, cli):
    response = web("cora").get("/compliance/out-of-hours.csv")
    assert response.status_code == 200
    rows = rows_of_csv(response.get_data(as_text=True))
    assert set(rows[0]) == {"property", "applies_to", "customer", "name", "address", "postcode", "code", "kind",
                            "instruction", "control_measures", "details"}
    by_customer = {r["customer"]: r for r in rows}
    assert set(by_customer) == {"C1", "C2", "C3", "C4"}
    # the scheduled offender shows only Derby's instruction for restricted markers
    assert by_customer["C4"]["instruction"] == "Contact the relevant manager before visiting."
    # and its one measure from the pack ([restrictions] control_measures), never what the form said
    assert by_customer["C4"]["control_measures"] == "Contact the relevant manager before visiting"
    assert by_customer["C4"]["details"] == ""
    assert by_customer["C1"]["instruction"] == "Visit in pairs" and by_customer["C1"]["address"] == "1 High Street, Derby"
    text = response.get_data(as_text=True)
    for secret in ("informant", "MAPPA", "Assault", "Real risk", "rpo", "partner_info"):
        assert secret not in text
    assert web("sam").get("/compliance/out-of-hours.csv").status_code == 403


def test_removal_leaves_the_register_and_the_out_of_hours_list_at_once(seeded, web, cli, derby):
    hearing = derby.open_task("helen", seeded.a1, NOW)
    derby.complete("helen", hearing["task"], {"appeal_outcome": "remove", "appeal_reasons": "Now settled"}, now=NOW)
    client = web("cora")
    assert seeded.a1 not in {r["alert"] for r in client.get("/compliance/register.json").get_json()}
    assert "C1" not in {r["customer"] for r in rows_of_csv(client.get("/compliance/out-of-hours.csv").get_data(as_text=True))}
    assert "C1" not in {r["customer"] for r in json.loads(cli("export", "out-of-hours", "--as", "cora", "--format", "json"))}

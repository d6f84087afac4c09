"""The JSON API with token auth: tokens stored hashed, scopes enforced, look-ups and the
out-of-hours list without reasons, reporting a concern (bad input named, nothing saved),
marker changes since a moment, and the OpenAPI document."""
import hashlib

from sqlalchemy import select

from tests.compliance.api_helpers import bearer, count_alerts, token
from tests.compliance.conftest import NOW
from workflows.platform import db as database
from workflows.platform.models import ApiToken


def test_tokens_are_created_by_administrators_stored_hashed_and_revocable(seeded, cli, app):
    assert "only an administrator" in cli.fails("tokens", "create", "hms", "--scope", "markers:read", "--as", "cora")
    assert "scopes: unknown everything" in cli.fails("tokens", "create", "hms", "--scope", "everything", "--as", "ada")
    secret = token(cli, "hms", "markers:read")
    with database.transaction() as db:
        row = db.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in (row.prefix * 2)
    assert secret not in cli("tokens", "list")
    client = app.test_client()
    assert client.get("/api/v1/markers?customer=C1", headers=bearer(secret)).status_code == 200
    cli("tokens", "revoke", "hms", "--as", "ada")
    refused = client.get("/api/v1/markers?customer=C1", headers=bearer(secret))
    assert refused.status_code == 401 and "revoked" in refused.get_json()["error"]
    assert client.get("/api/v1/markers?customer=C1").status_code == 401
    assert client.get("/api/v1/markers?customer=C1", headers=bearer("af_guess")).status_code == 401


def test_scopes_are_enforced(seeded, cli, app):
    reader = token(cli, "reader", "markers:read")
    client = app.test_client()
    response = client.post("/api/v1/concerns", json={"customer": "C1", "category": "rpo", "description": "x"},
                           headers=bearer(reader))
    assert response.status_code == 403 and "concerns:write" in response.get_json()["error"]
    assert client.get("/api/v1/out-of-hours", headers=bearer(reader)).status_code == 403


def test_look_up_markers_by_customer_or_address_without_reasons(seeded, cli, app):
    client, secret = app.test_client(), token(cli, "hms", "markers:read")
    found = client.get("/api/v1/markers?customer=C1", headers=bearer(secret)).get_json()["customers"]
    assert [c["customer"] for c in found] == ["C1"]
    assert [(m["alert"], m["instruction"], m["control_measures"]) for m in found[0]["markers"]] == [
        (seeded.a1, "Visit in pairs", ["Visit in pairs"])]  # A7 is still being assessed: not a marker
    restricted = client.get("/api/v1/markers?address=Low Road", headers=bearer(secret)).get_json()["customers"]
    assert restricted[0]["customer"] == "C4"
    assert restricted[0]["markers"] == [{"alert": seeded.a3, "category": None, "code": None, "level": None,
                                         "instruction": "Contact the relevant manager before visiting.",
                                         # the restriction's own measure (pack.toml), never the form's
                                         "control_measures": ["Contact the relevant manager before visiting"],
                                         "details": [], "since": "2026-01-06", "next_review": None}]
    by_postcode = client.get("/api/v1/markers?address=DE1 1AA", headers=bearer(secret)).get_json()["customers"]
    assert {c["customer"] for c in by_postcode} == {"C1", "C2", "C3"}
    bad = client.get("/api/v1/markers", headers=bearer(secret))
    assert bad.status_code == 400 and bad.get_json()["field"] == "customer"


def test_report_a_concern_and_bad_input_names_the_field_and_saves_nothing(seeded, cli, app):
    client, secret = app.test_client(), token(cli, "hms", "concerns:write")
    before = count_alerts()
    for body, field, status in (
            ({"customer": "C1", "category": "arson", "description": "x"}, "category", 400),
            ({"customer": "C1", "category": "rpo", "description": "  "}, "description", 400),
            ({"customer": "C1", "category": "rpo"}, "description", 400),
            ({"customer": 7, "category": "rpo", "description": "x"}, "customer", 400),
            ({"customer": "C9", "category": "rpo", "description": "x"}, "customer", 404),
            ({"customer": "C1", "category": "rpo", "description": "x", "colour": "red"}, "colour", 400),
            ({"customer": "C1", "category": "rpo", "description": "x", "staff_involved": "nobody"}, "staff_involved", 400),
            ([1, 2], "body", 400)):
        response = client.post("/api/v1/concerns", json=body, headers=bearer(secret))
        assert (response.status_code, response.get_json()["field"]) == (status, field), (body, response.get_json())
    assert client.post("/api/v1/concerns", data="not json", headers=bearer(secret)).status_code == 400
    assert count_alerts() == before
    made = client.post("/api/v1/concerns", json={"customer": "C2", "category": "near_miss",
                                                 "description": "Shouting at the repairs team",
                                                 "staff_involved": "helen"}, headers=bearer(secret))
    assert made.status_code == 201
    alert = cli.json("alerts", "show", made.get_json()["alert"], "--as", "hugo")
    assert alert["status"] == "under_assessment" and alert["events"][0]["actor"] == "api:hms"
    assert alert["staff_involved"] == "helen"  # so the other Head of Service assesses it
    assert not [t for t in cli.json("inbox", "--as", "helen") if t["alert"] == alert["alert"]]
    assert any(t["title"].startswith("Assess the near miss") for t in alert["tasks"])


def test_marker_changes_since_a_moment(seeded, cli, app, derby):
    client, secret = app.test_client(), token(cli, "hms", "markers:read")
    changes = client.get("/api/v1/changes?since=2026-01-01T00:00Z", headers=bearer(secret)).get_json()
    assert [(c["alert"], c["change"]) for c in changes["changes"]] == [
        (seeded.a3, "placed"), (seeded.a1, "placed"), (seeded.a2, "placed")]
    hearing = derby.open_task("helen", seeded.a1, NOW)
    derby.complete("helen", hearing["task"], {"appeal_outcome": "remove", "appeal_reasons": "Now settled"}, now=NOW)
    later = client.get("/api/v1/changes?since=2026-06-15T11:59Z", headers=bearer(secret)).get_json()
    assert [(c["alert"], c["change"], c["status"], c["marker"]) for c in later["changes"]] == [
        (seeded.a1, "removed", "removed", None)]
    assert "Now settled" not in str(later)  # never reasons
    for bad in ("yesterday", "", "2026-13-01"):
        response = client.get(f"/api/v1/changes?since={bad}", headers=bearer(secret))
        assert response.status_code == 400 and response.get_json()["field"] == "since"


def test_out_of_hours_endpoint(seeded, cli, app):
    client, secret = app.test_client(), token(cli, "ooh", "out_of_hours:read")
    rows = client.get("/api/v1/out-of-hours", headers=bearer(secret)).get_json()["markers"]
    assert {r["customer"] for r in rows} == {"C1", "C2", "C3", "C4"}
    assert all(set(r) == {"property", "applies_to", "customer", "name", "address", "postcode", "code", "kind", "instruction",
                          "control_measures", "details"} for r in rows)


def test_the_openapi_document_describes_every_api_route(app, database_url):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert routes == set(doc["paths"])
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_a_concern_reported_through_the_api_may_be_linked_to_the_marker_already_on_the_customer(seeded, cli, app):
    client, secret = app.test_client(), token(cli, "hms", "concerns:write")
    before = count_alerts()
    for link_to, field, status in (("one", "link_to", 400), (True, "link_to", 400), (999, "link_to", 404),
                                   (seeded.a6, "link_to", 409), (seeded.a2, "link_to", 409)):
        response = client.post("/api/v1/concerns", json={"customer": "C1", "category": "rpo", "description": "x",
                                                         "link_to": link_to}, headers=bearer(secret))
        assert (response.status_code, response.get_json()["field"]) == (status, field), (link_to, response.get_json())
    assert "under assessment" in client.post("/api/v1/concerns", json={
        "customer": "C3", "category": "rpo", "description": "x", "link_to": seeded.a6}, headers=bearer(secret)).get_json()["error"]
    assert count_alerts() == before
    linked = client.post("/api/v1/concerns", json={"customer": "C1", "category": "rpo", "description": "Again",
                                                   "link_to": seeded.a1}, headers=bearer(secret))
    assert linked.status_code == 201 and linked.get_json()["status"] == "linked"
    assert linked.get_json()["alert"] == seeded.a1 and count_alerts() == before
    assert [i["description"] for i in cli.json("alerts", "show", seeded.a1, "--as", "hugo")["incidents"]][-1] == "Again"
    offered = client.post("/api/v1/concerns", json={"customer": "C1", "category": "rpo", "description": "y"},
                          headers=bearer(secret))
    assert offered.status_code == 201 and offered.get_json()["linkable_markers"] == [seeded.a1]

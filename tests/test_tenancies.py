"""A customer moves, through the command line and the API: the tenancy they have ends the day
the new one starts, their marker is found at the new address from that day and no longer at the
old one, and bad input is refused naming the field with nothing saved."""
from sqlalchemy import func, select

from tests.compliance.api_helpers import bearer, token
from tests.helpers import place_near_miss_marker
from workflows.platform.db import transaction
from workflows.platform.models import Property, Tenancy


def count(model):
    with transaction() as db:
        return db.scalar(select(func.count()).select_from(model))


def test_a_tenant_with_a_marker_moves_and_check_finds_it_only_at_the_new_address(derby):
    cli = derby.cli
    place_near_miss_marker(derby, "C1", now="2026-03-02T09:00")
    out = cli("tenancy", "start", "C1", "--as", "sam", "--address", "7 Park Lane, Derby", "--postcode", "de3 3cc",
              "--starts", "2026-04-01", now="2026-03-10T09:00")
    assert "C1 lives at 7 Park Lane, Derby, DE3 3CC" in out and "from 1 April 2026" in out
    # until the move, the marker is where they live now
    assert "C1  John Smith, 1 High Street, Derby: MARKER: Visit in pairs" in cli("check", "1 High Street", "--as", "sam",
                                                                                now="2026-03-31T20:00")
    assert "no customer matches" in cli("check", "DE3 3CC", "--as", "sam", now="2026-03-31T20:00")
    # from the first day of the new tenancy: at the new address and postcode, not at the old one
    at_new = cli("check", "DE3 3CC", "--as", "sam", now="2026-04-01T08:00")
    assert "C1  John Smith, 7 Park Lane, Derby: MARKER: Visit in pairs" in at_new
    assert "no customer matches" in cli("check", "1 High Street", "--as", "sam", now="2026-04-01T08:00")
    assert "John Smith" in cli("check", "John Smith", "--as", "sam", now="2026-04-01T08:00")  # by name, still
    # the visit list says where it now applies
    rows = cli.json("visit-list", "--as", "sam", now="2026-04-02T08:00")
    assert [(r["customer"], r["address"], r["postcode"]) for r in rows] == [("C1", "7 Park Lane, Derby", "DE3 3CC")]


def test_a_move_is_refused_naming_the_field_and_nothing_is_saved(derby):
    cli = derby.cli
    before = count(Property), count(Tenancy)
    assert "postcode: the postcode of 7 Park Lane is missing" in cli.fails(
        "tenancy", "start", "C1", "--as", "sam", "--address", "7 Park Lane\nDerby")
    assert "address: the address is missing" in cli.fails("tenancy", "start", "C1", "--as", "sam", "--postcode", "DE3 3CC")
    assert "uprn: a UPRN is a number" in cli.fails("tenancy", "start", "C1", "--as", "sam", "--address", "7 Park Lane",
                                                   "--postcode", "DE3 3CC", "--uprn", "abc")
    assert (count(Property), count(Tenancy)) == before
    cli("tenancy", "end", "C2", "--as", "sam", "--on", "2026-05-31", now="2026-05-31T12:00")
    error = cli.fails("tenancy", "start", "C2", "--as", "sam", "--address", "9 Low Road", "--postcode", "DE4 4DD",
                      "--starts", "2026-05-01", now="2026-06-01T09:00")
    assert "start: the new tenancy cannot start on 1 May 2026: Mary Jones's tenancy at 2 High Street, Derby ended " \
           "on 31 May 2026" in error
    assert (count(Property), count(Tenancy)) == before
    # a day on or after the end is accepted
    cli("tenancy", "start", "C2", "--as", "sam", "--address", "9 Low Road", "--postcode", "DE4 4DD",
        "--starts", "2026-05-31", now="2026-06-01T09:00")
    error = cli.fails("tenancy", "start", "C2", "--as", "sam", "--address", "10 Low Road", "--postcode", "DE4 4DD",
                      "--starts", "2026-05-30", now="2026-06-01T09:00")
    assert "start: the new tenancy cannot start on 30 May 2026" in error and "started on 31 May 2026" in error
    assert "customer with reference 'C9'" in cli.fails("tenancy", "start", "C9", "--as", "sam", "--address", "x",
                                                       "--postcode", "DE1 1AA")


def test_a_housing_system_records_a_move_through_the_api(derby, app):
    derby.cli("users", "add", "ada", "--name", "Ada", "--role", "admin")
    headers = bearer(token(derby.cli, "hms", "tenancies:write"))
    client = app.test_client()
    before = count(Property), count(Tenancy)
    refused = client.post("/api/v1/tenancies", json={"customer": "C3", "address": "4 Mill Lane"}, headers=headers)
    assert refused.status_code == 400 and refused.json["field"] == "postcode"
    refused = client.post("/api/v1/tenancies", json={"customer": "C3", "address": "4 Mill Lane", "postcode": "DE5 5EE",
                                                     "starts": "1 June"}, headers=headers)
    assert refused.status_code == 400 and refused.json["field"] == "starts"
    assert client.post("/api/v1/tenancies", json={"customer": "C9", "address": "4 Mill Lane", "postcode": "DE5 5EE"},
                       headers=headers).status_code == 404
    assert (count(Property), count(Tenancy)) == before
    done = client.post("/api/v1/tenancies", json={"customer": "C3", "address": "4 Mill Lane", "postcode": "de5 5ee",
                                                  "uprn": "100030000001", "starts": "2026-06-01"}, headers=headers)
    assert done.status_code == 201, done.json
    assert done.json["postcode"] == "DE5 5EE" and done.json["starts"] == "2026-06-01"
    assert done.json["uprn"] == "100030000001"
    again = client.post("/api/v1/tenancies", json={"customer": "C3", "address": "5 Mill Lane", "postcode": "DE5 5EE",
                                                   "starts": "2026-05-01"}, headers=headers)
    assert again.status_code == 400 and again.json["field"] == "starts"
    assert client.post("/api/v1/tenancies", json={"customer": "C3", "address": "4 Mill Lane"},
                       headers=bearer(token(derby.cli, "ooh", "out_of_hours:read"))).status_code == 403


def test_the_subject_access_export_gives_where_they_have_lived(derby):
    import json
    cli = derby.cli
    cli("users", "add", "cora", "--name", "Cora", "--role", "compliance_officer")
    cli("tenancy", "start", "C1", "--as", "sam", "--address", "7 Park Lane, Derby", "--postcode", "DE3 3CC",
        "--uprn", "100030000007", "--starts", "2026-04-01", now="2026-03-10T09:00")
    data = json.loads(cli("export", "subject-access", "C1", "--as", "cora", "--format", "json", now="2026-04-02T09:00"))
    lived = [(t["address"], t["postcode"], t["uprn"], t["started_at"], t["ended_at"]) for t in data["subject"]["tenancies"]]
    assert lived == [("1 High Street, Derby", "DE1 1AA", None, None, "2026-03-31T23:00:00+00:00"),
                     ("7 Park Lane, Derby", "DE3 3CC", "100030000007", "2026-03-31T23:00:00+00:00", None)]
    assert data["subject"]["address"] == "7 Park Lane, Derby"

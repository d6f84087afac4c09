"""Migration 0021 moves every customer's address, postcode, tenancy reference and tenancy end from
the customer row into properties and tenancies, with nothing lost: run on a database made at
revision 0018 with customers in it."""
from datetime import datetime, timezone

from sqlalchemy import text

from tests.conftest import alembic
from workflows.platform import clock
from workflows.platform.db import engine_for

ENDED = datetime(2026, 3, 31, 11, 0, tzinfo=timezone.utc)
CUSTOMERS = [  # reference, name, address, postcode, tenancy_ref, tenancy_ended_at, household_of
    ("C1", "John Smith", "1 High Street\nDerby", "DE1 1AA", "T1", None, None),
    ("C2", "Jane Smith", "1 High Street\nDerby", "DE1 1AA", None, None, 1),  # same home: one property
    ("C3", "Peter Brown", "3 Low Road, Derby", "DE2 2BB", "T3", ENDED, None),
    ("C4", "Ann Lee", "", "", None, None, None),  # no address on record: no tenancy
    ("C5", "Bob Hale", "", "", "T5", None, None),  # a tenancy reference but no address
]


def test_customer_addresses_move_into_properties_and_tenancies_with_nothing_lost(unmigrated_url, monkeypatch):
    alembic(unmigrated_url, monkeypatch, "upgrade", "0018")
    engine = engine_for(unmigrated_url)
    with engine.begin() as conn:
        for ref, name, address, postcode, tenancy_ref, ended, lead in CUSTOMERS:
            conn.execute(text("INSERT INTO customer (reference, name, address, postcode, tenancy_ref, "
                              "tenancy_ended_at, household_of_id) VALUES (:r, :n, :a, :p, :t, :e, :h)"),
                         dict(r=ref, n=name, a=address, p=postcode, t=tenancy_ref, e=ended, h=lead))
        # a marker with a note on it: the rows that refer to the alert and customer tables survive
        conn.execute(text("INSERT INTO alert (customer_id, category, status, reported_by, reported_at, decision_no, "
                          "review_count, marker_text) VALUES (1, 'rpo', 'active', 'sam', :at, 1, 0, 'Visit in pairs')"),
                     dict(at=ENDED))
        conn.execute(text("INSERT INTO note (customer_id, alert_id, notebook, text, author, created_at) "
                          "VALUES (1, 1, 'notes', 'Seen', 'sam', :at)"), dict(at=ENDED))
    alembic(unmigrated_url, monkeypatch, "upgrade", "head")
    with engine.connect() as conn:
        homes = conn.execute(text(
            "SELECT c.reference, p.reference, p.address, p.postcode, p.uprn, t.reference, t.started_at, t.ended_at "
            "FROM customer c JOIN tenancy t ON t.customer_id = c.id JOIN property p ON p.id = t.property_id "
            "ORDER BY c.reference")).all()
        columns = {row[0] for row in conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'customer'"))} \
            if conn.dialect.name == "postgresql" else {row[1] for row in conn.execute(text("PRAGMA table_info(customer)"))}
        properties = conn.execute(text("SELECT count(*) FROM property")).scalar()
        marker = conn.execute(text("SELECT a.customer_id, a.marker_text, n.text FROM alert a JOIN note n ON n.alert_id = a.id")).one()
    assert tuple(marker) == (1, "Visit in pairs", "Seen")
    by_ref = {row[0]: row[1:] for row in homes}
    assert set(by_ref) == {"C1", "C2", "C3", "C5"}  # Ann Lee had no address: she has no tenancy
    assert by_ref["C1"][:4] == ("P1", "1 High Street\nDerby", "DE1 1AA", None)
    assert by_ref["C2"][0] == "P1"  # the household at one address shares one property
    assert by_ref["C1"][4] == "T1" and by_ref["C2"][4] is None
    assert by_ref["C3"][1:4] == ("3 Low Road, Derby", "DE2 2BB", None) and by_ref["C3"][4] == "T3"
    assert by_ref["C3"][6] is not None
    assert by_ref["C1"][6] is None and by_ref["C1"][5] is None  # lived there since before records began
    assert by_ref["C5"][4] == "T5" and by_ref["C5"][0] not in ("P1", by_ref["C3"][0])
    assert properties == 3
    assert not {"address", "postcode", "tenancy_ref", "tenancy_ended_at"} & columns  # one home for where people live

    # the application reads them where they now live, and adds the next property after them
    from tests.helpers import Cli
    from workflows.platform.db import transaction
    from sqlalchemy import select
    from workflows.platform.models import Customer
    monkeypatch.setenv("DATABASE_URL", unmigrated_url)
    with transaction() as db:
        john = db.scalar(select(Customer).where(Customer.reference == "C1"))
        assert (john.address, john.postcode, john.tenancy_ref) == ("1 High Street\nDerby", "DE1 1AA", "T1")
        peter = db.scalar(select(Customer).where(Customer.reference == "C3"))
        assert clock.as_utc(peter.tenancy_ended_at) == ENDED and peter.address == "3 Low Road, Derby"
    cli = Cli()
    cli("users", "add", "sam", "--name", "Sam", "--role", "staff")
    assert "property P4" in cli("tenancy", "start", "C4", "--as", "sam", "--address", "9 New Road", "--postcode", "DE9 9ZZ")

    alembic(unmigrated_url, monkeypatch, "downgrade", "0018")  # and back, for a deployment that must roll back
    with engine.connect() as conn:
        back = conn.execute(text("SELECT reference, address, postcode, tenancy_ref FROM customer ORDER BY reference")).all()
    assert back[0] == ("C1", "1 High Street\nDerby", "DE1 1AA", "T1")
    assert back[2] == ("C3", "3 Low Road, Derby", "DE2 2BB", "T3")
    engine.dispose()

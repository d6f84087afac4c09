"""Derby's hazards at an address (category `hazard`, on = "property", its own derby_hazard process):
the Area Housing Manager decides what staff must do there, the ASB team puts it on the red triangle,
and check before visiting shows it on the web for two successive occupiers, never naming a
pretend customer; nobody is written to."""
import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from tests.helpers import record_on_red_triangle
from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.models import Customer, Letter

T0 = "2026-03-02T09:00"


def test_a_hazard_at_a_derby_address_shows_on_the_web_for_two_successive_occupiers(world, as_user):
    cli = world.cli
    with transaction() as db:
        home = db.scalar(select(Customer).where(Customer.reference == "C1")).home.reference
    out = cli("report", "--as", "sam", "--property", home, "--category", "hazard",
              "--description", "Needles found in the garden by the gas engineer", now=T0)
    alert_id = int(re.search(r"alert (\d+) reported", out).group(1))
    task = world.open_task("arthur", alert_id, T0)
    assert task["title"] == "Assess the hazard at the address"
    world.complete("arthur", task["task"], {"hazard_found": "Seen by the engineer", "place_marker": "yes",
                                            "marker_text": "Needles in the garden: wear gloves, use the front path",
                                            "decision_reason": "Confirmed"}, now=T0)
    record_on_red_triangle(world, alert_id, now=T0)
    with transaction() as db:
        assert db.scalar(select(func.count()).select_from(Letter).where(Letter.alert_id == alert_id)) == 0

    clock.set_now(datetime(2026, 3, 3, 9, tzinfo=timezone.utc))
    sam = as_user("sam")
    page = sam.get("/check?q=DE1+1AA").get_data(as_text=True)  # the postcode: John Smith's home only has it
    john = page[page.index("John Smith"):]
    assert "Marker at their address:</strong> <bdi>Needles in the garden" in john.split("</article>")[0]
    mary = page[page.index("Mary Jones"):].split("</article>")[0]
    assert "Needles" not in mary and "Property hazard" not in page
    # John moves away and Peter Brown moves in: shown for Peter, no longer for John
    cli("tenancy", "start", "C1", "--as", "sam", "--address", "9 Low Road, Derby", "--postcode", "DE9 9ZZ",
        "--starts", "2026-04-01", now="2026-03-20T09:00")
    cli("tenancy", "start", "C3", "--as", "sam", "--property", home, "--starts", "2026-04-02", now="2026-03-20T09:00")
    clock.set_now(datetime(2026, 4, 3, 9, tzinfo=timezone.utc))
    page = sam.get("/check?q=1+High+Street").get_data(as_text=True)
    peter = page[page.index("Peter Brown"):].split("</article>")[0]
    assert "Marker at their address:</strong> <bdi>Needles in the garden" in peter and "1 High Street" in peter
    assert "John Smith" not in page
    assert "Needles" not in sam.get("/check?q=John+Smith").get_data(as_text=True)
    story = as_user("arthur").get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "<dt>Property</dt>" in story and "for whoever lives or visits there" in story and "<dt>Customer</dt>" not in story

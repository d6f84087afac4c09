"""Recording a move on the web: the tenancy page starts the new tenancy (or ends the last one),
bad input is shown beside its field with nothing saved, and check before visiting finds the
marker at the new address from the first day of the new tenancy, not at the old one."""
from datetime import datetime, timezone

from sqlalchemy import func, select

from tests.helpers import place_near_miss_marker
from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.models import Tenancy


def tenancies():
    with transaction() as db:
        return db.scalar(select(func.count()).select_from(Tenancy))


def test_a_move_recorded_on_the_web_takes_the_marker_to_the_new_address(world, as_user):
    place_near_miss_marker(world, "C1", now="2026-03-02T09:00")
    clock.set_now(datetime(2026, 3, 10, 9, tzinfo=timezone.utc))
    sam = as_user("sam")
    page = sam.get("/customers/C1/tenancy").get_data(as_text=True)
    assert "1 High Street, Derby" in page and "before records began" in page
    before = tenancies()
    refused = sam.post("/customers/C1/tenancy", {"address": "7 Park Lane\r\nDerby", "start": "2026-04-01",
                                                 "move": "y"}, token_from="/customers/C1/tenancy")
    assert refused.status_code == 422
    assert 'id="postcode-error">the postcode of 7 Park Lane is missing' in refused.get_data(as_text=True)
    assert tenancies() == before
    done = sam.post("/customers/C1/tenancy", {"address": "7 Park Lane\r\nDerby", "postcode": "DE3 3CC",
                                              "start": "2026-04-01", "move": "y"},
                    token_from="/customers/C1/tenancy", follow_redirects=True)
    assert "C1 lives at 7 Park Lane\nDerby, DE3 3CC from 1 April 2026" in done.get_data(as_text=True)
    early = sam.post("/customers/C1/tenancy", {"address": "8 Park Lane", "postcode": "DE3 3CC", "start": "2026-03-20",
                                               "move": "y"}, token_from="/customers/C1/tenancy")
    assert early.status_code == 422 and 'id="start-error">the new tenancy cannot start on 20 March 2026' in \
        early.get_data(as_text=True)

    clock.set_now(datetime(2026, 4, 1, 7, tzinfo=timezone.utc))
    at_new = sam.get("/check?q=DE3+3CC").get_data(as_text=True)
    assert "John Smith" in at_new and "Visit in pairs" in at_new and "7 Park Lane" in at_new
    at_old = sam.get("/check?q=1+High+Street").get_data(as_text=True)
    assert "John Smith" not in at_old and "No customer matches" in at_old

"""Report a concern about a property on the web: the search finds properties by reference, address or
postcode beside the customers (keeping the kind of concern and what was typed), the kinds of concern
are grouped by what they are about (report.js offers only those that fit what is chosen), and the
server refuses a kind on the wrong subject, or a customer and a property at once, naming the field,
with nothing saved. The engine's report_concern decides, as for the CLI and the API."""
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from workflows.platform.db import transaction
from workflows.platform.models import Alert, Customer

HAZARD = {"category": "hazard", "description": "Needles in the garden, found by the gas engineer"}


def home_of(customer_ref):
    with transaction() as db:
        return db.scalar(select(Customer).where(Customer.reference == customer_ref)).home.reference


def alerts():
    with transaction() as db:
        return db.scalar(select(func.count()).select_from(Alert))


def test_a_hazard_is_reported_about_a_property_found_by_its_postcode(world, as_user):
    home = home_of("C1")
    sam = as_user("sam")
    found = sam.post("/report", {"q": "DE1 1AA", "find": "1", **HAZARD}, token_from="/report")
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and 'class="error"' not in page  # searching is not reporting
    assert f'value="{home}"' in page and f"1 High Street, Derby, DE1 1AA (property {home})" in page
    assert "John Smith, 1 High Street, Derby (C1)" in page  # the people living there too
    # what was typed is kept, and the kinds of concern say what they are about
    assert "Needles in the garden, found by the gas engineer</textarea>" in page
    assert '<optgroup label="About a property"><option data-on="property" selected value="hazard">' in page
    assert '<optgroup label="About a person"><option data-on="person" value="rpo">' in page
    assert sam.post("/report", {"q": home, "find": "1"}, token_from="/report").get_data(as_text=True).count(
        'name="property"') == 1  # by its reference
    done = sam.post("/report", {"property": home, **HAZARD}, token_from="/report")
    assert done.status_code == 302, done.get_data(as_text=True)
    with transaction() as db:
        alert = db.scalar(select(Alert))
        assert (alert.category, alert.subject.reference, alert.customer_id) == ("hazard", home, None)
    thanks = sam.get("/report").get_data(as_text=True)
    assert f"concern reported (alert {alert.id})" in thanks and "Area Housing Manager" in thanks


def test_a_kind_of_concern_on_the_wrong_subject_is_refused_naming_the_field(world, as_user):
    home = home_of("C1")
    sam = as_user("sam")
    on_person = sam.post("/report", {"customer": "C1", **HAZARD}, token_from="/report?customer=C1")
    assert on_person.status_code == 422
    assert ('id="customer-error">Hazard at the address is a marker on a property, not on a person'
            in on_person.get_data(as_text=True))
    on_place = sam.post("/report", {"property": home, "category": "rpo", "description": "He shouted"},
                        token_from=f"/report?property={home}")
    assert on_place.status_code == 422
    assert ('id="property-error">RPO or criminal offender is a marker on a person, not on a property'
            in on_place.get_data(as_text=True))
    both = sam.post("/report", {"customer": "C1", "property": home, **HAZARD}, token_from="/report?customer=C1")
    assert both.status_code == 422
    assert 'id="property-error">Choose a customer or a property, not both' in both.get_data(as_text=True)
    neither = sam.post("/report", HAZARD, token_from="/report").get_data(as_text=True)
    assert 'id="customer-error">Choose the customer or the property (search above to find them)' in neither
    assert alerts() == 0


def test_choosing_a_property_offers_only_the_kinds_of_concern_about_a_property(sign_in_page):
    page = sign_in_page("sam")
    page.goto("/report")
    page.get_by_label("Find the customer or the property").fill("DE1 1AA")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("What happened").fill("Two loose dogs at the gate")
    place = page.locator("#property-choices input[type=radio]").first
    place.check()
    category = page.get_by_label("What kind of concern")
    expect(category.locator("option[value=rpo]")).to_be_disabled()
    expect(category.locator("option[value=hazard]")).to_be_enabled()
    category.select_option("hazard")
    page.get_by_label(re.compile("John Smith")).check()  # a customer instead: the property is let go
    expect(place).not_to_be_checked()
    expect(category).to_have_value("")  # a hazard is not about a person
    expect(category.locator("option[value=hazard]")).to_be_disabled()
    place.check()
    category.select_option("hazard")
    page.get_by_role("button", name="Report", exact=True).click()
    expect(page.get_by_text(re.compile(r"Thank you: concern reported \(alert \d+\)"))).to_be_visible()

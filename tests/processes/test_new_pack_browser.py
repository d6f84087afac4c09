"""Real headless Chromium against the real app under waitress (axe-core checking every page): a
process owner makes a new pack from Derby's on the packs page, is refused a key that is not one
with nothing saved, makes the new pack the active one, and the same server runs it at the next
page, with no restart and no files written."""
from playwright.sync_api import expect

from workflows.platform import config


def test_a_process_owner_makes_a_pack_from_a_template_and_makes_it_active_in_the_browser(browser_as, live):
    paula = browser_as("paula")
    paula.goto("/processes")
    paula.get_by_role("link", name="Packs", exact=True).click()
    expect(paula.locator("#pack-derby")).to_contain_text("Derby Homes active")

    paula.get_by_label("Template", exact=True).select_option("derby")
    paula.get_by_label("Name of the new pack").fill("Riverside Homes")
    paula.get_by_label("Its key").fill("Riverside!")
    paula.get_by_label("Change note").fill("A pack for Riverside to try")
    paula.get_by_role("button", name="Make the new pack").click()
    expect(paula.locator("#packs-problem")).to_contain_text("'Riverside!' cannot be a pack's key")
    expect(paula.locator("#pack-riverside")).to_have_count(0)  # nothing saved
    expect(paula.get_by_label("Name of the new pack")).to_have_value("Riverside Homes")  # what was typed is kept

    paula.get_by_label("Its key").fill("riverside")
    paula.get_by_role("button", name="Make the new pack").click()
    expect(paula.get_by_text("Made the Riverside Homes pack (riverside) from derby")).to_be_visible()
    expect(paula.locator("#pack-riverside")).to_contain_text("none: in the database only")
    assert not (config.packs_dir() / "riverside").exists()

    paula.get_by_role("button", name="Make Riverside Homes the active pack").click()
    expect(paula.get_by_text("The Riverside Homes pack is the active pack now")).to_be_visible()
    expect(paula.locator(".brand")).to_contain_text("Riverside Homes")
    paula.goto("/processes")
    expect(paula.get_by_role("heading", level=1)).to_have_text("Processes of the Riverside Homes pack")

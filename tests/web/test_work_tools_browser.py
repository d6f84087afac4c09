"""Real Chromium over 300 steps: a manager filters, searches, sorts and pages the inbox, sees the
header's count change without a reload, and a Head of Service reassigns steps in bulk from the team view."""
import re

from playwright.sync_api import expect

from tests.helpers import Cli
from tests.web.work_tools_world import copy_steps


def test_inbox_filters_sorting_and_paging_over_300_steps_then_a_bulk_reassign(sign_in_page):
    cli = Cli()
    alert = int(re.search(r"alert (\d+) reported", cli("report", "--as", "sam", "--customer", "C1", "--category", "rpo",
                                                       "--description", "Threatened a caseworker")).group(1))
    copy_steps(alert, "asb_manager", 300)
    anna = sign_in_page("anna")
    expect(anna).to_have_url(re.compile(r"/inbox$"))  # steps wait for her: she lands on her inbox
    unclaimed = anna.locator("#unclaimed")
    expect(unclaimed.locator("[data-range]")).to_have_text("1–50 of 301")
    expect(unclaimed.locator("tbody tr").first).to_contain_text("10 days overdue")
    expect(unclaimed.locator("tbody tr").first).to_contain_text("RPO or criminal offender")

    anna.get_by_label("Search").fill("Paging step 12")
    anna.get_by_role("button", name="Apply").click()
    expect(unclaimed.locator("[data-range]")).to_have_text("1–10 of 10")
    expect(unclaimed.locator("tbody tr").first).to_contain_text("Paging step 120")

    anna.get_by_role("link", name="Clear").click()
    anna.get_by_label("Show").select_option(label="My roles, unclaimed")
    anna.get_by_label("Sort by").select_option(label="Age, oldest first")
    anna.get_by_role("button", name="Apply").click()
    expect(unclaimed.locator("tbody tr").first).to_contain_text("Paging step 299")
    anna.get_by_role("link", name="Next").click()
    expect(unclaimed.locator("[data-range]")).to_have_text("51–100 of 301")
    expect(unclaimed.locator("tbody tr").first).to_contain_text("Paging step 249")
    assert "sort=age" in anna.url and "page=2" in anna.url

    anna.get_by_label("Overdue").check()
    anna.get_by_role("button", name="Apply").click()
    expect(unclaimed.locator("[data-range]")).to_have_text("1–10 of 10")
    for row in unclaimed.locator("tbody tr").all():
        expect(row.locator(".flag")).to_have_text(re.compile(r"^\d+ days? overdue$"))

    copy_steps(alert, "asb_manager", 1, title="Just arrived")  # the header's count follows, no reload
    anna.evaluate("window.alertflowRefreshCounts()")
    expect(anna.locator("#nav-inbox [data-count=unclaimed]")).to_have_text("302")

    helen = sign_in_page("helen")  # Head of Service, ranked above the ASB managers
    helen.get_by_role("link", name=re.compile("Team view")).click()
    helen.get_by_label("Search").fill("Paging step 00")
    helen.get_by_role("button", name="Apply").click()
    expect(helen.locator("p.range")).to_have_text("1–10 of 10")
    helen.get_by_label("Choose Paging step 000 for John Smith").check()
    helen.get_by_label("Choose Paging step 001 for John Smith").check()
    helen.get_by_label("Reassign to").select_option("alex")
    helen.get_by_role("button", name="Reassign", exact=True).click()
    expect(helen.locator(".flash").first).to_contain_text("2 steps reassigned to alex")
    expect(helen.locator("tr", has_text="Paging step 000").locator("td[data-label=With]")).to_have_text("alex")
    expect(helen.locator("p.range")).to_have_text("1–10 of 10")  # the filters kept after the bulk step

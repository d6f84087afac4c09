"""Take the README's screenshots from a running demo (`make run`):
    python -m tests.web.screenshots http://127.0.0.1:8000 docs/
Signs in as the demo ASB manager; the inbox, a task form with a validation error, a case page."""
import sys

from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM
from workflows.demo import DEMO_PASSWORD


def main(base_url: str, folder: str):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 860}, base_url=base_url)
        page.goto("/sign-in")
        page.get_by_label("Username").fill("asb.manager")
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/inbox")
        page.screenshot(path=f"{folder}/inbox.png", full_page=True)
        page.locator("#unclaimed").get_by_role("link", name="Review the marker").first.click()
        page.get_by_role("button", name="Complete this step").click()  # nothing filled in: errors beside fields
        page.wait_for_selector("#error-summary, #problem")  # the summary of the errors, or a refusal
        page.screenshot(path=f"{folder}/task-form.png", full_page=False)
        page.goto("/alerts?status=all")
        page.get_by_role("row", name="Paul Brennan").get_by_role("link").click()
        page.wait_for_selector("#diagram[data-drawn]")
        page.screenshot(path=f"{folder}/case.png", full_page=False)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])

"""Take docs/processes.md's pictures, as a process owner sees the pages: Derby's pack in a fresh
SQLite database with two markers (one waiting for its review, one whose review is under way and
late), the web app on a local port with the clock at 1 February 2026, Chromium signed in as paula
the process owner. Nothing outside the temporary database is changed.
    python -m tests.processes.screenshots docs

It writes modeler.png (a check finding in the modeler, its element selected), impact.png (the
impact table of a changed review period, before deploying), changes.png (two versions compared),
new-process.png (a new process with a finding), pack-settings.png (the pack.toml editor),
settings-impact.png (the impact table of a pack.toml change), processes.png (the versions with
their change notes), settings-versions.png (pack.toml's versions) and packs.png (the packs, and a
new one made from a template)."""
import os
import re
import sys
import tempfile

from tests.helpers import Cli, draw_choice_without_default, open_review_timer

VIEWPORT = {"width": 1280, "height": 800}
INSTALLED = "2025-06-02T09:00"
MOMENT = "2026-02-01T12:00"


def main(folder: str):
    os.makedirs(folder, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix="alertflow-shots-")
    os.environ["DATABASE_URL"] = f"sqlite:///{temporary}/alertflow.db"
    from alembic import command
    from alembic.config import Config
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import CHROMIUM, serve_app
    from tests.helpers import DerbyWorld, place_near_miss_marker, sign_in_with_chromium
    from tests.processes.conftest import add_staff
    from workflows.platform import clock, config

    command.upgrade(Config(str(config.PROJECT_ROOT / "alembic.ini")), "head")
    derby = DerbyWorld(_Installing())
    add_staff()
    late = place_near_miss_marker(derby, "C2", "2025-07-01T09:00")  # its review, due 1 January 2026, under way
    assert derby.fire_timers("2026-01-01T09:01") == 1
    derby.open_task("helen", late, "2026-01-01T09:01")
    place_near_miss_marker(derby, "C1", "2026-01-10T09:00")  # its review waits for 10 July 2026
    clock.set_now(clock.parse_moment(MOMENT))
    url, server = serve_app()

    def path(name):
        return os.path.join(folder, name)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport=VIEWPORT, base_url=url)
        page.set_default_timeout(15_000)
        sign_in_with_chromium(page, "paula")
        page.wait_for_url(lambda u: "/sign-in" not in u)

        # the review period typed as words: Check names the timer and gives its ISO form
        page.goto("/processes/derby_review/edit")
        expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
        timer_value = open_review_timer(page)
        timer_value.fill("3 months")
        timer_value.press("Tab")
        page.get_by_role("button", name="Check").click()
        finding = page.locator(".findings li").first
        expect(finding).to_contain_text("not an ISO 8601 duration")
        expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
        finding.get_by_role("button", name="Show in the diagram").click()  # selects the timer event
        timer_value = open_review_timer(page, select=False)
        expect(timer_value).to_have_value("3 months")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=path("modeler.png"))

        # written as P3M: no problem, and the impact on the cases running now
        timer_value.fill("P3M")
        timer_value.press("Tab")
        page.get_by_role("button", name="Check").click()
        expect(page.locator("#check-result")).to_contain_text("No problems found")
        expect(page.locator("#impact-derby_review tbody tr")).not_to_have_count(0)
        page.locator("#check-result").screenshot(path=path("impact.png"))
        page.get_by_label(re.compile("Change note")).fill("Reviews every three months (board decision, 28 January 2026)")
        page.get_by_role("button", name="Deploy as a new version").click()
        expect(page.locator(".flash")).to_contain_text("Deployed derby_review version 2")

        page.goto("/processes/derby_review/changes?from=1&to=2")
        page.locator("main").screenshot(path=path("changes.png"))

        # a new process: a blank diagram with the pack's lanes, a choice drawn without its default
        page.goto("/processes/new")
        page.get_by_label("Name of the process").fill("Derby Homes: information request")
        page.get_by_label("Its identifier").fill("derby_information_request")
        page.get_by_role("button", name="Open it in the modeler").click()
        expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
        draw_choice_without_default(page)
        page.get_by_role("button", name="Check").click()
        expect(page.locator(".findings li[data-element='choice']")).to_contain_text("has no default flow")
        expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
        page.screenshot(path=path("new-process.png"))

        # pack.toml edited on the web: the next review counted from the day a late review is done
        page.on("dialog", lambda dialog: dialog.accept())  # leave the new process undeployed
        page.goto("/processes/settings/edit")
        toml = page.get_by_label("pack.toml", exact=True)
        toml.fill(toml.input_value().replace("[pack]\n", "[pack]\nreview_from_due_date = false\n", 1))
        toml.evaluate("t => { t.setSelectionRange(0, 0); t.scrollTop = 0; t.blur(); }")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=path("pack-settings.png"))
        page.get_by_role("button", name="Check").click()
        expect(page.locator("#check-result")).to_contain_text("No problems found")
        page.locator("#check-result").screenshot(path=path("settings-impact.png"))
        page.get_by_label(re.compile("Change note")).fill("A late review no longer keeps the date it was due: "
                                                          "the next one counts from the day it is held")
        page.get_by_role("button", name="Deploy as a new version").click()
        expect(page.locator(".flash")).to_contain_text("Deployed pack.toml and letters version 2")
        page.locator("main").screenshot(path=path("settings-versions.png"))

        page.goto("/processes")
        page.locator("#process-derby_review").screenshot(path=path("processes.png"))

        # a new pack made from Derby's deployed one: in the database only, not yet active
        page.goto("/processes/packs")
        page.get_by_label(re.compile("Name of the new pack")).fill("Riverside Homes")
        page.get_by_label(re.compile("Its key")).fill("riverside")
        page.get_by_label(re.compile("Change note")).fill("A pack for Riverside to try before they go live")
        page.get_by_role("button", name="Make the new pack").click()
        expect(page.locator(".flash")).to_contain_text("Made the Riverside Homes pack (riverside)")
        page.locator("main").screenshot(path=path("packs.png"))
        browser.close()
    server.close()
    clock.set_now(None)


class _Installing(Cli):
    """The command line, each command without a moment of its own run at INSTALLED: the pack and
    its staff are there before any case, as a landlord's would be."""
    def _run(self, args, now):
        return super()._run(args, now or INSTALLED)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs")

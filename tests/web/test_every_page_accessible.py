"""axe-core over every page of the web app, as each role that works there sees it, once the page has
settled (the case diagram drawn, the modeler ready): the load-time check (tests/accessibility.py)
runs before a diagram fetched after load is drawn, and only on the pages other tests happen to open.
The list of pages is checked against the app's url_map, so a new page fails this module until it is
listed here or excluded with its reason."""
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests import accessibility
from tests.helpers import MARKER, PASSWORD, Cli, DerbyWorld, current_code, remember_secret

# Every GET page, by the role that works there ({ids} filled from the records seeded below), with
# the status it answers. A role's pages share one signed-in context.
PAGES = {
    None: [("/sign-in", 200), ("/accessibility", 200)],
    "sam": [("/check", 200), ("/check?q=Smith", 200), ("/report", 200), ("/report?q=Jones", 200),
            ("/report?customer=C3", 200), ("/customers/C3/tenancy", 200), ("/settings", 200),
            ("/alerts/{alert}", 403),  # staff are shown the instruction, never the story
            ("/admin/users", 403), ("/alerts/999999", 404)],
    "anna": [("/inbox", 200), ("/inbox?overdue=1&sort=age", 200), ("/tasks/{task}", 200),
             ("/alerts", 200), ("/alerts?status=active", 200)],
    "helen": [("/inbox/team", 200), ("/tasks/{complaint_task}", 200)],
    "hugo": [("/tasks/{rtask}", 200), ("/alerts/{alert}", 200), ("/alerts/{ralert}", 200),
             ("/alerts/{ralert}?case={rcase}", 200)],
    "cora": [("/compliance", 200), ("/compliance/register", 200), ("/compliance/non-disclosures", 200),
             ("/compliance/subject-access", 200), ("/compliance/subject-access?customer=C1", 200)],
    "paula": [("/processes", 200), ("/processes/new", 200), ("/processes/upload", 200), ("/processes/packs", 200),
              ("/processes/settings", 200), ("/processes/settings/edit", 200), ("/processes/settings/versions/1", 200),
              ("/processes/derby_assessment/edit", 200), ("/processes/derby_assessment/changes", 200),
              ("/processes/derby_assessment/migrate", 200)],
    "ada": [("/admin/users", 200), ("/admin/users/anna", 200), ("/admin/import", 200)],
}
# checked on the way in, by the sign-in itself (ada's first sign-in sets up her code, her second types one)
SIGN_IN_PAGES = ["/sign-in/set-up", "/sign-in/code"]

# GET routes that are not pages a person reads, each with the reason
EXCLUDED = {
    "/": "redirects to where the role lands (each landing page is listed)",
    "/static/<path:filename>": "style sheets and scripts of the pages listed",
    "/vendor/bpmn-js/<path:filename>": "bpmn-js's scripts and styles, of the case and modeler pages",
    "/cases/<int:case_id>/diagram.xml": "BPMN XML the case page draws",
    "/processes/<process_id>/versions/<int:number>/download": "a .bpmn file to download",
    "/letters/<int:letter_id>.pdf": "PDF",
    "/alerts/<int:alert_id>/dossier.pdf": "PDF",
    "/compliance/subject-access/<customer_ref>.<any(json, pdf):fmt>": "JSON or PDF",
    "/compliance/register.<any(csv, json):fmt>": "CSV or JSON",
    "/compliance/non-disclosures.<any(csv, json):fmt>": "CSV or JSON",
    "/compliance/out-of-hours.csv": "CSV",
    "/compliance/dashboard.json": "JSON",
    "/inbox/counts.json": "JSON, for the header's counts",
    "/api/v1/changes": "JSON API", "/api/v1/feed": "JSON API", "/api/v1/markers": "JSON API",
    "/api/v1/openapi.json": "JSON API", "/api/v1/out-of-hours": "JSON API",
    # with no identity provider configured these redirect back to sign-in; with one, the provider's
    # pages are its own (tests/sso/test_single_sign_on_browser.py signs in through a test provider)
    "/sign-in/sso": "redirects to the identity provider",
    "/sign-in/sso/callback": "redirects back from the identity provider",
}

DESK, PHONE = {"width": 1280, "height": 900}, {"width": 320, "height": 640}

# The page is settled when the scripts that draw after load have drawn: the case diagram (case.js
# sets data-drawn) and the modeler (modeler.js sets data-ready).
SETTLED = """() => {
  const diagram = document.querySelector('#diagram[data-xml]:not([data-xml=""])');
  const modeler = document.getElementById('modeler');
  return document.readyState === 'complete' && (!diagram || diagram.dataset.drawn === 'true')
    && (!modeler || !!modeler.dataset.ready);
}"""
AXE_RUN = """(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then((r) => ({passes: r.passes.length + r.incomplete.length + r.inapplicable.length,
                 violations: r.violations.map((v) => ({id: v.id, help: v.help,
                   where: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ': ' + n.html.slice(0, 160))}))}))"""


@pytest.fixture(scope="module")
def site(live_database):
    """The app under waitress with Derby's world, its process owner, compliance officer and
    administrator, and records behind every page with an id: (base URL, ids)."""
    from tests.conftest import serve_app
    from tests.processes.conftest import add_staff
    from tests.web.conftest import add_admin, set_passwords
    from workflows.platform.db import transaction
    from workflows.platform.models import Case

    cli = Cli()
    world = DerbyWorld(cli)
    add_staff()  # paula, cora and passwords for everyone
    add_admin()
    set_passwords(["ada"])
    alert = world.report("near_miss", customer="C3")  # a marker, its letter, on the red triangle
    world.complete("helen", world.open_task("helen", alert)["task"], {"assessment_method": "Talked", **MARKER})
    world.complete("tina", world.open_task("tina", alert)["task"], {"housing_system_reference": "RT-1"})
    ralert = world.report("rpo", customer="C2")  # a scheduled offender's marker, its appeal waiting on hugo
    world.complete("anna", world.open_task("anna", ralert)["task"],
                   {"offence_date": "2025-01-01", "offence_nature": "Scheduled", "scheduled_offender": "yes", **MARKER})
    cli("appeal", ralert, "--as", "anna", "--grounds", "Not a risk now")
    complaint = world.report("complaints", customer="C1")
    fresh = world.report("rpo", customer="C1")
    with transaction() as db:
        ids = {"alert": alert, "ralert": ralert, "task": world.open_task("anna", fresh)["task"],
               "rtask": world.open_task("hugo", ralert)["task"],
               "complaint_task": world.open_task("helen", complaint)["task"],
               "rcase": db.scalar(select(Case.id).where(Case.alert_id == ralert).order_by(Case.id.desc()).limit(1))}
    url, server = serve_app()
    yield url, ids
    server.close()


def settled_violations(page) -> list[str]:
    """axe-core's findings on the page as it is now, once settled; fails if axe did not run."""
    page.wait_for_function(SETTLED)
    modeler = page.locator("#modeler")
    assert not modeler.count() or modeler.get_attribute("data-ready") == "true", f"{page.url}: modeler did not open"
    result = page.evaluate(AXE_RUN, accessibility.WCAG_AA)
    assert result["passes"] > 0, f"{page.url}: axe-core checked nothing"
    where = urlsplit(page.url)
    path = where.path + (f"?{where.query}" if where.query else "")
    return [f"{path}: {v['id']} ({v['help']}) at {'; '.join(v['where'])}" for v in result["violations"]]


def sign_in(page, username, checked, found):
    """Through the sign-in pages, each checked on the way; leaves the page where the role lands."""
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/sign-in/set-up" in page.url:
        found += settled_violations(page)
        checked.add("/sign-in/set-up")
        remember_secret(username, page.locator("#secret").inner_text())
        page.get_by_label("Code").fill(current_code(username))
        page.get_by_role("button", name="Confirm and sign in").click()
        page.locator("#recovery-codes").wait_for()
        found += settled_violations(page)  # the recovery codes, shown once
        page.get_by_role("link", name="I have kept them: continue").click()
    elif "/sign-in/code" in page.url:
        found += settled_violations(page)
        checked.add("/sign-in/code")
        page.get_by_label("Code").fill(current_code(username))
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


@pytest.mark.parametrize("username", list(PAGES))
def test_every_page_of_a_role_has_no_violations_once_settled(chromium, site, username):
    base, ids = site
    context = chromium.new_context(viewport=DESK, base_url=base)
    found, checked = [], set()
    before = accessibility.FINDINGS.checked
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        if username:
            sign_in(page, username, checked, found)
        if username == "ada":  # a second sign-in, to check the page that asks for the code
            page.get_by_role("button", name=re.compile("^Sign out")).click()
            page.wait_for_url(re.compile("/sign-in"))
            sign_in(page, username, checked, found)
            assert checked == set(SIGN_IN_PAGES)
        for url, status in PAGES[username]:
            url = url.format(**ids)
            response = page.goto(url)
            assert response.status == status, f"{url} answered {response.status}"
            assert urlsplit(page.url).path == urlsplit(url).path, f"{url} went to {page.url}"
            found += settled_violations(page)
            page.set_viewport_size(PHONE)  # the same page on a phone: targets and reflow change with the width
            found += settled_violations(page)
            page.set_viewport_size(DESK)
            checked.add(url)
        assert checked >= {u.format(**ids) for u, _ in PAGES[username]}
    finally:
        context.close()
    # the load-time check ran on these pages too (its findings fail the test through conftest)
    assert accessibility.FINDINGS.checked > before
    assert not found, "axe-core found WCAG 2.2 AA violations on settled pages:\n" + "\n".join(found)


def test_every_get_page_of_the_app_is_listed_or_excluded_with_its_reason(live_database):
    from webapp import create_app
    app = create_app({"TESTING": True})
    routes = {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    adapter = app.url_map.bind("localhost")
    listed = set(SIGN_IN_PAGES)
    for pages in PAGES.values():
        for url, _ in pages:
            parts = urlsplit(url.format(alert=1, ralert=1, task=1, rtask=1, complaint_task=1, rcase=1))
            rule, _args = adapter.match(parts.path, method="GET", return_rule=True)
            listed.add(rule.rule)
    assert routes - listed - set(EXCLUDED) == set(), "pages no test checks: list them in PAGES or EXCLUDED"
    assert set(EXCLUDED) <= routes, "EXCLUDED names a route the app no longer has"
    assert not listed & set(EXCLUDED)

"""axe-core over every page of the web app, as each role that works there sees it, once the page has
settled (the case diagram drawn, the modeler ready): the load-time check (tests/accessibility.py)
runs before a diagram fetched after load is drawn, and only on the pages other tests happen to open.
The list of pages is checked against the app's url_map, so a new page fails this module until it is
listed here or excluded with its reason."""
import re
from datetime import datetime
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


def _modeler_findings(page, ids):
    from tests.helpers import draw_choice_without_default
    page.goto("/processes/derby_assessment/edit")
    page.wait_for_function(SETTLED)
    draw_choice_without_default(page)
    page.get_by_role("button", name="Check").click()
    page.locator("#check-result .findings li").first.wait_for()


def _finding_shown_in_the_diagram(page, ids):
    page.get_by_role("button", name="Show in the diagram").first.click()
    page.locator("#properties .bio-properties-panel").wait_for()


def _case_zoomed_in(page, ids):
    page.goto(f"/alerts/{ids['alert']}")
    page.wait_for_function(SETTLED)
    page.get_by_role("button", name="Zoom in").click()


def _letter_delivery_refused(page, ids):
    page.get_by_role("button", name="Record delivery").first.click()
    page.locator(".letter .error").first.wait_for()


def _appeal_refused(page, ids):
    page.goto(f"/alerts/{ids['alert']}")
    page.get_by_role("button", name="Record appeal").click()
    page.locator("#grounds-error").wait_for()


# States a page reaches only by using it, after the role's pages: findings listed beside the modeler
# with their buttons, the properties panel open, the diagram zoomed, the case page's forms refused
STATES = {
    "paula": [_modeler_findings, _finding_shown_in_the_diagram],
    "hugo": [_case_zoomed_in, _letter_delivery_refused, _appeal_refused],
}

# where each role lands after signing in ([roles.X] lands_on; anna and hugo have steps waiting)
LANDS = {"sam": "/check", "anna": "/inbox", "hugo": "/inbox", "cora": "/compliance", "paula": "/processes",
         "ada": "/admin/users"}

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
WIDTHS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
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
        ids = {"alert": alert, "fresh": fresh, "ralert": ralert, "task": world.open_task("anna", fresh)["task"],
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
        if username in LANDS:
            assert urlsplit(page.url).path == LANDS[username], f"{username} landed on {page.url}"
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
            scroll, client = page.evaluate(WIDTHS)
            if scroll > client:  # WCAG 1.4.10 reflow: a table or diagram may scroll in its box, the page not
                found.append(f"{url}: scrolls sideways at {PHONE['width']} px ({scroll} px wide)")
            page.set_viewport_size(DESK)
            checked.add(url)
        for state in STATES.get(username, []):
            state(page, ids)
            found += [f"{state.__name__}: {v}" for v in settled_violations(page)]
            checked.add(state.__name__)
        assert checked >= {u.format(**ids) for u, _ in PAGES[username]} | {s.__name__ for s in STATES.get(username, [])}
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
            parts = urlsplit(url.format(alert=1, fresh=1, ralert=1, task=1, rtask=1, complaint_task=1, rcase=1))
            rule, _args = adapter.match(parts.path, method="GET", return_rule=True)
            listed.add(rule.rule)
    assert routes - listed - set(EXCLUDED) == set(), "pages no test checks: list them in PAGES or EXCLUDED"
    assert set(EXCLUDED) <= routes, "EXCLUDED names a route the app no longer has"
    assert not listed & set(EXCLUDED)


def signed_in_page(chromium, base, username, clock=False):
    context = chromium.new_context(viewport=DESK, base_url=base)
    page = context.new_page()
    page.set_default_timeout(15_000)
    if clock:  # the page's timers run only when the test moves the page's clock
        page.clock.install(time=datetime(2026, 6, 1, 9, 0))
        page.clock.pause_at(datetime(2026, 6, 1, 9, 1))
    sign_in(page, username, set(), [])
    return context, page


def test_the_warning_shows_before_the_session_ends_and_staying_starts_the_wait_again(chromium, site):
    from playwright.sync_api import expect
    base, ids = site
    context, page = signed_in_page(chromium, base, "anna", clock=True)
    try:
        page.goto(f"/tasks/{ids['task']}")
        warning = page.locator("#session-warning")
        idle = int(page.locator("#task-form").get_attribute("data-session-seconds"))
        assert idle > 25 * 60  # the 30 minutes idle the app allows by default, less the step seen_at moves by
        page.clock.run_for((idle - 121) * 1000)
        expect(warning).to_be_hidden()
        page.clock.run_for(2000)  # two minutes before the session would end
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("You will be signed out in two minutes")
        with page.expect_response(f"**/tasks/{ids['task']}/draft") as saved:
            page.get_by_role("button", name="Stay signed in").click()
        assert saved.value.ok  # a request: the server counts the session as used from now
        expect(warning).to_be_hidden()
        expect(page.locator("#draft-status")).to_contain_text("Draft saved at")
        page.clock.run_for((idle - 121) * 1000)  # the whole wait again, from the click
        expect(warning).to_be_hidden()
        page.clock.run_for(2000)
        expect(warning).to_be_visible()
        page.clock.resume()  # axe waits on the page's timers
        assert not settled_violations(page)  # the warning itself, as it shows
    finally:
        context.close()


def test_the_header_count_refreshes_itself_every_minute(chromium, site):
    from playwright.sync_api import expect
    from tests.web.work_tools_world import copy_steps
    base, ids = site
    context, page = signed_in_page(chromium, base, "anna", clock=True)
    try:
        unclaimed = page.locator("#nav-inbox [data-count=unclaimed]")
        before = int(unclaimed.inner_text())
        copy_steps(ids["fresh"], "asb_manager", 1, title="Arrived meanwhile")
        page.clock.run_for(59_000)
        page.wait_for_timeout(300)  # time for a request, were one sent too early
        expect(unclaimed).to_have_text(str(before))
        with page.expect_response("**/inbox/counts.json"):
            page.clock.run_for(1_000)  # a minute after the page loaded
        expect(unclaimed).to_have_text(str(before + 1))
    finally:
        context.close()


CONTRAST = """(el) => {
  const rgb = (c) => (c.match(/rgba?\\(([^)]+)\\)/) || [0, '0,0,0,0'])[1].split(',').map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  // the ground is what lies just outside the element, where the ring is drawn (a skip link lies on the header)
  const box = el.getBoundingClientRect();
  const x = Math.max(0, box.left - 8), y = box.top + box.height / 2;
  let ground = document.elementsFromPoint(x, y).find((e) => e !== el && !el.contains(e));
  while (ground && (rgb(getComputedStyle(ground).backgroundColor)[3] === 0)) { ground = ground.parentElement; }
  const back = rgb(getComputedStyle(ground || document.body).backgroundColor);
  const style = getComputedStyle(el);
  const rings = [];
  if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) { rings.push(rgb(style.outlineColor)); }
  for (const shadow of style.boxShadow.split(/,(?![^(]*\\))/)) {
    if (shadow !== 'none' && parseFloat(shadow.trim().split(/\\s+/).slice(-1)[0]) >= 2) { rings.push(rgb(shadow)); }
  }
  return {tag: el.tagName, text: el.textContent.trim().slice(0, 40), focusVisible: el.matches(':focus-visible'),
          best: Math.max(0, ...rings.map((c) => ratio(c, back)))};
}"""


def test_the_focus_ring_stands_out_3_to_1_from_the_ground_it_is_drawn_on(chromium, site):
    base, ids = site
    context, page = signed_in_page(chromium, base, "sam")
    try:
        page.goto("/check?q=Smith")
        page.locator("a.skip").focus()  # the page's first stop (the search box has autofocus)
        seen = {}
        for _ in range(40):  # by keyboard, as far as the footer: the header's links, the form, the results
            ring = page.evaluate_handle("() => document.activeElement").evaluate(CONTRAST)
            seen.setdefault(ring["tag"] + " " + ring["text"], ring)
            if ring["text"] == "Accessibility statement":
                break
            page.keyboard.press("Tab")
        assert "A Skip to content" in seen and "A Accessibility statement" in seen and "A Check before visiting" in seen and "BUTTON Check" in seen, seen
        weak = {name: round(r["best"], 2) for name, r in seen.items() if not r["focusVisible"] or r["best"] < 3}
        assert not weak, f"focus rings under 3:1 against their ground: {weak}"
    finally:
        context.close()

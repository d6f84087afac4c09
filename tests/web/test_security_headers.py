"""Every response carries the security headers (a Content-Security-Policy with no inline script,
no framing, no sniffing, no referrer leaving the site, nothing personal cached), signed in or
out; session cookies are Secure over HTTPS; sign-in sends people only to a path on this site;
a diagram cannot put script into a page, whether it comes through the check or straight into
the database; marker text cannot reverse itself on screen."""
import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from tests.helpers import PASSWORD, csrf_token
from workflows.platform import config
from workflows.definitions import deployment
from workflows.platform.db import transaction
from workflows.platform.models import Alert, AuditEvent, Case, HumanTask, ProcessDefinition

WHO = ["out", "sam", "anna", "arthur", "ada"]
CACHEABLE = {"static", "alerts.bpmn_js"}  # the same files for everyone, no personal data


def example_url(rule, records, process_id):
    """A URL for the rule, with real records where the route takes one."""
    values = {"task_id": records["task"], "alert_id": records["alert"], "case_id": records["case"],
              "letter_id": records["letter"], "process_id": process_id, "number": 1, "username": "anna",
              "customer_ref": "C3", "filename": "style.css"}
    if rule.endpoint == "alerts.bpmn_js":
        values["filename"] = "bpmn-navigated-viewer.production.min.js"
    url = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: str(values.get(m.group(1), "x")), url)


def assert_headers(response, endpoint, where):
    h = response.headers
    csp = {part.split()[0]: part.split()[1:] for part in h.get("Content-Security-Policy", "").split("; ") if part}
    assert csp.get("script-src") == ["'self'"], f"{where}: script-src {csp.get('script-src')}"
    assert csp.get("frame-ancestors") == ["'none'"] and csp.get("object-src") == ["'none'"], where
    assert h.get("X-Frame-Options") == "DENY", where
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("Referrer-Policy") == "same-origin", where
    if endpoint not in CACHEABLE:
        assert h.get("Cache-Control") == "no-store", f"{where}: Cache-Control {h.get('Cache-Control')}"


def test_every_route_carries_the_security_headers_signed_in_and_out(app, as_user, records):  # noqa: F811
    with transaction() as db:
        process_id = db.scalar(select(ProcessDefinition.process_id).limit(1))
    rules = [r for r in app.url_map.iter_rules()]
    for who in WHO:
        browser = as_user(None if who == "out" else who)
        for rule in rules:
            url = example_url(rule, records, process_id)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = browser.client.open(url, method=method)
                assert_headers(response, rule.endpoint, f"{method} {url} as {who} ({response.status_code})")
    # the pages that matter answered with content, so the headers were checked on real pages
    anna = as_user("anna")
    for url in (f"/alerts/{records['alert']}", f"/letters/{records['letter']}.pdf", f"/tasks/{records['task']}"):
        assert anna.get(url).status_code == 200, url
    assert as_user("ada").get("/admin/users").status_code == 200
    assert as_user().get("/nowhere").headers["Cache-Control"] == "no-store"  # an error page too


def test_no_template_writes_a_value_unescaped_or_carries_inline_script():
    """The CSP forbids inline script; a template that relied on one would silently break."""
    templates = sorted((config.PROJECT_ROOT / "webapp" / "templates").rglob("*.html"))
    assert templates
    for path in templates:
        text = path.read_text()
        assert "|safe" not in text.replace(" ", ""), f"{path.name} marks a value safe"
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"{path.name} has an inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path.name} has an inline event handler"
        assert "javascript:" not in text, path.name


def sign_in(browser, next_value, base_url="http://localhost/", raw_query=None):
    page = browser.client.get("/sign-in", base_url=base_url).get_data(as_text=True)
    url = "/sign-in?" + (raw_query or urlencode({"next": next_value}))
    return browser.client.post(url, base_url=base_url,
                               data={"username": "anna", "password": PASSWORD, "csrf_token": csrf_token(page)})


def test_the_reported_open_redirect_is_refused(world, as_user):
    response = sign_in(as_user(), None, raw_query="next=/%09/evil.example")  # as the issue sent it
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"


@pytest.mark.parametrize("crafted", [
    "/\t/evil.example", "//evil.example", "///evil.example", "/\\evil.example",
    "\\\\evil.example", "https://evil.example/inbox", " //evil.example", "\n//evil.example",
    "/\r\n/evil.example", "javascript:alert(1)", "http:/evil.example", "evil.example", "\x00//evil.example",
])
def test_sign_in_never_sends_anyone_to_another_site(world, as_user, crafted):
    response = sign_in(as_user(), crafted)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/inbox", f"next={crafted!r} went to {location!r}"


def test_sign_in_still_returns_to_a_page_on_this_site(world, as_user):
    response = sign_in(as_user(), "/alerts?status=all")
    assert response.status_code == 302 and response.headers["Location"] == "/alerts?status=all"


def session_cookie(response):
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_session_cookies_are_secure_except_over_plain_http_on_this_machine(world, as_user, app, monkeypatch):
    assert "Secure" in session_cookie(sign_in(as_user(), "/inbox", base_url="https://alerts.example.org/"))
    # the setting is on by default, so a plain-HTTP server elsewhere still gets Secure cookies
    assert "Secure" in session_cookie(sign_in(as_user(), "/inbox", base_url="http://alerts.example.org/"))
    # the demo at http://localhost:5000 (`make run`) keeps working
    local = session_cookie(sign_in(as_user(), "/inbox", base_url="http://localhost:5000/"))
    assert "Secure" not in local and "HttpOnly" in local
    monkeypatch.setenv("ALERTFLOW_SECURE_COOKIES", "0")
    from webapp import create_app
    plain = create_app({"TESTING": True}).test_client()
    page = plain.get("/sign-in", base_url="https://alerts.example.org/").get_data(as_text=True)
    response = plain.post("/sign-in", base_url="https://alerts.example.org/",
                          data={"username": "anna", "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert "Secure" not in session_cookie(response)


CRAFTED_ID = 'x" onfocus="alert(1)'


def test_a_field_or_option_id_that_is_not_a_plain_name_is_refused_at_deploy(cli, tmp_path, monkeypatch):
    import shutil
    shutil.copytree(config.PROJECT_ROOT / "bpmn" / "derby", tmp_path / "derby")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    path = tmp_path / "derby" / "derby_assessment.bpmn"
    text = path.read_text()
    assert text.count('formField id="offence_nature"') == 1
    path.write_text(text.replace('formField id="offence_nature"', 'formField id="x&quot; onfocus=&quot;alert(1)"')
                    .replace('<camunda:value id="physical_harm"', '<camunda:value id="harm&gt;&lt;b&gt;"', 1))
    for command in ("check", "deploy"):
        error = cli.fails("pack", command)
        assert f"derby_assessment.bpmn: 'Assess risk from offending (§5.1)' (assess_offender): form field id '{CRAFTED_ID}' is not a plain name" in error
        assert "derby_assessment.bpmn: 'Assess risk from offending (§5.1)' (assess_offender): option id 'harm><b>' of form field 'risk_nature' " \
               "is not a plain name" in error
    assert cli("pack", "versions") == ""  # nothing deployed


def test_a_crafted_diagram_in_the_database_renders_inert_on_the_task_page(as_user, records, monkeypatch):  # noqa: F811
    """Past the check (a row written straight into the database): every value is escaped."""
    with transaction() as db:
        task = db.get(HumanTask, records["task"])
        definition = db.get(ProcessDefinition, db.get(Case, task.case_id).definition_id)
        xml = definition.bpmn_xml
        assert 'formField id="offence_nature"' in xml
        definition.bpmn_xml = (xml.replace('formField id="offence_nature"',
                                           'formField id="x&quot; onfocus=&quot;alert(1)"')
                               .replace('<camunda:value id="low"', '<camunda:value id="low&quot;&gt;&lt;script&gt;'
                                        'alert(2)&lt;/script&gt;"', 1)
                               .replace('label="Evidence considered"', 'label="&lt;img src=x onerror=alert(3)&gt;"'))
    monkeypatch.setattr(deployment, "_parsed", {})  # parse the crafted row; later tests get the real one
    page = as_user("anna").get(f"/tasks/{records['task']}").get_data(as_text=True)
    assert 'onfocus="alert(1)"' not in page and "<script>alert(2)" not in page and "<img src=x" not in page
    assert 'name="x&#34; onfocus=&#34;alert(1)"' in page  # still there, as text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(3)&gt;" in page


def test_crafted_answers_and_marker_text_render_inert_and_cannot_reverse(as_user, records):  # noqa: F811
    rlo = "Visit in pairs \u202egnirob\u202c"
    with transaction() as db:
        alert = db.get(Alert, records["alert"])
        alert.marker_text = rlo + ' <script>alert(4)</script>'
        done = db.scalar(select(HumanTask).where(HumanTask.status == "completed",
                                                 HumanTask.case_id.in_(select(Case.id).where(
                                                     Case.alert_id == records["alert"]))))
        done.form_data = {**done.form_data, '"><script>alert(5)</script>': "<b>bold</b>"}
    anna = as_user("anna")
    page = anna.get(f"/alerts/{records['alert']}").get_data(as_text=True)
    assert "<script>alert(" not in page and "<b>bold</b>" not in page
    assert "<bdi>Visit in pairs gnirob &lt;script&gt;alert(4)&lt;/script&gt;</bdi>" in page
    assert "\u202e" not in page
    with transaction() as db:
        customer = db.get(Alert, records["alert"]).customer.name
    check = as_user("sam").get("/check", query_string={"q": customer.split()[-1]}).get_data(as_text=True)
    assert "\u202e" not in check and "<script>alert(" not in check and "<bdi>" in check


def test_reading_a_restricted_cases_diagram_is_audited(as_user, records):  # noqa: F811
    def views():
        with transaction() as db:
            return db.scalars(select(AuditEvent).where(AuditEvent.action == "restricted_record_viewed")
                               .order_by(AuditEvent.id)).all()
    before = len(views())
    assert as_user("arthur").get(f"/cases/{records['rcase']}/diagram.xml").status_code == 200
    assert as_user("anna").get(f"/cases/{records['case']}/diagram.xml").status_code == 200  # not restricted
    assert as_user("helen").get(f"/cases/{records['rcase']}/diagram.xml").status_code == 404
    new = views()[before:]
    assert [(e.actor, e.alert_id, e.case_id) for e in new] == \
        [("arthur", records["ralert"], records["rcase"])]

"""Every route, requested as every role and signed out, checked against the table below.
Restricted records (Derby's scheduled offenders) answer 404 to roles that may not see them,
and never show in their lists, searches or counts; a story the role has no need to know (no
step on it, not a reader the pack names) answers 403. tests/web/test_need_to_know.py derives
the same answers from the pack for every role and every alert of the demo."""
import html
import re

from sqlalchemy import func, select

from tests.helpers import csrf_token
from workflows.platform import wording
from workflows.platform.db import transaction
from workflows.platform.models import AuditEvent, HumanTask

WHO = ["out", "sam", "tina", "anna", "helen", "arthur", "ada"]
# out: signed out; sam staff; tina ASB team; anna ASB manager; helen Head of Service;
# arthur Area Housing Manager (may see scheduled offenders); ada administrator.
# {task}: an open step for the ASB managers; {alert}/{case}/{letter}: an ordinary marker;
# {r...}: a scheduled offender's restricted record (visible to anna and arthur only).
GET_TABLE = """
/                                        302 302 302 302 302 302 302
/sign-in                                 200 200 200 200 200 200 200
/accessibility                           200 200 200 200 200 200 200
/settings                                302 200 200 200 200 200 200
/customers/C1/tenancy                    302 200 200 200 200 200 200
/sign-in/code                            302 302 302 302 302 302 302
/sign-in/set-up                          302 302 302 302 302 302 302
/inbox                                   302 200 200 200 200 200 200
/inbox?whose=roles&sort=age&overdue=1    302 200 200 200 200 200 200
/inbox?sort=sideways                     302 422 422 422 422 422 422
/inbox/counts.json                       302 200 200 200 200 200 200
/inbox/team                              302 403 200 200 200 200 403
/inbox/team?category=none                302 403 422 422 422 422 403
/check?q=Smith                           302 200 200 200 200 200 200
/report                                  302 200 200 200 200 200 200
/report?q=Jones                          302 200 200 200 200 200 200
/tasks/{task}                            302 403 200 200 200 403 403
/tasks/{rtask}                           302 404 404 200 404 200 404
/tasks/999999                            302 404 404 404 404 404 404
/alerts                                  302 200 200 200 200 200 200
/alerts?status=all                       302 200 200 200 200 200 200
/alerts?status=all&category=rpo&sort=newest 302 200 200 200 200 200 200
/alerts?review_before=soon               302 422 422 422 422 422 422
/alerts/{alert}                          302 403 200 200 200 403 403
/alerts/{ralert}                         302 404 404 200 404 200 404
/alerts/999999                           302 404 404 404 404 404 404
/cases/{case}/diagram.xml                302 403 200 200 200 403 403
/cases/{rcase}/diagram.xml               302 404 404 200 404 200 404
/letters/{letter}.pdf                    302 403 200 200 200 403 403
/letters/{rletter}.pdf                   302 404 404 200 404 200 404
/admin/users                             302 403 403 403 403 403 200
/admin/users/anna                        302 403 403 403 403 403 200
/admin/users/nobody                      302 403 403 403 403 403 404
/admin/import                            302 403 403 403 403 403 200
/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js 200 200 200 200 200 200 200
/static/style.css                        200 200 200 200 200 200 200
"""
# POSTs that change nothing for anyone (refused, or bad input shown beside the field)
POST_TABLE = """
/tasks/{rtask}/claim                     302 404 404 403 404 403 404
/tasks/{task}/claim                      302 403 403 --- --- --- 403
/tasks/{task}/release                    302 403 403 403 --- --- 403
/tasks/{task}/reassign                   302 403 403 403 403 403 403
/inbox/team/bulk                         302 403 422 422 422 422 403
/inbox/filters                           302 422 422 422 422 422 422
/inbox/filters/999999/delete             302 404 404 404 404 404 404
/tasks/{task}/complete                   302 403 403 422 --- --- 403
/tasks/{task}/draft                      302 403 403 --- --- --- 403
/tasks/{rtask}/draft                     302 404 404 403 404 403 404
/tasks/{task}/draft/discard              302 302 302 302 302 302 302
/tasks/{task}/letter-preview             302 403 200 200 200 403 403
/tasks/{rtask}/letter-preview            302 404 404 200 404 200 404
/alerts/{alert}/appeal                   302 403 422 422 422 403 403
/alerts/{ralert}/appeal                  302 404 404 422 404 422 404
/letters/{letter}/delivery               302 403 422 422 422 403 403
/letters/{rletter}/delivery              302 404 404 422 404 422 404
/admin/users                             302 403 403 403 403 403 422
/admin/users/anna                        302 403 403 403 403 403 422
/admin/import                            302 403 403 403 403 403 422
/admin/users/nobody/reset-two-step       302 403 403 403 403 403 404
/sign-in/code                            302 302 302 302 302 302 302
/sign-in/set-up                          302 302 302 302 302 302 302
/settings                                302 302 302 302 302 302 302
/customers/C1/tenancy                    302 422 422 422 422 422 422
/sign-out                                302 302 302 302 302 302 302
"""


def parse(table):
    rows = []
    for line in table.strip().splitlines():
        url, *codes = line.split()
        assert len(codes) == len(WHO), line
        rows.append((url, dict(zip(WHO, codes))))
    return rows


# the inbox's blueprints, whose every route must have a row; the process editor, compliance
# and the API have role tables in their own tests (tests/processes, tests/compliance, ...)
TABLED = {"auth", "inbox", "alerts", "staff", "admin", "static"}
PUBLIC_ELSEWHERE = {"api.openapi"}  # the API's OpenAPI document is public by design


def assert_every_endpoint_is_in(app, table, method, records, also=()):
    """The table names every route of these blueprints for this method (a new route needs a row)."""
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(url.format(**records).split("?")[0], method=method)[0] for url, _ in parse(table)}
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if method in rule.methods and rule.endpoint.split(".")[0] in TABLED}
    missing = endpoints - covered - set(also)
    assert not missing, (f"{method} routes with no row in the table of tests/web/test_authorization.py: "
                         f"{sorted(missing)}; add one per route with the answer each role must get")


def test_the_tables_name_every_route(app, records):
    assert_every_endpoint_is_in(app, GET_TABLE, "GET", records)
    assert_every_endpoint_is_in(app, POST_TABLE, "POST", records, also={"auth.sign_in", "staff.report"})


def test_every_other_route_refuses_the_signed_out(app, as_user):
    """A safety net over the other blueprints: signed out, nothing answers with content."""
    browser = as_user()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in TABLED or rule.endpoint in PUBLIC_ELSEWHERE:
            continue
        url = re.sub(r"<[^>]+>", "x", re.sub(r"<int:[^>]+>", "1", rule.rule))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            status = browser.client.open(url, method=method).status_code
            # 302 to sign in, 400 a post without its CSRF token, 401 an API call without a token
            assert status in (302, 400, 401, 404), f"{method} {url} signed out: {status}"


def test_every_get_route_as_every_role(as_user, records):
    failures = []
    for who in WHO:
        browser = as_user(None if who == "out" else who)
        for url, expected in parse(GET_TABLE):
            got = browser.get(url.format(**records)).status_code
            if str(got) != expected[who]:
                failures.append(f"GET {url} as {who}: {got}, table says {expected[who]}")
    assert not failures, "\n".join(failures)


def test_every_post_route_as_every_role(as_user, records):
    bad_input = {"grounds": "", "method": "carrier pigeon", "delivered_at": "soon", "username": "",
                 "roles": "no_such_role", "password": "short"}
    failures = []
    for who in WHO:
        for url, expected in parse(POST_TABLE):
            if expected[who] == "---":
                continue  # this role may do it: done for real in the browser tests
            browser = as_user(None if who == "out" else who)  # a fresh session for each (sign-out ends it)
            token = csrf_token(browser.get("/sign-in").get_data(as_text=True))
            got = browser.client.post(url.format(**records), data={**bad_input, "csrf_token": token}).status_code
            if str(got) != expected[who]:
                failures.append(f"POST {url} as {who}: {got}, table says {expected[who]}")
    assert not failures, "\n".join(failures)


def test_a_post_without_its_csrf_token_is_refused(as_user, records):
    anna = as_user("anna")
    response = anna.client.post(f"/tasks/{records['task']}/claim")
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    with transaction() as db:
        assert db.get(HumanTask, records["task"]).status == "ready"


def test_restricted_records_stay_out_of_lists_searches_and_counts(as_user, records):
    hugo, helen, sam = as_user("hugo"), as_user("helen"), as_user("sam")
    assert "Mary Jones" in hugo.get("/inbox").get_data(as_text=True)
    inbox = helen.get("/inbox").get_data(as_text=True)
    assert "Mary Jones" not in inbox and "0 waiting for your roles" in inbox
    assert "Mary Jones" not in helen.get("/alerts?status=all").get_data(as_text=True)
    assert "Mary Jones" in as_user("arthur").get("/alerts?status=all").get_data(as_text=True)
    # staff checking before a visit see the pack's instruction for the secure list, nothing more
    check = sam.get("/check?q=Jones").get_data(as_text=True)
    assert "Contact the relevant manager before visiting." in check
    assert "Scheduled" not in check and "Visit in pairs" not in check and "/alerts/" not in check


def test_each_view_of_a_restricted_record_is_audited(as_user, records):
    def views():
        with transaction() as db:
            return db.scalars(select(AuditEvent).where(AuditEvent.action == "restricted_record_viewed")
                               .order_by(AuditEvent.id)).all()
    before = len(views())
    arthur = as_user("arthur")
    assert arthur.get(f"/alerts/{records['ralert']}").status_code == 200
    assert arthur.get(f"/letters/{records['rletter']}.pdf").status_code == 200
    assert arthur.get(f"/tasks/{records['rtask']}").status_code == 200
    new = views()[before:]
    assert [e.actor for e in new] == ["arthur"] * 3 and all(e.alert_id == records["ralert"] for e in new)
    assert as_user("helen").get(f"/alerts/{records['ralert']}").status_code == 404
    assert len(views()) == before + 3  # a refused look is no view


def test_a_restricted_records_page_counts_its_views_in_one_line_the_audit_log_keeps_each(as_user, records):
    """A restricted marker viewed every week for years would otherwise fill its own page with views."""
    arthur, anna = as_user("arthur"), as_user("anna")
    for _ in range(3):
        assert arthur.get(f"/alerts/{records['ralert']}").status_code == 200
    with transaction() as db:
        viewed = db.scalars(select(AuditEvent).where(AuditEvent.action == "restricted_record_viewed",
                                                     AuditEvent.alert_id == records["ralert"])).all()
    assert len(viewed) >= 3
    page = anna.get(f"/alerts/{records['ralert']}").get_data(as_text=True)
    assert "restricted record viewed" not in page
    people = len({e.actor for e in viewed})
    assert (f"Viewed {len(viewed)} times by {people} {'person' if people == 1 else 'people'}, from "
            f"{wording.moment(min(e.at for e in viewed))}: the last on {wording.moment(max(e.at for e in viewed))}"
            ) in html.unescape(page)
    with transaction() as db:  # anna's own view is in the log beside the others
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "restricted_record_viewed", AuditEvent.alert_id == records["ralert"])) == len(viewed) + 1

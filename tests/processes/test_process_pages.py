"""Process owners change policy through the process pages: the versions with who deployed them
and how many cases run on each, download and upload (a file round-trips unchanged apart from
the edit), check and deploy (a diagram with a problem is refused naming its element, and
nothing is deployed), the changes between versions, and migration with a dry run first."""
import re
from html import unescape

import pytest

from tests.processes.conftest import edited, review_xml, text  # noqa: F401 (shared with test_one_truth)
from workflows.platform import clock, config

DERBY = config.PROJECT_ROOT / "bpmn" / "derby"
HERE = config.PROJECT_ROOT / "tests" / "processes"


def version_rows(page_text: str, process_id: str) -> list[str]:
    return re.findall(rf"v(\d+)(?: newest)? \d{{1,2}} \w+ \d{{4}} at [\d:]+ (\w+) {process_id}", page_text)


def test_the_versions_page_shows_who_deployed_each_version_when_and_its_running_cases(signed_in, world):
    from tests.helpers import place_near_miss_marker
    place_near_miss_marker(world, "C1", "2026-01-10T09:00")
    paula = signed_in("paula")
    page = paula.get("/processes")
    assert page.status_code == 200
    row = re.search(r'<tr id="version-derby_review-1">(.*?)</tr>', page.get_data(as_text=True), re.S).group(1)
    assert 'class="deployed-by">system<' in row and 'class="running">1<' in row
    assert "Derby Homes: six-monthly review of a marker" in text(page)
    assert "Edit in the modeler" in text(page) and "Upload a diagram" in text(page)

    # cora (compliance) may look, but is offered no editing
    cora = signed_in("cora")
    page = cora.get("/processes")
    assert page.status_code == 200 and "Edit in the modeler" not in text(page) and "Upload" not in text(page)


def test_only_process_owners_may_edit_deploy_or_migrate(signed_in, world):
    helen, cora, paula = signed_in("helen"), signed_in("cora"), signed_in("paula")
    for url in ("/processes", "/processes/derby_review/changes?from=1&to=1",
                "/processes/derby_review/versions/1/download"):
        assert helen.get(url).status_code == 403, url
        assert cora.get(url).status_code == 200, url
    for url in ("/processes/derby_review/edit", "/processes/upload", "/processes/derby_review/migrate"):
        assert cora.get(url).status_code == 403, url
        assert helen.get(url).status_code == 403, url
        assert paula.get(url).status_code == 200, url
    three_months = edited(review_xml(), ">P6M<", ">P3M<")
    assert cora.upload(three_months, "derby_review.bpmn", action="deploy").status_code == 403
    assert cora.post("/processes/derby_review/edit", {"xml": three_months.decode(), "action": "deploy", "change_note": "Reviews every three months"}).status_code == 403
    assert cora.post("/processes/derby_review/migrate").status_code == 403
    # a form without its CSRF token is refused, even from the process owner
    refused = paula.client.post("/processes/derby_review/edit", data={"xml": three_months.decode(), "action": "deploy", "change_note": "Reviews every three months"})
    assert refused.status_code == 400
    assert version_rows(text(paula.get("/processes")), "derby_review.bpmn") == [("1", "system")]


def test_a_downloaded_file_uploaded_again_round_trips_unchanged_apart_from_the_edit(signed_in, world):
    paula = signed_in("paula")
    download = paula.get("/processes/derby_review/versions/1/download")
    assert download.status_code == 200
    assert 'filename="derby_review.v1.bpmn"' in download.headers["Content-Disposition"]
    assert download.data == review_xml()  # byte for byte what was deployed

    unchanged = paula.upload(download.data, "derby_review.v1.bpmn")
    assert "No problems found" in text(unchanged) and "derby_review: the same as version 1" in text(unchanged)
    again = paula.upload(download.data, "derby_review.v1.bpmn", action="deploy")
    assert again.status_code == 302
    assert "already deployed unchanged" in text(paula.get("/processes"))

    three_months = edited(download.data, ">P6M<", ">P3M<")
    checked = paula.upload(three_months, "derby_review.v1.bpmn")
    assert checked.status_code == 200
    assert "derby_review: changes from version 1" in text(checked)
    assert re.findall(r"<li>(changed .*?)</li>", unescape(checked.get_data(as_text=True))) == \
        ["changed 'due' timer: timeDuration P6M -> timeDuration P3M"]
    assert version_rows(text(paula.get("/processes")), "derby_review") == [("1", "system")]  # a check deploys nothing

    deployed = paula.upload(three_months, "derby_review.v1.bpmn", action="deploy")
    assert deployed.status_code == 302
    listing = text(paula.get("/processes"))
    assert "Deployed derby_review version 2" in listing
    assert paula.get("/processes/derby_review/versions/2/download").data == three_months
    assert paula.get("/processes/derby_review/versions/1/download").data == review_xml()


@pytest.mark.parametrize("name", ["xxe.bpmn", "laughs.bpmn"])
def test_xxe_and_billion_laughs_uploads_are_refused_clearly_and_read_nothing(signed_in, world, tmp_path, name):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    documents = {
        "xxe.bpmn": f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
                    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
                    '<bpmn:process id="derby_review" name="&x;" isExecutable="true"/></bpmn:definitions>',
        "laughs.bpmn": '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                       '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                       '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
                       '<bpmn:process id="derby_review" name="&d;" isExecutable="true"/></bpmn:definitions>',
    }
    paula = signed_in("paula")
    for action in ("check", "deploy"):
        refused = paula.upload(documents[name].encode(), name, action=action)
        assert refused.status_code == 422
        page = text(refused)
        assert f"1 problem in {name}: nothing was deployed" in page
        assert "(document): the file declares a DTD (<!DOCTYPE ...>); DTDs and entities are refused" in page
        assert "TOP-SECRET" not in refused.get_data(as_text=True) and "lollol" not in refused.get_data(as_text=True)
    assert version_rows(text(paula.get("/processes")), "derby_review") == [("1", "system")]


# Each finding the checker makes, from its own broken diagram, refused on upload naming its element.
FINDINGS = {
    "xml error": ("derby_appeal.bpmn", "</bpmn:process>", "</bpmn:proces>",
                  "(document): the XML does not parse"),
    "lane naming no role": ("derby_review.bpmn", 'name="Complex Needs Manager"', 'name="Complex Needs Team"',
                            "'Complex Needs Team' (Lane_2): lane 'Complex Needs Team' names no role of the Derby Homes pack"),
    "duration that does not parse": ("derby_review.bpmn", ">P6M<", ">P6Q<",
                                     "'Six months' (due_def): timeDuration: 'P6Q' is not an ISO 8601 duration"),
    "unsafe expression": ("derby_assessment.bpmn", "category == 'rpo'", "().__class__.__base__.__subclasses__()",
                          "'RPO / offender' (f_rpo): condition: attribute access '.__subclasses__' is not allowed"),
    "broken expression": ("derby_assessment.bpmn", "category == 'rpo'", "catgory == 'rpo'",
                          "'RPO / offender' (f_rpo): condition 'catgory == 'rpo'' reads catgory, which no form field or case variable provides"),
    "unknown action": ("derby_assessment.bpmn", 'camunda:topic="place_marker"', 'camunda:topic="delete_everything"',
                       "'Marker on the register' (place_marker): unknown action 'delete_everything'"),
    "gateway without default": ("derby_review.bpmn", ' default="f_keep"', "",
                                "'Outcome?' (gw_outcome): exclusive gateway with 2 outgoing flows has no default flow"),
    "unreachable element": ("derby_assessment.bpmn", "</bpmn:process>",
                            '<bpmn:userTask id="orphan" name="Forgotten step"/></bpmn:process>',
                            "'Forgotten step' (orphan): unreachable: no path from a start event leads here"),
    "marker with no telling": ("derby_assessment.bpmn", 'sourceRef="schedule_review" targetRef="gw_inform"',
                               'sourceRef="schedule_review" targetRef="told"',
                               "'Marker on the register' (place_marker): a path from here reaches 'end_marker' without telling the tenant"),
    "marker with no review ahead": ("derby_review.bpmn", 'sourceRef="keep" targetRef="schedule_next"',
                                    'sourceRef="keep" targetRef="gw_inform"',
                                    "'Keep the marker, reason documented' (keep): a path from here reaches 'end_kept' leaving the marker in place with no review ahead"),
    "id used twice": ("derby_review.bpmn", '<bpmn:sequenceFlow id="f_removed"', '<bpmn:sequenceFlow id="f_remove"',
                      "f_remove: the id 'f_remove' is used by 2 elements; each element needs its own id"),
    "not UTF-8": ("derby_review.bpmn", 'name="Six months"', 'name="Six months \xa3"',
                  "(document): the file is not UTF-8 text"),
    "appeal not must-outrank": ("derby_appeal.bpmn", '<camunda:property name="mustOutrank" value="original_decider"/>', "",
                                "'Hear the appeal' (hear_appeal): an appeal must be heard by someone more senior"),
}


@pytest.mark.parametrize("finding", list(FINDINGS))
def test_a_diagram_with_a_problem_is_refused_naming_its_element_and_nothing_is_deployed(signed_in, world, finding):
    filename, old, new, message = FINDINGS[finding]
    broken = edited((DERBY / filename).read_bytes(), old, new)
    if finding == "not UTF-8":
        broken = broken.replace("£".encode(), "£".encode("latin-1"))
    paula = signed_in("paula")
    refused = paula.upload(broken, filename, action="deploy")
    assert refused.status_code == 422
    assert f"{filename}: nothing was deployed" in text(refused)
    assert message in text(refused)
    # the element by its name, when it has one, with its id after
    assert re.search(r'<li data-element="([^"]+)">(?:[^<>]+ \()?<code class="element">\1</code>',
                     refused.get_data(as_text=True))
    assert not re.search(r'id="version-\w+-2"', paula.get("/processes").get_data(as_text=True))


def test_the_modeler_page_refuses_a_diagram_with_a_problem_keeping_the_edit_and_deploys_a_clean_one(signed_in, world):
    paula = signed_in("paula")
    page = paula.get("/processes/derby_review/edit")
    assert page.status_code == 200 and "processes/modeler.js" in page.get_data(as_text=True)
    broken = edited(review_xml(), ">P6M<", ">six months<").decode()
    refused = paula.post("/processes/derby_review/edit", {"xml": broken, "action": "deploy", "change_note": "Reviews every three months"})
    assert refused.status_code == 422
    assert "'Six months' (due_def): timeDuration: 'six months'" in text(refused) or "due_def" in text(refused)
    assert "&gt;six months&lt;" in refused.get_data(as_text=True)  # the edit is still there to fix
    assert 'data-findings="[&#34;due_def&#34;]"' in refused.get_data(as_text=True) or "due_def" in \
        re.search(r'data-findings="([^"]*)"', refused.get_data(as_text=True)).group(1)
    assert version_rows(text(paula.get("/processes")), "derby_review") == [("1", "system")]

    fixed = edited(review_xml(), ">P6M<", ">P3M<").decode()
    checked = paula.post("/processes/derby_review/edit", {"xml": fixed, "action": "check"})
    assert checked.status_code == 200 and "No problems found in derby_review.bpmn" in text(checked)
    deployed = paula.post("/processes/derby_review/edit", {"xml": fixed, "action": "deploy", "change_note": "Reviews every three months"})
    assert deployed.status_code == 302
    assert version_rows(text(paula.get("/processes")), "derby_review") == [("2", "paula"), ("1", "system")]


def test_the_changes_page_spells_out_timer_lane_form_and_condition_changes(signed_in, world):
    content = review_xml()
    content = edited(content, ">P6M<", ">P3M<")
    content = edited(content, '<bpmn:lane id="Lane_3" name="Head of Service">',
                     '<bpmn:lane id="Lane_3" name="Head of Housing Management">')
    content = edited(content, '<camunda:formField id="support_in_place" label="Support put in place for the tenant" type="string">'
                              '<camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>',
                     '<camunda:formField id="support_in_place" label="Support put in place for the tenant" type="string"/>')
    content = edited(content, "category == 'mental_health'", "category in ['mental_health', 'complaints']")
    paula = signed_in("paula")
    assert paula.upload(content, "derby_review.bpmn", action="deploy").status_code == 302

    cora = signed_in("cora")
    page = cora.get("/processes/derby_review/changes")
    assert page.status_code == 200
    lines = re.findall(r'<li class="\w+">(.*?)</li>', unescape(page.get_data(as_text=True)))
    assert "changed 'due' timer: timeDuration P6M -> timeDuration P3M" in lines
    assert "changed 'review_head_of_service' lane: Head of Service -> Head of Housing Management" in lines
    assert ("changed 'review_asb' form field support_in_place: string 'Support put in place for the tenant' required "
            "-> string 'Support put in place for the tenant'") in lines
    assert "changed 'f_cn' condition: category == 'mental_health' -> category in ['mental_health', 'complaints']" in lines
    assert "version 1 → version 2" in text(page)
    assert "no changes" not in text(cora.get("/processes/derby_review/changes?from=2&to=1"))
    assert "0 changes" in text(cora.get("/processes/derby_review/changes?from=1&to=1"))


def test_waiting_cases_are_migrated_after_a_dry_run_with_an_audit_event_each(signed_in, world):
    from tests.helpers import place_near_miss_marker
    waiting_on_timer = place_near_miss_marker(world, "C1", "2026-01-10T09:00")
    waiting_on_review = place_near_miss_marker(world, "C2", "2025-06-01T09:00")
    assert world.fire_timers("2026-01-10T10:00") == 1  # C2's review is with the Head of Service

    paula = signed_in("paula")
    # version 2: three months, and the Head of Service's step renamed, so C2's case cannot move
    content = edited(review_xml(), ">P6M<", ">P3M<").replace(b"review_head_of_service", b"review_by_head_of_service")
    assert paula.upload(content, "derby_review.bpmn", action="deploy").status_code == 302

    plan = paula.get("/processes/derby_review/migrate")
    assert plan.status_code == 200
    page = text(plan)
    assert "Dry run: 2 running cases on other versions, 1 can move" in page
    assert re.search(r"case \d+ alert %d v1 can move its waiting steps exist in the new version" % waiting_on_timer, page)
    assert re.search(r"case \d+ alert %d v1 cannot move its waiting step 'review_head_of_service' is not in version 2"
                     % waiting_on_review, page)
    assert world.alert(waiting_on_timer)["next_review_at"].startswith("2026-07-10")  # a dry run moves nothing

    with clock.frozen_at(clock.parse_moment("2026-01-11T09:00")):  # the web app reads the one clock
        moved = paula.post("/processes/derby_review/migrate?to=2")
    assert moved.status_code == 200
    assert "What was done: 2 running cases on other versions, 1 moved" in text(moved)
    alert = world.alert(waiting_on_timer)
    assert alert["next_review_at"].startswith("2026-04-10T09:00")  # decided 10 January + three months
    assert [c["version"] for c in alert["cases"] if c["kind"] == "review"] == [2]
    assert [e["actor"] for e in alert["events"] if e["action"] == "case_migrated"] == ["paula"]
    assert not [e for e in world.alert(waiting_on_review)["events"] if e["action"] == "case_migrated"]
    assert "Dry run: 1 running case on other versions, 0 can move" in text(paula.get("/processes/derby_review/migrate"))


def test_a_diagram_written_by_camunda_modeler_is_uploaded_checked_deployed_and_runs_a_case(signed_in, world):
    from tests.helpers import MARKER, record_on_red_triangle
    content = (HERE / "camunda_modeler_review.bpmn").read_bytes()
    assert b'exporter="Camunda Modeler"' in content and b">P6M<" in content and b"<bpmndi:BPMNDiagram" in content

    paula = signed_in("paula")
    checked = paula.upload(content, "review-one-reviewer.bpmn")
    assert checked.status_code == 200, text(checked)
    assert "No problems found in review-one-reviewer.bpmn" in text(checked)
    assert "added userTask 'Activity_0r3v13w' (Review the marker with information from staff)" in text(checked)
    assert paula.upload(content, "review-one-reviewer.bpmn", action="deploy").status_code == 302
    assert paula.get("/processes/derby_review/versions/2/download").data == content

    # a new marker's review runs on the uploaded version
    alert_id = world.report("near_miss", customer="C3", now="2026-02-01T09:00")
    task = world.open_task("helen", alert_id, "2026-02-01T09:00")
    world.complete("helen", task["task"], {"assessment_method": "Interview", **MARKER}, now="2026-02-01T09:00")
    record_on_red_triangle(world, alert_id, now="2026-02-01T10:00")
    alert = world.alert(alert_id)
    assert [c["version"] for c in alert["cases"] if c["kind"] == "review"] == [2]
    assert alert["next_review_at"].startswith("2026-08-01")  # the bare P6M: six calendar months

    assert world.fire_timers("2026-08-01T10:01") == 1
    review = world.open_task("helen", alert_id, "2026-08-01T10:01")
    assert review["title"] == "Review the marker with information from staff"
    world.complete("helen", review["task"], {"staff_information": "No incidents", "risk_reduced": "no",
                                             "review_outcome": "keep", "review_reason": "Risk unchanged",
                                             "inform_tenant": "yes"}, now="2026-08-02T09:00")
    alert = world.alert(alert_id)
    assert alert["next_review_at"].startswith("2027-02-01T09:00")  # six months from the due date, not the late day
    reviews = [c for c in alert["cases"] if c["kind"] == "review"]
    assert [c["version"] for c in reviews] == [2, 2] and reviews[0]["status"] == "completed"


# Every process route as every role, and signed out: the rows the app-wide table
# (tests/web/test_authorization.py) needs for these routes, proved here.
WHO = ["out", "sam", "tina", "anna", "helen", "arthur", "ada", "cora", "paula"]
TABLE = """
GET  /processes                                   302 403 403 403 403 403 200 200 200
GET  /processes/derby_review/changes              302 403 403 403 403 403 200 200 200
GET  /processes/derby_review/versions/1/download  302 403 403 403 403 403 200 200 200
GET  /processes/derby_review/edit                 302 403 403 403 403 403 403 403 200
GET  /processes/upload                            302 403 403 403 403 403 403 403 200
GET  /processes/new                               302 403 403 403 403 403 403 403 200
GET  /processes/derby_review/migrate              302 403 403 403 403 403 403 403 200
GET  /processes/nothing/changes                   302 403 403 403 403 403 404 404 404
GET  /processes/settings                          302 403 403 403 403 403 200 200 200
GET  /processes/settings/versions/1               302 403 403 403 403 403 200 200 200
GET  /processes/settings/versions/9               302 403 403 403 403 403 404 404 404
GET  /processes/settings/edit                     302 403 403 403 403 403 403 403 200
GET  /processes/packs                             302 403 403 403 403 403 200 200 200
POST /processes/derby_review/edit                 302 403 403 403 403 403 403 403 422
POST /processes/upload                            302 403 403 403 403 403 403 403 422
POST /processes/new                               302 403 403 403 403 403 403 403 422
POST /processes/derby_review/migrate              302 403 403 403 403 403 403 403 200
POST /processes/settings/edit                     302 403 403 403 403 403 403 403 422
POST /processes/packs/new                         302 403 403 403 403 403 403 403 422
POST /processes/packs/use                         302 403 403 403 403 403 403 403 422
"""


def test_every_process_route_answers_each_role_as_the_table_says(app, world):
    from tests.helpers import Browser as Client
    from tests.processes.conftest import add_admin_ada
    add_admin_ada()
    clients = {who: (app.test_client() if who == "out" else Client(app, who)) for who in WHO}
    from tests.helpers import csrf_token
    out_token = csrf_token(clients["out"].get("/sign-in").get_data(as_text=True))
    wrong = []
    for line in TABLE.strip().splitlines():
        method, url, *codes = line.split()
        for who, expected in zip(WHO, codes):
            client = clients[who]
            http = client if who == "out" else client.client
            if method == "GET":
                got = http.get(url).status_code
            else:
                form = {"csrf_token": out_token if who == "out" else client.token(), "xml": "<not-bpmn/>"}
                got = http.post(url, data=form).status_code
            if str(got) != expected:
                wrong.append(f"{method} {url} as {who}: {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    # and nothing was deployed or moved by any of it
    assert version_rows(text(clients["paula"].get("/processes")), "derby_review") == [("1", "system")]
    assert "v2" not in text(clients["paula"].get("/processes/settings"))

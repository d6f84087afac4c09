"""Impact before deploy: `alertflow pack impact FILE` says, for each running case of each process
the file changes, whether it could move to the new version and what would move for it (its next
review on another day, its open step renamed, a field it lacks), in words, nothing deployed."""
import re

from tests.helpers import place_near_miss_marker
from tests.processes.conftest import DERBY_DIAGRAMS as DERBY, add_staff, edited, review_xml


def write(tmp_path, content: bytes, name="derby_review.bpmn"):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_pack_impact_lists_a_running_case_whose_next_review_moves_and_deploys_nothing(derby, cli, tmp_path):
    add_staff()
    alert = place_near_miss_marker(derby, "C1", "2026-01-10T09:00")
    assert derby.alert(alert)["next_review_at"].startswith("2026-07-10")
    # as downloaded from the versions page, under the name the download gives it
    file = write(tmp_path, edited(review_xml(), ">P6M<", ">P3M<"), "derby_review.v1.bpmn")

    out = cli("pack", "impact", file, "--as", "paula", now="2026-02-01T09:00")
    assert "derby_review: version 2 would change 1 thing; 1 running case" in out
    case = [c for c in derby.alert(alert)["cases"] if c["kind"] == "review"][0]
    assert f"case {case['case']} of alert A{alert:06d} (on version 1): can move: " \
           f"its next review moves from 10 July 2026 to 10 April 2026" in out
    # nothing was deployed or moved
    assert "derby_review v2" not in cli("pack", "versions")
    assert derby.alert(alert)["next_review_at"].startswith("2026-07-10")

    # a period already over by now: said so, as the next sweep would fire it
    out = cli("pack", "impact", write(tmp_path, edited(review_xml(), ">P6M<", ">P1M<")), "--as", "paula",
              now="2026-03-01T09:00")
    assert "moves from 10 July 2026 to 10 February 2026 (already past: it would fall due at the next timer sweep)" in out


def test_pack_impact_names_an_open_step_renamed_asking_for_a_new_field_moved_to_another_role_and_a_case_that_cannot_move(derby, cli, tmp_path):
    add_staff()
    alert = place_near_miss_marker(derby, "C1", "2026-01-10T09:00")
    derby.fire_timers("2026-07-10T09:01")  # the review falls due: a manager's step is open
    # every reviewer's step renamed and asking for one more field
    renamed = review_xml().replace(b'name="Review the marker"><bpmn:extensionElements><camunda:formData>',
                                   b'name="Review the warning marker"><bpmn:extensionElements><camunda:formData>'
                                   b'<camunda:formField id="police_view" label="The police view" type="string"/>')
    out = cli("pack", "impact", write(tmp_path, renamed), "--as", "paula", now="2026-07-11T09:00")
    assert f"of alert A{alert:06d} (on version 1): can move: " in out
    assert "its open step 'Review the marker' is renamed 'Review the warning marker'" in out
    assert "its open step 'Review the warning marker' now also asks for The police view" in out

    # the Head of Service's step (the one open: §6's default reviewer) given to the ASB Manager
    moved = edited(review_xml(), '<bpmn:flowNodeRef>review_head_of_service</bpmn:flowNodeRef>', '')
    moved = edited(moved, '<bpmn:flowNodeRef>review_asb</bpmn:flowNodeRef>',
                   '<bpmn:flowNodeRef>review_asb</bpmn:flowNodeRef><bpmn:flowNodeRef>review_head_of_service</bpmn:flowNodeRef>')
    out = cli("pack", "impact", write(tmp_path, moved), "--as", "paula", now="2026-07-11T09:00")
    assert "its open step 'Review the marker' moves from the Head of Service to the ASB Manager" in out, out

    # the open step gone from the new version: the case cannot move, and says which step
    gone = review_xml()
    for step in (b"review_asb", b"review_complex_needs", b"review_head_of_service"):
        gone = gone.replace(b'"' + step + b'"', b'"' + step + b'_v2"').replace(b">" + step + b"<", b">" + step + b"_v2<")
    out = cli("pack", "impact", write(tmp_path, gone), "--as", "paula", now="2026-07-11T09:00")
    assert re.search(r"cannot move: its waiting step 'review_\w+' is not in the new version 2$", out, re.M), out


def test_pack_impact_is_for_process_owners_and_refuses_a_file_with_problems(derby, cli, tmp_path):
    add_staff()
    file = write(tmp_path, edited(review_xml(), ">P6M<", ">P3M<"))
    assert "not a process owner" in cli.fails("pack", "impact", file, "--as", "helen")
    broken = write(tmp_path, edited(review_xml(), ">P6M<", ">six months<"))
    error = cli.fails("pack", "impact", broken, "--as", "paula")
    assert "cannot be deployed" in error and "due" in error


def test_pack_impact_names_a_field_the_new_version_asks_for_at_a_step_the_case_has_passed(derby, cli, tmp_path):
    add_staff()
    # a complaints case: the Head of Service has appointed the Investigating Officer, who is at work
    alert = derby.report("complaints", customer="C1", now="2026-01-10T09:00")
    task = derby.open_task("helen", alert, "2026-01-10T09:00")
    derby.complete("helen", task["task"], {"investigating_officer": "ivy", "complaint_summary": "Four complaints"},
                   now="2026-01-10T09:00")
    assessment = (DERBY / "derby_assessment.bpmn").read_bytes()
    opening = '<bpmn:userTask id="appoint_officer" name="Appoint an Investigating Officer (§5.5)"><bpmn:extensionElements><camunda:formData>'
    asked = edited(assessment, opening, opening + '<camunda:formField id="complaint_count" label="How many complaints" '
                   'type="long"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>')
    out = cli("pack", "impact", write(tmp_path, asked, "derby_assessment.bpmn"), "--as", "paula", now="2026-01-11T09:00")
    assert "it lacks How many complaints, which the new version 2 asks for at 'Appoint an Investigating Officer (§5.5)', " \
           "a step it has passed" in out, out


def test_the_upload_check_shows_the_impact_table_and_a_new_process_is_refused_in_words(signed_in, world):
    from html import unescape
    from tests.processes.conftest import text
    alert = place_near_miss_marker(world, "C1", "2026-01-10T09:00")
    paula = signed_in("paula")
    page = paula.upload(edited(review_xml(), ">P6M<", ">P3M<"), "derby_review.bpmn")
    assert page.status_code == 200
    shown = text(page)
    assert "What would change for the cases running now: 1 running case (1 could move to version 2)" in shown
    assert f"A{alert:06d}" in shown and "its next review moves from 10 July 2026 to 10 April 2026" in shown
    # deployed, the migration's dry run gives the same answer
    assert paula.upload(edited(review_xml(), ">P6M<", ">P3M<"), "derby_review.bpmn", action="deploy").status_code == 302
    plan = text(paula.get("/processes/derby_review/migrate"))
    assert "can move its waiting steps exist in the new version its next review moves from 10 July 2026 to 10 April 2026" in plan

    # a new process: refused in words for a name or identifier that will not do, nothing opened
    for form, said in (({"name": "", "process_id": "x_request"}, "give the new process a name"),
                       ({"name": "Requests", "process_id": "derby_review"}, "a process 'derby_review' is deployed already"),
                       ({"name": "Requests", "process_id": "9 lives"}, "'9 lives' cannot be a process identifier")):
        refused = paula.post("/processes/new", {**form, "action": "start"}, token_from="/processes/new")
        assert refused.status_code == 422 and said in unescape(refused.get_data(as_text=True)), form
    # a name with markup is text in the page and in the diagram, never markup
    opened = paula.post("/processes/new", {"name": "<script>x</script> & requests", "process_id": "x_request",
                                           "action": "start"}, token_from="/processes/new")
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200 and "<script>x</script>" not in html
    assert 'name="&lt;script&gt;x&lt;/script&gt; &amp; requests"' in unescape(html.split('id="diagram-xml"')[1])


def test_a_diagram_that_loops_back_within_one_case_is_deployed_from_the_web_with_a_warning(signed_in, world):
    from tests.processes.conftest import text
    loop = edited(review_xml(), '<bpmn:outgoing>f_remove</bpmn:outgoing><bpmn:outgoing>f_keep</bpmn:outgoing></bpmn:exclusiveGateway>',
                  '<bpmn:outgoing>f_remove</bpmn:outgoing><bpmn:outgoing>f_keep</bpmn:outgoing><bpmn:outgoing>f_again</bpmn:outgoing>'
                  '</bpmn:exclusiveGateway><bpmn:sequenceFlow id="f_again" sourceRef="gw_outcome" targetRef="review_asb">'
                  '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">review_outcome == \'amend\'</bpmn:conditionExpression>'
                  '</bpmn:sequenceFlow>')
    paula = signed_in("paula")
    page = paula.upload(loop, "derby_review.bpmn")
    shown = text(page)
    assert page.status_code == 200 and "No problems found in derby_review.bpmn" in shown
    assert "1 warning (deploying is allowed)" in shown
    assert "'Review the marker' (review_asb): a path from here leads back to it within one case" in shown
    assert 'class="findings warnings"' in page.get_data(as_text=True) and 'data-element="review_asb"' in page.get_data(as_text=True)
    assert paula.upload(loop, "derby_review.bpmn", action="deploy").status_code == 302

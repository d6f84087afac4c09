"""The deployed versions in the database are the one truth of what runs: `alertflow pack deploy`
deploys the pack's files only where they differ, only for a process owner, shows what changes,
and never silently undoes a web change (only --force replaces it, audited); `alertflow pack
export` writes the deployed pack back to files; and a process deployed on the web that exists on
no disk runs, with its lanes' roles reading its cases, without a restart."""
import json

from sqlalchemy import select

from tests.helpers import PASSWORD, Browser, one_hash_per_password, place_near_miss_marker
from tests.packs.small_pack import ASSESSMENT, LETTER, PACK_TOML, REVIEW, write_small_pack
from tests.processes.conftest import add_admin_ada, edited, review_xml, text
from workflows.platform.models import AuditEvent


def audit_events(action):
    from workflows.platform.db import transaction
    with transaction() as db:
        return [json.loads(e.detail) if isinstance(e.detail, str) else e.detail
                for e in db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_pack_deploy_keeps_a_review_period_changed_on_the_web_unless_a_process_owner_forces_it(
        pack_dir, signed_in, world, cli):
    # a process owner changes the review to every 3 months in the web modeler
    paula = signed_in("paula")
    three_months = edited(review_xml(), ">P6M<", ">P3M<")
    assert paula.post("/processes/derby_review/edit", {"xml": three_months.decode(), "action": "deploy", "change_note": "Reviews every three months"}).status_code == 302
    page = text(paula.get("/processes"))
    assert "derby_review.bpmn not in the pack's files (alertflow pack export writes it there)" in page

    # an administrator runs the command docs/workers.md used to give them: refused, nothing deployed
    add_admin_ada()
    for extra in ((), ("--force",)):
        refused = cli.fails("pack", "deploy", "--as", "ada", *extra)
        assert "ada is not a process owner" in refused
    assert "the Derby Homes pack is deployed already: only a process owner may deploy" in cli.fails("pack", "deploy")

    # another process owner, with the server's files (still 6 months): refused, saying what it would undo
    cli("users", "add", "olive", "--name", "Olive", "--role", "process_owner")
    refused = cli.fails("pack", "deploy", "--as", "olive")
    assert "derby_review version 2 was deployed by paula on " in refused and "is not in the pack's files" in refused
    assert "deploying derby_review.bpmn would undo it" in refused
    assert "changed 'due' timer: timeDuration P3M -> timeDuration P6M" in refused
    assert "Nothing was deployed" in refused and "pack export DIR --as olive" in refused and "--force" in refused
    assert "derby_review v3" not in cli("pack", "versions")
    new_case = place_near_miss_marker(world, "C2", "2026-01-10T09:00")
    assert world.alert(new_case)["next_review_at"].startswith("2026-04-10")  # the 3-month review stays
    assert audit_events("process_deploy_forced") == []

    # --force by a process owner replaces it, and says so in the audit log
    out = cli("pack", "deploy", "--as", "olive", "--force")
    assert "deployed derby_review version 3 from derby_review.bpmn (replacing version 2, deployed by paula)" in out
    assert "changed 'due' timer: timeDuration P3M -> timeDuration P6M" in out
    [forced] = audit_events("process_deploy_forced")
    assert forced["process_id"] == "derby_review" and forced["replaced_version"] == 2
    assert forced["replaced_deployed_by"] == "paula"
    assert "changed 'due' timer: timeDuration P3M -> timeDuration P6M" in forced["changes"]
    later = place_near_miss_marker(world, "C3", "2026-01-10T09:00")
    assert world.alert(later)["next_review_at"].startswith("2026-07-10")
    # the files now hold the newest version: deploying them again changes nothing
    assert "every process is already deployed" in cli("pack", "deploy", "--as", "olive")
    assert "not in the pack's files" not in text(paula.get("/processes"))


def test_export_writes_the_deployed_pack_and_deploying_it_again_is_a_no_op(pack_dir, signed_in, world, cli,
                                                                             tmp_path, monkeypatch):
    paula = signed_in("paula")
    three_months = edited(review_xml(), ">P6M<", ">P3M<")
    assert paula.upload(three_months, "derby_review.v1.bpmn", action="deploy").status_code == 302
    assert "not a process owner" in cli.fails("pack", "export", str(tmp_path / "x"), "--as", "helen")

    exported = tmp_path / "checkout" / "derby"
    exported.mkdir(parents=True)
    (exported / "old_review.bpmn").write_bytes(review_xml())  # a stale copy under another name
    out = cli("pack", "export", str(exported), "--as", "paula")
    assert f"the deployed pack is in {exported}" in out
    assert f"removed {exported / 'old_review.bpmn'}" in out and not (exported / "old_review.bpmn").exists()
    assert (exported / "derby_review.bpmn").read_bytes() == three_months  # byte for byte as deployed
    assert (exported / "derby_assessment.bpmn").read_bytes() == (pack_dir / "derby_assessment.bpmn").read_bytes()
    assert (exported / "pack.toml").read_text() == (pack_dir / "pack.toml").read_text()
    letters = sorted(p.name for p in (pack_dir / "letters").iterdir())
    assert letters and sorted(p.name for p in (exported / "letters").iterdir()) == letters
    assert audit_events("pack_exported")[0]["versions"]["derby_review"] == 2

    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(exported.parent))
    before = cli("pack", "versions")
    assert "every process is already deployed" in cli("pack", "deploy", "--as", "paula")
    assert cli("pack", "versions") == before

    # the exported files hold the web's version: an edit to them deploys without --force
    (exported / "derby_review.bpmn").write_bytes(edited(three_months, ">P3M<", ">P4M<"))
    out = cli("pack", "deploy", "--as", "paula")
    assert "deployed derby_review version 3" in out and "timeDuration P3M -> timeDuration P4M" in out
    assert audit_events("process_deploy_forced") == []


COMPLAINTS = """
[roles.complaints_officer]
name = "Complaints Officer"
rank = 2
"""
COMPLAINT_REQUEST = """
[requests.complaint]
label = "A complaint about the marker"
process = "small_complaint"
"""

COMPLAINT = """<?xml version='1.0' encoding='UTF-8'?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_c" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="small_complaint" name="A complaint about a marker" isExecutable="true">
<bpmn:laneSet id="ls"><bpmn:lane id="l_officer" name="Complaints Officer"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>answer</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="answer" name="Answer the complaint"><bpmn:extensionElements><camunda:formData>
<camunda:formField id="answer_text" label="The answer" type="string"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
</camunda:formData></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer"/><bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
"""


def test_a_process_deployed_only_on_the_web_runs_and_its_lane_role_reads_its_cases_without_a_restart(
        cli, app, monkeypatch, tmp_path):
    folder = write_small_pack(tmp_path)
    (folder / "pack.toml").write_text(PACK_TOML + COMPLAINTS)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    assert "installed from" in cli("pack", "deploy")  # the first deploy: the files on disk, no process owner yet
    from workflows.accounts import credentials
    from workflows.platform.db import transaction
    people = {"owen": "process_owner", "cleo": "complaints_officer", "mo": "manager", "sam": "staff"}
    for username, role in people.items():
        cli("users", "add", username, "--name", username.title(), "--role", role)
    with one_hash_per_password(), transaction() as db:
        for username in people:
            credentials.set_password(db, username=username, password=PASSWORD, by="test")

    cli("customers", "add", "C1", "--name", "John Smith", "--address", "1 High Street", "--postcode", "DE1 1AA")
    cli("customers", "add", "C2", "--name", "Mary Jones", "--address", "2 High Street", "--postcode", "DE1 1AA")
    alert_id = int(cli("report", "--as", "sam", "--customer", "C1", "--category", "concern",
                       "--description", "Shouted").split("alert ")[1].split()[0])
    other = int(cli("report", "--as", "sam", "--customer", "C2", "--category", "concern",
                    "--description", "Shouted").split("alert ")[1].split()[0])
    # the process owner uploads the new process on the web: it is on no disk of the server
    owen = Browser(app, "owen")
    assert owen.upload(COMPLAINT.encode(), "small_complaint.bpmn", action="deploy").status_code == 302
    assert not list(tmp_path.rglob("small_complaint*"))
    assert "small_complaint" in text(owen.get("/processes"))
    # then deploys pack.toml with the request that starts it (the check refuses a request naming a
    # process neither in the diagrams nor deployed); the running app reads it with no restart
    (folder / "pack.toml").write_text(PACK_TOML + COMPLAINTS + COMPLAINT_REQUEST)
    out = cli("pack", "deploy", "--as", "owen", "--note", "Complaints about a marker start their own case")
    assert "deployed pack.toml and letters version 2" in out and "added [requests.complaint] process" in out

    # the same running app (no restart) runs it, and the lane's role reads the case it works
    cli("request", alert_id, "--as", "sam", "--kind", "complaint", "--details", "The marker is wrong")
    cleo = Browser(app, "cleo")
    inbox = cleo.get("/inbox")
    assert inbox.status_code == 200 and "Answer the complaint" in text(inbox)
    page = cleo.get(f"/alerts/{alert_id}")
    assert page.status_code == 200 and "Shouted" in text(page)  # the story, not only the instruction
    assert "A complaint about a marker v1" in text(page)
    assert "Waiting: Answer the complaint (Complaints Officer)" in text(page)  # the deployed lane
    request_case = cli.json("alerts", "show", alert_id, "--as", "cleo")["cases"][-1]["case"]
    diagram = cleo.get(f"/cases/{request_case}/diagram.xml")
    assert diagram.status_code == 200 and b'id="small_complaint"' in diagram.data
    assert cleo.get(f"/alerts/{other}").status_code == 403  # no step on that one: no need to know
    [step] = [t for t in cli.json("inbox", "--as", "cleo") if t["alert"] == alert_id]
    task_page = cleo.get(f"/tasks/{step['task']}")
    assert task_page.status_code == 200 and "The answer" in text(task_page)
    cli("task", "complete", step["task"], "--as", "cleo", "--set", "answer_text=It stays, for now")
    assert "It stays, for now" in json.dumps(cli.json("alerts", "show", alert_id, "--as", "cleo"))
    # `pack deploy` from the files leaves the web's process alone, and says it is in no file
    out = cli("pack", "deploy", "--as", "owen")
    assert "small_complaint version 1 is deployed but has no diagram in the pack's files" in out


# a second review process whose diagram lies in the pack's folder on the server, never deployed
FOLLOW_UP = REVIEW.replace("small_review", "small_followup")
SCHEDULES_FOLLOW_UP = ASSESSMENT.replace('<camunda:property name="process" value="small_review"/>',
                                         '<camunda:property name="process" value="small_followup"/>')
FOLLOW_UP_REQUEST = '\n[requests.follow_up]\nlabel = "A follow-up review"\nprocess = "small_followup"\n'


def test_the_web_counts_only_deployed_processes_never_a_diagram_lying_in_the_pack_folder(
        cli, app, monkeypatch, tmp_path):
    folder = write_small_pack(tmp_path)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    cli("pack", "deploy")
    cli("users", "add", "owen", "--name", "Owen", "--role", "process_owner")
    from workflows.accounts import credentials
    from workflows.platform.db import transaction
    with one_hash_per_password(), transaction() as db:
        credentials.set_password(db, username="owen", password=PASSWORD, by="test")
    (folder / "small_followup.bpmn").write_text(FOLLOW_UP)  # copied to the server, not deployed: it does not run
    before = cli("pack", "versions")

    # a diagram scheduling it, sent on the web, would stop every new case at its review: refused
    owen = Browser(app, "owen")
    expected = ("'Review' (schedule): schedule_review names the process 'small_followup', which is neither in "
                "the pack's diagrams nor deployed (the pack's processes: small_assessment, small_incident, "
                "small_review)")
    for action in ("check", "deploy"):
        refused = owen.upload(SCHEDULES_FOLLOW_UP.encode(), "small_assessment.bpmn", action=action)
        assert refused.status_code == 422 and expected in text(refused), text(refused)
    saved = owen.post("/processes/small_assessment/edit", {"xml": SCHEDULES_FOLLOW_UP, "action": "deploy",
                                                           "change_note": "Reviews by the follow-up process"})
    assert saved.status_code == 422 and expected in text(saved)
    # so is pack.toml edited on the web with a request starting it
    settings = owen.post("/processes/settings/edit", {
        "pack_toml": PACK_TOML + FOLLOW_UP_REQUEST, "letter:letters/told.txt": LETTER, "action": "deploy",
        "change_note": "Follow-up reviews on request"})
    assert settings.status_code == 422, text(settings)
    assert ("[requests.follow_up]: request 'A follow-up review' (follow_up) starts the process 'small_followup', "
            "which is neither in the pack's diagrams nor deployed") in text(settings)
    assert cli("pack", "versions") == before  # nothing deployed

    # `pack deploy` deploys the folder's diagrams together: there the follow-up is deployed with the
    # assessment that names it
    (folder / "small_assessment.bpmn").write_text(SCHEDULES_FOLLOW_UP)
    out = cli("pack", "deploy", "--as", "owen")
    assert "deployed small_followup version 1" in out and "deployed small_assessment version 2" in out, out

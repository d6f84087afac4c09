"""A whole new pack made on the web (or the command line) from a template pack, then made the active
one: it runs in the same app process, with no files on the server and no restart, and its roles
work its cases. Refusals (a bad or taken key, no name or change note, not a process owner, a
template the checks refuse, cases still running under the active pack) say what is wrong and save
nothing. On the small pack written for the tests, not a landlord's."""
import re
import shutil

import pytest
from sqlalchemy import func, select

from tests.helpers import PASSWORD, Browser, one_hash_per_password
from tests.packs.small_pack import write_small_pack
from tests.processes.conftest import text
from tests.processes.test_one_truth import audit_events
from workflows.platform.models import ActivePack, Case, PackSettingsVersion, ProcessDefinition

PEOPLE = {"owen": "process_owner", "mo": "manager", "sam": "staff", "cora": "compliance_officer"}
NOTE = "A pack for Riverside to try before they go live"


@pytest.fixture
def small(cli, monkeypatch, tmp_path):
    """The small pack installed from its folder (tmp_path/small) and the people who work it."""
    write_small_pack(tmp_path)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    cli("pack", "deploy")
    for username, role in PEOPLE.items():
        cli("users", "add", username, "--name", username.title(), "--role", role)
    from workflows.accounts import credentials
    from workflows.platform.db import transaction
    with one_hash_per_password(), transaction() as db:
        for username in PEOPLE:
            credentials.set_password(db, username=username, password=PASSWORD, by="test")
    cli("customers", "add", "C1", "--name", "John Smith", "--address", "1 High Street", "--postcode", "AB1 1AA")
    return tmp_path


def _rows():
    """What the database holds of packs: (settings versions by pack, diagram versions by pack, active row)."""
    from workflows.platform.db import transaction
    with transaction() as db:
        settings = dict(db.execute(select(PackSettingsVersion.pack, func.count()).group_by(PackSettingsVersion.pack)).all())
        diagrams = dict(db.execute(select(ProcessDefinition.pack, func.count()).group_by(ProcessDefinition.pack)).all())
        active = db.get(ActivePack, 1)
        return settings, diagrams, active.pack if active else None


def _new(browser, token_from="/processes/packs", **fields):
    form = {"template": "small", "key": "riverside", "name": "Riverside Homes", "change_note": NOTE, **fields}
    return browser.post("/processes/packs/new", form, token_from=token_from)


def _alert_reported(browser, response) -> int:
    """The alert a report made, from the thanks the next page shows ("concern reported (alert 1)")."""
    assert response.status_code == 302, text(response)
    thanks = text(browser.get(response.headers["Location"]))
    return int(re.search(r"concern reported \(alert (\d+)\)\. It is with the Manager", thanks).group(1))


def test_a_pack_made_on_the_web_from_a_template_runs_its_cases_for_its_roles_with_no_files_and_no_restart(
        small, app, cli):
    owen = Browser(app, "owen")
    page = owen.get("/processes/packs")
    assert page.status_code == 200
    assert "Small Test Housing active" in text(page) and "A new pack from a template" in text(page)

    made = _new(owen)
    assert made.status_code == 302
    listing = text(owen.get("/processes/packs"))
    assert "Made the Riverside Homes pack (riverside) from small" in listing
    assert "Riverside Homes riverside pack.toml and letters v1 none: in the database only" in listing
    assert not (small / "riverside").exists() and not list(small.rglob("*riverside*"))  # on no disk
    settings, diagrams, active = _rows()
    assert settings["riverside"] == 1 and diagrams["riverside"] == diagrams["small"] == 3 and active is None
    [created] = audit_events("pack_created")
    assert created["pack"] == "riverside" and created["template"] == "small" and created["change_note"] == NOTE
    assert created["processes"] == {"small_assessment": 1, "small_incident": 1, "small_review": 1}
    assert "riverside  Riverside Homes  pack.toml and letters v1; no folder: in the database only" in cli("pack", "list")

    # made the active pack, the same app (no restart) runs it at the next request
    assert owen.post("/processes/packs/use", {"key": "riverside"}, token_from="/processes/packs").status_code == 302
    assert "The Riverside Homes pack is the active pack now" in text(owen.get("/processes/packs"))
    assert _rows()[2] == "riverside"
    [chosen] = audit_events("active_pack_chosen")
    assert chosen["pack"] == "riverside" and chosen["previous"] == "small"
    processes = text(owen.get("/processes"))
    assert "Processes of the Riverside Homes pack" in processes and "small_assessment" in processes

    sam = Browser(app, "sam")
    report = sam.get("/report")
    assert report.status_code == 200 and "Riverside Homes" in text(report)  # the header names the pack
    alert_id = _alert_reported(sam, sam.post("/report", {"customer": "C1", "category": "concern",
                                                    "description": "Shouted at the officer"}, token_from="/report"))
    from workflows.platform.db import transaction
    with transaction() as db:
        [case_pack] = db.scalars(select(ProcessDefinition.pack).join(Case, Case.definition_id == ProcessDefinition.id)
                                 .where(Case.alert_id == alert_id))
    assert case_pack == "riverside"  # the case runs on the new pack's version 1

    # its roles work it: the manager's inbox, the case page, the step and the diagram
    mo = Browser(app, "mo")
    assert "Decide the marker" in text(mo.get("/inbox"))
    story = mo.get(f"/alerts/{alert_id}")
    assert story.status_code == 200 and "Shouted at the officer" in text(story)
    [step] = [t for t in cli.json("inbox", "--as", "mo") if t["alert"] == alert_id]
    assert mo.get(f"/tasks/{step['task']}").status_code == 200
    case_id = cli.json("alerts", "show", alert_id, "--as", "mo")["cases"][0]["case"]
    diagram = mo.get(f"/cases/{case_id}/diagram.xml")
    assert diagram.status_code == 200 and b'id="small_assessment"' in diagram.data
    cli("task", "complete", step["task"], "--as", "mo", "--set", "marker_text=Visit in pairs", "--set", "level=L2",
        "--set", "contact_rules=letters_only")
    story = text(mo.get(f"/alerts/{alert_id}"))  # placed, and its letter issued from the new pack's template
    assert "Visit in pairs" in story and "The marker on your record" in story
    assert Browser(app, "cora").get(f"/alerts/{alert_id}").status_code == 200

    # the register list, where every role (the administrator too) was refused while the readers of
    # cases came from the files, and the administrator's own pages
    cli("users", "add", "ada", "--name", "Ada", "--role", "admin")
    from workflows.accounts import credentials
    with one_hash_per_password(), transaction() as db:
        credentials.set_password(db, username="ada", password=PASSWORD, by="test")
    ada = Browser(app, "ada")
    register = text(mo.get("/alerts"))
    assert "1–1 of 1" in register and "John Smith (C1) A concern Level 2 Active" in register
    listed = ada.get("/alerts")  # the administrator has no need to know this story: listed for none
    assert listed.status_code == 200 and "No alerts you need to know about" in text(listed)
    assert "the instruction to staff is: Visit in pairs" in text(ada.get(f"/alerts/{alert_id}"))
    users = ada.get("/admin/users")
    assert users.status_code == 200 and "Manager" in text(users) and "Mo" in text(users), text(users)
    assert ada.get("/admin/users/mo").status_code == 200


def test_refusals_on_the_web_say_what_is_wrong_and_save_nothing(small, app, cli):
    owen = Browser(app, "owen")
    before = _rows()
    refusals = {
        "a key that is not one": ({"key": "River Side!"}, "'River Side!' cannot be a pack's key: use small letters, "
                                                          "digits and _ (up to 40), starting with a letter"),
        "the key of a pack folder": ({"key": "small"}, "the key 'small' is taken"),
        "no name": ({"name": "  "}, "give the new pack a name"),
        "a template it does not hold": ({"template": "../small"}, "there is no pack '../small' to copy; choose one "
                                                                  "of: small (Small Test Housing)"),
    }
    for what, (fields, words) in refusals.items():
        refused = _new(owen, **fields)
        assert refused.status_code == 422, what
        assert words in text(refused) and "Nothing was deployed" in text(refused), what
    no_note = _new(owen, change_note=" ")
    assert no_note.status_code == 422 and "Write a change note" in text(no_note)
    assert 'value="Riverside Homes"' in no_note.get_data(as_text=True)  # what was typed is kept
    # a manager may not make packs, nor choose one; compliance may look, not change
    mo = Browser(app, "mo")
    assert mo.get("/processes/packs").status_code == 403
    assert _new(mo, token_from="/inbox").status_code == 403 and mo.post("/processes/packs/use", {"key": "small"}).status_code == 403
    cora = Browser(app, "cora")
    assert cora.get("/processes/packs").status_code == 200 and "Make the new pack" not in text(cora.get("/processes/packs"))
    assert _new(cora).status_code == 403
    assert _rows() == before and audit_events("pack_created") == []

    # a template whose diagram the checks refuse: the finding names the file and the role, nothing saved
    shutil.copytree(small / "small", small / "broken")
    review = small / "broken" / "small_review.bpmn"
    review.write_text(review.read_text().replace('name="Manager"', 'name="Boss"'))
    refused = _new(owen, template="broken")
    assert refused.status_code == 422 and "nothing was deployed" in text(refused)
    assert "small_review.bpmn" in text(refused) and "Boss" in text(refused)
    assert _rows() == before

    # a key taken by a pack made on the web
    assert _new(owen).status_code == 302
    taken = _new(owen, name="Riverside again")
    assert taken.status_code == 422 and "the key 'riverside' is taken" in text(taken)
    assert _rows()[0]["riverside"] == 1


def test_another_pack_is_not_made_active_while_cases_of_the_active_pack_run(small, app, cli):
    owen = Browser(app, "owen")
    assert _new(owen).status_code == 302
    cli("report", "--as", "sam", "--customer", "C1", "--category", "concern", "--description", "Shouted")
    refused = owen.post("/processes/packs/use", {"key": "riverside"}, token_from="/processes/packs")
    assert refused.status_code == 422
    assert ("1 case of the Small Test Housing pack is not finished (small_assessment: 1)" in text(refused)
            and "The Small Test Housing pack stays the active one" in text(refused))
    out = cli.fails("pack", "use", "riverside", "--as", "owen")
    assert "1 case of the Small Test Housing pack is not finished (small_assessment: 1)" in out
    assert "not a process owner" in cli.fails("pack", "use", "riverside", "--as", "mo")
    assert Browser(app, "mo").post("/processes/packs/use", {"key": "riverside"}).status_code == 403
    assert _rows()[2] is None and audit_events("active_pack_chosen") == []
    assert "Small Test Housing" in text(owen.get("/processes"))


def test_the_command_line_makes_a_pack_from_the_deployed_one_uses_it_and_exports_it(small, app, cli, tmp_path):
    # a web change to the deployed settings is what the copy takes, not the folder's files
    owen = Browser(app, "owen")
    toml = (small / "small" / "pack.toml").read_text()
    letter = (small / "small" / "letters" / "told.txt").read_text()
    deployed = owen.post("/processes/settings/edit", {
        "pack_toml": toml.replace('tell_tenant_within = "P14D"', 'tell_tenant_within = "P21D"'),
        "letter:letters/told.txt": letter, "change_note": "Three weeks to tell", "action": "deploy"},
        token_from="/processes/settings/edit")
    assert deployed.status_code == 302
    # refusals: the note, the key, who
    assert "Write a change note" in cli.fails("pack", "new", "copy", "--from", "small", "--name", "Copy Housing",
                                              "--as", "owen", "--note", " ")
    assert "is taken" in cli.fails("pack", "new", "small", "--from", "small", "--name", "Copy Housing",
                                   "--as", "owen", "--note", "why")
    assert "not a process owner" in cli.fails("pack", "new", "copy", "--from", "small", "--name", "Copy Housing",
                                              "--as", "mo", "--note", "why")
    assert "copy" not in _rows()[0]

    out = cli("pack", "new", "copy", "--from", "small", "--name", "Copy Housing", "--as", "owen", "--note", "A copy")
    assert "made the Copy Housing pack (copy) from small (its newest deployed versions)" in out
    assert "deployed small_review version 1" in out and "nothing was written to disk" in out
    assert "the Copy Housing pack (copy) is the active pack now" in cli("pack", "use", "copy", "--as", "owen")
    assert cli("pack", "list").startswith("copy  Copy Housing  (active)")
    assert "Copy Housing" in text(owen.get("/processes/settings"))  # the same app, no restart

    # a pack with no folder: `pack deploy` and `pack check` say where it is; `pack export` writes it
    assert "a pack made on the web has no folder" in cli.fails("pack", "deploy", "--as", "owen")
    assert "a pack made on the web has no folder" in cli.fails("pack", "check")
    exported = tmp_path / "exported"
    cli("pack", "export", str(exported), "--as", "owen")
    written = (exported / "pack.toml").read_text()
    assert 'name = "Copy Housing"' in written and 'tell_tenant_within = "P21D"' in written
    assert sorted(p.name for p in exported.glob("*.bpmn")) == ["small_assessment.bpmn", "small_incident.bpmn",
                                                               "small_review.bpmn"]
    # the name, unless given, is the key in words
    assert "made the Riverside Homes pack (riverside_homes)" in cli("pack", "new", "riverside_homes", "--from", "copy",
                                                                    "--as", "owen", "--note", "Another")
    # and back: a pack only in a folder is installed from it when it is made active
    assert "the Small Test Housing pack (small) is the active pack now" in cli("pack", "use", "small", "--as", "owen")
    shutil.copytree(small / "small", small / "other")
    assert "other  Small Test Housing  not deployed; its folder only" in cli("pack", "list")
    cli("pack", "use", "other", "--as", "owen")
    assert _rows()[1]["other"] == 3 and _rows()[2] == "other"

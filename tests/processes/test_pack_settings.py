"""pack.toml and the letter templates are versioned like the diagrams: edited, checked, compared and
deployed on the web by the process owner with a change note; the running product reads the new
version at once; `pack deploy --as` and `pack export` cover them; and bad input (a syntax error, an
unknown setting, a role named but not defined, a loop of seniority, a letter reading a field no
path sets) is refused on the command line and on the web alike, naming the line and the setting,
with nothing deployed."""
import re
from html import unescape

import pytest

from tests.helpers import place_near_miss_marker
from tests.processes.conftest import text
from tests.processes.test_one_truth import audit_events
from workflows.platform import config

ESCALATES = '[roles.service_manager]\nname = "Service Manager"\nrank = 4\nescalates_to = "head_of_service"\n'
TOP = '[roles.head_of_housing_management]\nname = "Head of Housing Management"\nrank = 6\n'
LETTER = "letters/marker_placed.txt"


def _line(text_, fragment):
    return next(n for n, line in enumerate(text_.splitlines(), 1) if fragment in line)


# each: (what, the edit to pack.toml as (old, new) or None, the letter's new last line or None,
#        the words the refusal must hold, the fragment of the line it must name)
BAD = {
    "a syntax error": (('name = "Derby Homes"', 'name = "Derby Homes'), None,
                       "pack.toml: line {line}: ", 'name = "Derby Homes'),
    "an unknown [pack] setting": (("[pack]\n", "[pack]\nreview_from_due_dates = false\n"), None,
                                  "pack.toml: line {line}: [pack] review_from_due_dates is not a setting: did you "
                                  "mean review_from_due_date?", "review_from_due_dates"),
    "a role named but not defined": ((ESCALATES, ESCALATES.replace('"head_of_service"', '"head_of_servce"')), None,
                                     "pack.toml: line {line}: role 'service_manager' escalates_to unknown role "
                                     "'head_of_servce'", '"head_of_servce"'),
    "a loop of seniority": ((TOP, TOP + 'escalates_to = "service_manager"\n'), None,
                            "pack.toml: line {line}: role 'service_manager' escalates_to makes a loop of seniority "
                            "(service_manager -> head_of_service -> head_of_housing_management -> service_manager)",
                            'escalates_to = "head_of_service"'),
    "a letter reading a field no path sets": (None, "Your incident number: $incident_number",
                                              "template 'marker_placed' (", "$incident_number"),
}


def _edited(pack_dir, toml_edit, letter_line):
    """The pack's pack.toml and letter as edited (text, {file: text}), and the line to name."""
    toml = (pack_dir / "pack.toml").read_text()
    letter = (pack_dir / LETTER).read_text()
    if toml_edit:
        assert toml_edit[0] in toml
        toml = toml.replace(*toml_edit, 1)
    if letter_line:
        letter = letter + letter_line + "\n"
    return toml, letter


@pytest.mark.parametrize("what", list(BAD))
def test_bad_settings_in_the_pack_files_are_refused_by_check_and_deploy_naming_the_line(what, pack_dir, world, cli):
    toml_edit, letter_line, words, fragment = BAD[what]
    toml, letter = _edited(pack_dir, toml_edit, letter_line)
    (pack_dir / "pack.toml").write_text(toml)
    (pack_dir / LETTER).write_text(letter)
    expected = words.format(line=_line(letter if letter_line else toml, fragment))
    assert expected in cli.fails("pack", "check")
    refused = cli.fails("pack", "deploy", "--as", "paula", "--note", "try it")
    assert expected in refused
    if letter_line:  # the letter's own line is named too
        assert f"({LETTER} line {_line(letter, fragment)})" in refused
    versions = cli("pack", "versions")
    assert "pack.toml and letters v1 " in versions and "pack.toml and letters v2" not in versions  # nothing deployed
    assert "derby_review v2" not in versions


@pytest.mark.parametrize("what", list(BAD))
def test_bad_settings_edited_on_the_web_are_refused_naming_the_line_and_nothing_is_deployed(
        what, pack_dir, signed_in, cli):
    toml_edit, letter_line, words, fragment = BAD[what]
    toml, letter = _edited(pack_dir, toml_edit, letter_line)
    paula = signed_in("paula")
    page = paula.get("/processes/settings/edit")
    assert page.status_code == 200 and "Letter template letters/marker_placed.txt" in text(page)
    letters = {f"letter:{path.relative_to(pack_dir).as_posix()}": path.read_text()
               for path in (pack_dir / "letters").iterdir()}
    for action in ("check", "deploy"):
        refused = paula.post("/processes/settings/edit", {"pack_toml": toml, **letters, f"letter:{LETTER}": letter,
                                                         "change_note": "try it", "action": action})
        assert refused.status_code == 422
        expected = words.format(line=_line(letter if letter_line else toml, fragment))
        assert expected in text(refused) and "nothing was deployed" in text(refused)
        assert toml in unescape(refused.get_data(as_text=True))  # the edit is kept
    assert "v2" not in text(paula.get("/processes/settings"))
    assert audit_events("pack_settings_deployed") == [] or \
        [e["version"] for e in audit_events("pack_settings_deployed")] == [1]


def test_settings_deployed_on_the_web_run_at_once_and_pack_deploy_and_export_respect_them(
        pack_dir, signed_in, world, cli, tmp_path, monkeypatch):
    paula, cora = signed_in("paula"), signed_in("cora")
    toml = (pack_dir / "pack.toml").read_text()
    letter = (pack_dir / LETTER).read_text()
    edited = toml.replace("[pack]\n", "[pack]\nreview_from_due_date = false\n", 1)
    new_letter = letter + "Questions? Call the ASB team on 01332 888777.\n"
    letters = {f"letter:{path.relative_to(pack_dir).as_posix()}": path.read_text()
               for path in (pack_dir / "letters").iterdir()}
    form = {"pack_toml": edited, **letters, f"letter:{LETTER}": new_letter, "action": "deploy"}
    # only the process owner edits; compliance may look
    assert cora.get("/processes/settings/edit").status_code == 403
    assert cora.get("/processes/settings").status_code == 200
    # a change note is required
    no_note = paula.post("/processes/settings/edit", {**form, "change_note": "  "})
    assert no_note.status_code == 422 and "Write a change note" in text(no_note)
    checked = paula.post("/processes/settings/edit", {**form, "action": "check", "change_note": ""})
    assert checked.status_code == 200 and "No problems found" in text(checked)
    assert "added [pack] review_from_due_date = false" in text(checked)
    assert "+Questions? Call the ASB team on 01332 888777." in text(checked)
    deployed = paula.post("/processes/settings/edit", {**form, "change_note": "Reviews count from the day held; "
                                                                               "a phone number in the letter"})
    assert deployed.status_code == 302
    listing = text(paula.get("/processes/settings"))
    assert "v2 newest" in listing and "Reviews count from the day held; a phone number in the letter" in listing
    assert "not in the pack's files" in listing
    [event] = [e for e in audit_events("pack_settings_deployed") if e["version"] == 2]
    assert event["change_note"] == "Reviews count from the day held; a phone number in the letter"
    assert "added [pack] review_from_due_date = false" in event["changes"]

    # the running product (this same process, no restart) uses it: a new marker's letter has the number
    alert_id = place_near_miss_marker(world, "C2", "2026-01-10T09:00")
    assert "01332 888777" in world.alert(alert_id)["letters"][0]["body"]

    # pack deploy from the server's files would undo it: refused, nothing deployed, unless --force
    refused = cli.fails("pack", "deploy", "--as", "paula")
    assert "pack.toml and letters version 2 was deployed by you on " in refused
    assert "deploying pack.toml and the letters would undo it" in refused
    assert "removed [pack] review_from_due_date (was false)" in refused and "Nothing was deployed" in refused
    # export writes the deployed pack.toml and letter; deploying the export changes nothing
    exported = tmp_path / "mine" / "derby"
    cli("pack", "export", str(exported), "--as", "paula")
    assert (exported / "pack.toml").read_text() == edited and (exported / LETTER).read_text() == new_letter
    assert (exported / "demo.toml").exists()
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(exported.parent))
    assert "every process is already deployed" in cli("pack", "deploy", "--as", "paula")
    # an edit to the exported files deploys, with the note given
    (exported / "pack.toml").write_text(edited.replace("review_from_due_date = false", "review_from_due_date = true"))
    out = cli("pack", "deploy", "--as", "paula", "--note", "Back to counting from the due date")
    assert "deployed pack.toml and letters version 3" in out
    assert "changed [pack] review_from_due_date: false -> true" in out
    assert 'pack.toml and letters v3  deployed ' in cli("pack", "versions")
    assert "Back to counting from the due date" in text(paula.get("/processes/settings"))
    assert re.search(r"v3 newest", text(paula.get("/processes/settings")))
    assert config.pack_name() == "derby"


def test_a_diagram_deployed_on_the_web_needs_a_change_note_shown_in_the_versions_list(pack_dir, signed_in, cli):
    from tests.processes.conftest import edited, review_xml
    paula = signed_in("paula")
    three_months = edited(review_xml(), ">P6M<", ">P3M<").decode()
    refused = paula.post("/processes/derby_review/edit", {"xml": three_months, "action": "deploy", "change_note": ""})
    assert refused.status_code == 422 and "Write a change note" in text(refused)
    assert "derby_review v2" not in cli("pack", "versions")
    assert paula.post("/processes/derby_review/edit", {"xml": three_months, "action": "deploy",
                                                       "change_note": "Board decision: reviews every three months"}
                      ).status_code == 302
    assert "Board decision: reviews every three months" in text(paula.get("/processes"))
    assert 'derby_review v2 ' in cli("pack", "versions") and \
        '"Board decision: reviews every three months"' in cli("pack", "versions")
    [event] = [e for e in audit_events("process_deployed") if e["version"] == 2]
    assert event["change_note"] == "Board decision: reviews every three months"


def test_pack_deploy_over_settings_someone_else_deployed_on_the_web_needs_force_which_is_audited(
        pack_dir, signed_in, world, cli):
    paula = signed_in("paula")
    letters = {f"letter:{path.relative_to(pack_dir).as_posix()}": path.read_text()
               for path in (pack_dir / "letters").iterdir()}
    new_letter = (pack_dir / LETTER).read_text() + "Questions? Call the ASB team on 01332 888777.\n"
    assert paula.post("/processes/settings/edit", {"pack_toml": (pack_dir / "pack.toml").read_text(), **letters,
                                                   f"letter:{LETTER}": new_letter, "action": "deploy",
                                                   "change_note": "A phone number in the letter"}).status_code == 302

    # another process owner deploys the server's files, which do not hold paula's letter: refused
    cli("users", "add", "olive", "--name", "Olive", "--role", "process_owner")
    refused = cli.fails("pack", "deploy", "--as", "olive")
    assert "pack.toml and letters version 2 was deployed by paula on " in refused
    assert '("A phone number in the letter")' in refused and "deploying pack.toml and the letters would undo it" in refused
    assert "Nothing was deployed" in refused and "alertflow pack deploy --as olive --force (audited)" in refused
    assert "pack.toml and letters v3" not in cli("pack", "versions")
    assert audit_events("pack_settings_deploy_forced") == []

    # with --force the files replace it, and the audit log says whose version was replaced and how
    out = cli("pack", "deploy", "--as", "olive", "--force")
    assert "deployed pack.toml and letters version 3 (replacing version 2, deployed by paula)" in out, out
    [forced] = audit_events("pack_settings_deploy_forced")
    assert forced["pack"] == "derby" and forced["replaced_version"] == 2 and forced["replaced_deployed_by"] == "paula"
    assert any("01332 888777" in line for line in forced["changes"]), forced["changes"]
    from workflows.platform.db import transaction
    from workflows.platform.models import AuditEvent
    from sqlalchemy import select
    with transaction() as db:
        assert db.scalar(select(AuditEvent.actor).where(AuditEvent.action == "pack_settings_deploy_forced")) == "olive"
    assert "pack.toml and letters v3  deployed " in cli("pack", "versions")
    alert_id = place_near_miss_marker(world, "C2", "2026-01-10T09:00")  # new letters are the files' again
    assert "01332 888777" not in world.alert(alert_id)["letters"][0]["body"]

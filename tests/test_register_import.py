"""Importing the existing register (issue 19): `alertflow import markers FILE.csv`, through the
command line as the landlord's administrator would run it."""
import random
import re

import pytest

from tests.packs.world import copy_pack, world_on_copy
from tests.register_csv import HEADER, NOW, row, write

@pytest.fixture
def admin(derby, cli):
    """Derby's pack, with its administrator (who imports) and a compliance officer (who reads every story)."""
    cli("users", "add", "admin", "--name", "Admin", "--role", "admin")
    cli("users", "add", "dpo", "--name", "Dpo", "--role", "compliance_officer")
    return derby


def problems(output) -> set[tuple[int, str]]:
    return {(int(n), column) for n, column in re.findall(r"^row (\d+), column (\w+): ", output, re.M)}


def big_file(tmp_path):
    """2,000 rows with 20 deliberate errors; returns the file, its rows and the errors
    (the file's row number, as a spreadsheet shows it with the header as row 1 -> column, a phrase of the reason)."""
    changes = {  # data row (1-based) -> what is wrong with it
        11: {"category": "dangerous dog"}, 12: {"category": "  "}, 13: {"category": "RPO!"},
        101: {"date_placed": "last March"}, 102: {"date_placed": "31/02/2025"}, 103: {"date_placed": "2026-06-02"},
        201: {"next_review_date": "soon"}, 202: {"next_review_date": "2026-05-31"},
        203: {"next_review_date": "01/06/2026"}, 204: {"customer_reference": ""},
        301: {"postcode": ""}, 302: {"postcode": " "},
        401: {"notes": '=HYPERLINK("http://example.com")'}, 402: {"instruction": "+44 1332 000000 first"},
        403: {"decided_by": "@admin"},
        501: {"tenant_told": "no"}, 502: {"tenant_told": "maybe"},
    }
    errors = {
        11: ("category", "is not a category"), 12: ("category", "is empty"), 13: ("category", "is not a category"),
        101: ("date_placed", "is not a date"), 102: ("date_placed", "is not a date"),
        103: ("date_placed", "is in the future"),
        201: ("next_review_date", "is not a date"), 202: ("next_review_date", "is not after today"),
        203: ("next_review_date", "is not after today"), 204: ("customer_reference", "the customer's reference is empty"),
        301: ("postcode", "the address has no postcode"), 302: ("postcode", "the address has no postcode"),
        401: ("notes", "as a formula"), 402: ("instruction", "as a formula"), 403: ("decided_by", "as a formula"),
        501: ("not_told_reason", "no reason is given"), 502: ("tenant_told", "neither yes nor no"),
        601: ("date_placed", "already has a"), 602: ("date_placed", "already has a"),  # held before the import
        1999: ("date_placed", "the same marker as row 1001"),  # data row 1000 is the file's row 1001
    }
    rows = []
    for index in range(1, 2001):
        r = row(index + 3, **changes.get(index, {}))
        if index in (601, 602):
            r = row(index - 600)  # R1 and R2, imported before
        if index == 1999:
            r = row(1003)  # the same marker as data row 1000
        if index % 97 == 0:
            r["notes"] = "Two lines\nin one cell"  # a quoted newline: still one row
        rows.append(r)
    return write(tmp_path / "register.csv", rows), rows, {i + 1: e for i, e in errors.items()}


def test_a_dry_run_of_2000_rows_names_the_row_and_column_of_each_of_20_errors_and_good_rows_only_imports_the_rest(
        admin, cli, tmp_path):
    held = write(tmp_path / "held.csv", [row(1), row(2)])  # markers already on the register
    assert "imported 2 markers" in cli("import", "markers", held, "--as", "admin", now=NOW)
    big, rows, errors = big_file(tmp_path)

    out = cli("import", "markers", big, "--as", "admin", "--dry-run", now=NOW)
    assert problems(out) == {(n, column) for n, (column, _) in errors.items()}
    for n, (column, phrase) in errors.items():
        line = next(line for line in out.splitlines() if line.startswith(f"row {n}, column {column}: "))
        assert phrase in line, line
    assert "register.csv: 2,000 rows (columns separated by commas): 1,980 good, 20 with problems" in out
    assert "dry run: nothing imported" in out
    assert "no customer matches" in cli("check", "R503", "--as", "sam")

    refused = cli.fails("import", "markers", big, "--as", "admin", now=NOW)
    assert "20 of 2,000 rows have problems, so nothing was imported" in refused
    assert "checked 1,000 of 2,000 rows (50%)\nchecked 2,000 of 2,000 rows (100%)\n" in refused  # the progress line
    assert "no customer matches" in cli("check", "R503", "--as", "sam")

    out = cli("import", "markers", big, "--as", "admin", "--good-rows-only", now=NOW)
    assert "imported 1,980 markers from register.csv; 20 rows with problems left out" in out
    # data row 585 (the file's row 586) is R588: on the register at once, its review waiting for 1 July 2026
    assert "R588  Customer 588, 588 Station Road, Derby: MARKER: Visit in pairs" in cli("check", "R588", "--as", "sam")
    assert "R14 " not in cli("check", "Customer 14", "--as", "sam")  # data row 11, an unknown category: left out
    alert = alert_of(cli, "R588")
    assert alert["next_review_at"].startswith("2026-07-01")
    story = cli.json("alerts", "show", alert["alert"], "--as", "dpo")
    imported = [e["detail"] for e in story["events"] if e["action"] == "marker_imported"]
    assert [(d["file"], d["row"], d["key"]) for d in imported] == [("register.csv", 586, "R588/mental_health/2025-01-01")]

    assert review_steps(admin, alert["alert"], "2026-06-30T12:00") == 0
    assert review_steps(admin, alert["alert"], "2026-07-01T00:01") == 1

    again = cli("import", "markers", big, "--as", "admin", "--good-rows-only", now=NOW)
    assert "imported 0 markers" in again
    assert "0 good, 2,000 with problems" in again
    assert len(cli.json("alerts", "list", "--as", "dpo", "--status", "all")) == 1982


def alert_of(cli, customer_ref) -> dict:
    found = [a for a in cli.json("alerts", "list", "--as", "dpo") if a["customer"] == customer_ref]
    assert len(found) == 1, found
    return found[0]


def review_steps(world, alert_id, now) -> int:
    """The alert's open review steps, once the timers have fired at `now`."""
    world.cli("timers", "fire", now=now)
    story = world.cli.json("alerts", "show", alert_id, "--as", "dpo", now=now)
    review_cases = {c["case"] for c in story["cases"] if c["kind"] == "review"}
    return len([t for t in story["tasks"] if t["case"] in review_cases and t["status"] in ("ready", "claimed")])


def test_the_import_is_for_the_administrator_unless_the_pack_names_other_roles(admin, cli, tmp_path):
    path = write(tmp_path / "one.csv", [row(1)])
    assert "sam may not import the register" in cli.fails("import", "markers", path, "--as", "sam", now=NOW)
    assert "imported 1 marker " in cli("import", "markers", path, "--as", "admin", now=NOW)


def test_a_mapping_file_reads_another_systems_export_with_its_own_column_names_and_codes(admin, cli, tmp_path):
    theirs = {"Tenant Ref": "customer_reference", "Full Name": "customer_name", "Addr": "address", "Post Code": "postcode",
              "Alert Type": "category", "Alert Text": "instruction", "Start": "date_placed", "Review": "next_review_date"}
    mapping = tmp_path / "cx.toml"
    mapping.write_text("[columns]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in theirs.items())
                       + '[categories]\n"VIP" = "rpo"\n')
    ours = row(7, category="VIP")
    path = write(tmp_path / "cx.csv", [{k: ours[v] for k, v in theirs.items()} | {"Their Id": "X1"}],
                 header=[*theirs, "Their Id"])
    assert "lacks the required columns customer_reference" in cli.fails("import", "markers", path, "--as", "admin",
                                                                         now=NOW)
    assert "imported 1 marker " in cli("import", "markers", path, "--as", "admin", "--mapping", mapping, now=NOW)
    assert alert_of(cli, "R7")["category"] == "rpo"


def test_a_missing_required_column_is_refused_naming_it(admin, cli, tmp_path):
    path = write(tmp_path / "short.csv", [row(1)], header=[h for h in HEADER if h != "next_review_date"])
    err = cli.fails("import", "markers", path, "--as", "admin", "--dry-run", now=NOW)
    assert "short.csv lacks the required column next_review_date (the next review date)" in err


def test_a_file_not_in_utf8_is_refused_saying_how_to_save_it_and_nothing_is_imported(admin, cli, tmp_path):
    path = write(tmp_path / "latin.csv", [row(1), row(2, customer_name="Zoë Café")], encoding="cp1252")
    err = cli.fails("import", "markers", path, "--as", "admin", "--good-rows-only", now=NOW)
    assert "latin.csv is not UTF-8 text (line 3 has the byte 0xEB" in err and 'save it as "CSV UTF-8"' in err
    assert "no customer matches" in cli("check", "R1", "--as", "sam")


def test_a_byte_order_mark_semicolons_and_quoted_newlines_are_accepted(admin, cli, tmp_path):
    path = write(tmp_path / "excel.csv", [row(1, notes="First line\nsecond; line"), row(2)], delimiter=";",
                 encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    out = cli("import", "markers", path, "--as", "admin", now=NOW)
    assert "2 rows (columns separated by semicolons): 2 good, 0 with problems" in out
    assert "imported 2 markers" in out
    story = cli.json("alerts", "show", alert_of(cli, "R1")["alert"], "--as", "dpo")
    assert [n["text"] for n in story["notes"]] == ["First line\nsecond; line"]


def test_formula_looking_cells_are_refused_never_evaluated(admin, cli, tmp_path):
    rows = [row(1, notes="=1+1"), row(2, instruction="+visit in pairs"), row(3, customer_name="-Smith"),
            row(4, decided_by="@SUM(A1)"), row(5, notes="a - b = c")]
    out = cli("import", "markers", write(tmp_path / "f.csv", rows), "--as", "admin", "--good-rows-only", now=NOW)
    assert problems(out) == {(2, "notes"), (3, "instruction"), (4, "customer_name"), (5, "decided_by")}
    assert "'=1+1' starts with '=', so a spreadsheet would run it as a formula" in out
    assert "imported 1 marker " in out  # row 6: a dash inside the text is no formula


@pytest.mark.parametrize("kind", ["random bytes", "printable noise"])
def test_ten_megabytes_of_garbage_is_refused_with_a_clear_message(admin, cli, tmp_path, kind):
    rng = random.Random(19)
    if kind == "random bytes":
        content, expected = rng.randbytes(10 * 1024 * 1024), "garbage.csv contains NUL bytes, so it is not a CSV"
    else:
        content = "".join(rng.choice("abcdefghij ,;\n") for _ in range(10 * 1024 * 1024)).encode()
        expected = "garbage.csv lacks the required columns customer_reference"
    path = tmp_path / "garbage.csv"
    path.write_bytes(content)
    assert expected in cli.fails("import", "markers", path, "--as", "admin", "--good-rows-only", now=NOW)
    assert cli.json("alerts", "list", "--as", "dpo", "--status", "all") == []


def test_an_import_that_fails_part_way_leaves_the_register_as_it_was(cli, monkeypatch, tmp_path):
    """The review process of this copy of Derby's pack cannot time a review without a level, so the
    third row fails after two were put on the register: neither stays."""
    def edit(pack_toml):
        review = pack_toml.parent / "derby_review.bpmn"
        review.write_text(review.read_text().replace(">P6M<", ">'P' + level<"))
    world = world_on_copy(cli, monkeypatch, tmp_path, "derby", {"admin": ["admin"], "sam": ["staff"]}, edit)
    rows = [row(1, level="6M"), row(2, level="6M"), row(3), row(4, level="6M")]
    err = cli.fails("import", "markers", write(tmp_path / "three.csv", rows), "--as", "admin", now=NOW)
    assert "three.csv, row 4: its review could not be started" in err and "nothing was imported" in err
    assert "no customer matches" in cli("check", "R1", "--as", "sam")
    assert cli.json("alerts", "list", "--as", "dpo", "--status", "all") == []
    assert "audit log intact" in cli("audit", "verify")
    assert world


def test_pack_import_by_names_who_may_import_and_an_unknown_role_is_refused_by_pack_check(cli, monkeypatch, tmp_path):
    """On a copy of Karbon: its managers import (its administrator then may not), into its own
    review process, with its own codes; a role the pack lacks is refused when the pack is checked."""
    def edit(pack_toml):
        pack_toml.write_text(pack_toml.read_text().replace("[pack]\n", '[pack]\nimport_by = ["manager"]\n', 1))
    world_on_copy(cli, monkeypatch, tmp_path, "karbon", {"mo": ["manager"], "ada": ["admin"], "sam": ["staff"]}, edit)
    path = write(tmp_path / "karbon.csv", [row(1, category="violence", code="VIP", instruction="Visit in pairs", next_review_date="2026-07-02")])
    assert "ada may not import the register" in cli.fails("import", "markers", path, "--as", "ada", now=NOW)
    assert "imported 1 marker " in cli("import", "markers", path, "--as", "mo", now=NOW)
    assert "R1  Customer 1, 1 Station Road, Derby: MARKER (VIP: visit in pairs): Visit in pairs" in cli("check", "R1", "--as", "sam")
    story = cli.json("alerts", "show", alert_of(cli, "R1")["alert"], "--as", "dpo")
    assert [(c["kind"], c["next_timer_at"][:10]) for c in story["cases"]] == [("review", "2026-07-02")]

    other = tmp_path / "other"
    toml = copy_pack(other, "karbon")
    toml.write_text(toml.read_text().replace('import_by = ["manager"]', 'import_by = ["asb_team"]'))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(other))
    assert "[pack] import_by names unknown roles ['asb_team']" in cli.fails("pack", "check")

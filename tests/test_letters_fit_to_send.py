"""Letters fit to send, on the small test pack with a [letterhead]: a UK letter layout (the landlord's
return address, the tenant's address with postcode before "Dear", the date in words, references,
the named officer who signs, how and by when to appeal), names in every script drawn from fonts
that have their glyphs, and a tagged PDF (structure tree, language, title)."""
import io
import re

import pypdf
from pypdf.generic import ContentStream

from tests.packs.small_pack import APPEAL, LETTER, PACK_TOML, write_small_pack
from tests.packs.world import DPO, PackWorld

LETTERHEAD = """
[letterhead]
address = ["1 Test Quay", "Testport", "TE1 1ST"]
telephone = "0100 000 0000"
email = "letters@small.example"
appeal_how = "Write to the Appeals Team at the address above, saying why."
"""
TOML = PACK_TOML.replace('assessment_process = "small_assessment"\n',
                         'assessment_process = "small_assessment"\nappeal_process = "small_appeal"\n'
                         'appeal_within = "P14D"\n').replace(
    "[roles.process_owner]", '[roles.director]\nname = "Director"\nrank = 5\n[roles.process_owner]') + LETTERHEAD
# Vietnamese, Arabic, Polish, and one name in Cyrillic, Bengali, Gurmukhi (Punjabi) and Chinese together
NAMES = (("C1", "Nguyễn Thị Minh Khai"), ("C2", "محمد عبد الله"), ("C3", "Łukasz Wiśniewski"),
         ("C4", "Дмитрий রহিম ਗੁਰਪ੍ਰੀਤ 王小明"))
T0, DECIDED = "2026-03-02T09:00", "2026-03-03T10:00"
DECISION = {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only,by_appointment"}


def _world(cli, monkeypatch, tmp_path):
    folder = write_small_pack(tmp_path, toml=TOML, extra={"small_appeal.bpmn": APPEAL})
    # a paragraph the template wraps mid-sentence, as the packs' templates do
    (folder / "letters" / "told.txt").write_text(LETTER + "\nWe review every marker at least once a year, and we will\n"
                                                 "write to you again when we do, to tell you whether it stays.\n")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    return PackWorld(cli, {"sam": ["staff"], "mo": ["manager"]}, customers=NAMES)


def _letter_for(world, cli, ref) -> int:
    alert_id = world.report("concern", customer=ref, now=T0)
    world.complete("mo", world.open_task("mo", alert_id, T0)["task"], DECISION, now=DECIDED)
    return world.alert(alert_id, DPO)["letters"][-1]["id"]


def _glyph_ids(reader, page=0) -> list[tuple[str, int]]:
    """Every (font, glyph id) the page shows: WeasyPrint writes 2-byte glyph ids (Identity-H)."""
    page = reader.pages[page]
    shown, font = [], None
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"Tf":
            font = operands[0]
        elif op in (b"Tj", b"TJ"):
            for item in (operands[0] if op == b"TJ" else operands):
                if isinstance(item, (bytes, str)) or hasattr(item, "original_bytes"):
                    data = item.original_bytes if hasattr(item, "original_bytes") else bytes(item)
                    shown += [(font, int.from_bytes(data[i:i + 2], "big")) for i in range(0, len(data), 2)]
    return shown


def _tags(root) -> set:
    """The structure types of a PDF's tag tree (headings, paragraphs ...)."""
    tags = set()

    def walk(node):
        node = node.get_object()
        if "/S" in node:
            tags.add(node["/S"])
        kids = node.get("/K")
        for kid in (kids if isinstance(kids, list) else [kids] if kids is not None else []):
            if hasattr(kid, "get_object") and isinstance(kid.get_object(), dict):
                walk(kid)
    walk(root["/StructTreeRoot"])
    return tags


def test_a_letter_names_tenants_in_every_script_with_no_missing_glyph_in_a_tagged_pdf(cli, monkeypatch, tmp_path):
    world = _world(cli, monkeypatch, tmp_path)
    for ref, name in NAMES:
        letter_id = _letter_for(world, cli, ref)
        out = tmp_path / f"{ref}.pdf"
        cli("letter", "show", letter_id, "--as", DPO, "--pdf", str(out))
        reader = pypdf.PdfReader(io.BytesIO(out.read_bytes()))
        root = reader.trailer["/Root"]
        # tagged: a structure tree (headings, paragraphs in reading order), the language, the title
        assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
        assert root["/Lang"] == "en-GB" and reader.metadata.title == "The marker on your record"
        assert {"/H1", "/P"} <= _tags(root), _tags(root)
        # every glyph drawn is a real one (glyph 0 is .notdef, the empty box), from a Noto font
        fonts = {n: f.get_object()["/BaseFont"] for n, f in reader.pages[0]["/Resources"]["/Font"].items()}
        shown = _glyph_ids(reader)
        assert shown and not [f for f, gid in shown if gid == 0], f"missing glyphs in {name}'s letter"
        assert all("Noto" in str(base) for base in fonts.values()), fonts
        # each glyph maps back to the name's own characters (a glyph a font lacks maps to another
        # character, or none): the name as a screen reader reads it, Arabic in its logical order
        text = "".join(reader.pages[0].extract_text().split())
        assert "".join(name.split()) in text, (name, text)


def test_the_letter_reads_as_a_uk_letter_with_the_officer_and_how_and_by_when_to_appeal(cli, monkeypatch, tmp_path):
    world = _world(cli, monkeypatch, tmp_path)
    letter_id = _letter_for(world, cli, "C3")
    sent = cli("letter", "show", letter_id, "--as", DPO)
    lines = sent.splitlines()
    # letterhead and return address, then the tenant's name and full address with postcode, then "Dear"
    assert lines[:4] == ["Small Test Housing", "1 Test Quay", "Testport", "TE1 1ST"]
    to = lines.index("Łukasz Wiśniewski")
    assert lines[to + 1:to + 3] == ["3 High Street", "AB1 1AA"]
    assert to < lines.index("Date: 3 March 2026") < lines.index("Dear Łukasz Wiśniewski,")
    assert not re.search(r"\d{4}-\d\d-\d\d", sent)  # no ISO date anywhere
    assert "Our reference: A000001/1" in sent and "Your reference: C3" in sent
    # the template's line breaks are not kept as a second wrap: the paragraph wraps once, at the page's width
    assert ("We review every marker at least once a year, and we will write to you again when we do, to tell you "
            "whether it stays.") in lines, sent
    # ... while a labelled value keeps its own line
    assert "How we will contact you: Letters only and By appointment." in lines
    # how and by when to appeal, from appeal_within (the window the engine applies)
    appeal = lines.index("How to appeal")
    assert lines[appeal + 1] == ("You may appeal within 14 days of receiving this letter: if it reaches you on "
                                 "3 March 2026, by 17 March 2026.")
    assert lines[appeal + 2] == "Write to the Appeals Team at the address above, saying why."
    # the named officer who decided signs it, with role and contact details
    assert sent.split("Yours sincerely,")[1].split() [:3] == ["Mo", "Manager,", "Small"]
    assert "Telephone: 0100 000 0000" in sent.split("Yours sincerely,")[1]
    # once delivered, the date is the one the window runs to
    cli("letter", "deliver", letter_id, "--as", "mo", "--method", "hand delivered", "--at", "2026-03-05T11:00",
        now="2026-03-05T12:00")
    assert ("as it reached you on 5 March 2026, by 19 March 2026." in
            cli("letter", "show", letter_id, "--as", DPO, now="2026-03-06T09:00"))


def test_a_copy_printed_after_the_tenant_moves_is_the_letter_that_was_sent(cli, monkeypatch, tmp_path):
    world = _world(cli, monkeypatch, tmp_path)
    letter_id = _letter_for(world, cli, "C3")
    cli("tenancy", "start", "C3", "--as", "sam", "--address", "7 Park Lane, Testport", "--postcode", "te9 9zz",
        "--starts", "2026-04-01", now="2026-03-20T09:00")
    copy = cli("letter", "show", letter_id, "--as", DPO, now="2026-04-02T09:00").splitlines()
    to = copy.index("Łukasz Wiśniewski")
    assert copy[to + 1:to + 3] == ["3 High Street", "AB1 1AA"] and "7 Park Lane" not in copy
    # the next letter goes to where they live now
    later = world.report("concern", customer="C3", now="2026-04-02T09:00")
    world.complete("mo", world.open_task("mo", later, "2026-04-02T09:00")["task"], DECISION, now="2026-04-02T10:00")
    new = cli("letter", "show", world.alert(later, DPO)["letters"][-1]["id"], "--as", DPO,
              now="2026-04-02T11:00").splitlines()
    assert new[new.index("Łukasz Wiśniewski") + 1:][:3] == ["7 Park Lane", "Testport", "TE9 9ZZ"]


def test_without_the_fonts_a_letter_is_refused_naming_them_and_how_to_install_them(cli, monkeypatch, tmp_path):
    """A machine without the Noto fonts (here: fontconfig told of no font folder at all, in a real
    `alertflow` process) refuses to draw the letter rather than print a name as empty boxes."""
    import os
    import subprocess
    import sys
    world = _world(cli, monkeypatch, tmp_path)
    letter_id = _letter_for(world, cli, "C2")
    conf = tmp_path / "no-fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    f'<dir>{tmp_path / "none"}</dir><cachedir>{tmp_path / "cache"}</cachedir></fontconfig>')
    run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "alertflow"), "letter", "show", str(letter_id),
                          "--as", DPO, "--pdf", str(tmp_path / "x.pdf")],
                         env={**os.environ, "FONTCONFIG_FILE": str(conf)}, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert ("letters cannot be drawn: the fonts Noto Sans, Noto Sans Arabic, Noto Sans Bengali, Noto Sans Gurmukhi, "
            "Noto Sans CJK SC are not installed, so names in other scripts would print as empty boxes; install "
            "Debian's fonts-noto-core fonts-noto-cjk") in run.stderr + run.stdout
    assert not (tmp_path / "x.pdf").exists()


def test_the_dossier_and_subject_access_pdfs_name_tenants_in_every_script_in_a_tagged_pdf(cli, monkeypatch, tmp_path):
    """They are drawn as letters are (HTML into PDF/UA by WeasyPrint, drawing/pdf.py): a subject
    access export goes to the tenant, whatever script their name is written in."""
    world = _world(cli, monkeypatch, tmp_path)
    for ref, name in NAMES:
        alert_id = world.report("concern", customer=ref, now=T0)
        cli("export", "dossier", alert_id, "--as", DPO, "--output", str(tmp_path / "d.pdf"))
        cli("export", "subject-access", ref, "--as", DPO, "--format", "pdf", "--output", str(tmp_path / "s.pdf"))
        for out, title in (("d.pdf", f"Marker dossier A{alert_id:06d}"), ("s.pdf", f"Subject access: {ref}")):
            reader = pypdf.PdfReader(tmp_path / out)
            root = reader.trailer["/Root"]
            assert root["/MarkInfo"]["/Marked"] and root["/Lang"] == "en-GB" and reader.metadata.title == title
            assert {"/H1", "/H2", "/P"} <= _tags(root), (out, _tags(root))
            text = "".join("".join(page.extract_text() for page in reader.pages).split())
            assert "".join(name.split()) in text, (out, name)
            for number in range(len(reader.pages)):
                shown = _glyph_ids(reader, number)
                assert shown and not [f for f, gid in shown if gid == 0], f"missing glyphs in {name}'s {out}"
                fonts = reader.pages[number]["/Resources"]["/Font"].values()
                assert all("Noto" in str(f.get_object()["/BaseFont"]) for f in fonts), (out, number)


def test_the_pack_check_refuses_a_letterhead_it_cannot_print(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    for bad, said in (('phone = "0100"', "[letterhead] has unknown settings ['phone'] (known: name, address, "
                                         "telephone, email, website, appeal_how, language)"),
                      ('address = "1 Test Quay, Testport"', "[letterhead] address must be a list of lines"),
                      ('language = "English"', "[letterhead] language must be a language tag such as \"en-GB\"")):
        write_small_pack(tmp_path, toml=TOML.replace('telephone = "0100 000 0000"', bad)
                         if "address" not in bad else TOML.replace('address = ["1 Test Quay", "Testport", "TE1 1ST"]', bad))
        assert said in cli.fails("pack", "check"), bad
    write_small_pack(tmp_path, toml=TOML, extra={"small_appeal.bpmn": APPEAL})
    assert "no problems found" in cli("pack", "check")

"""In real Chromium: a manager previews the tenant's letter from the task page before completing
the step, then the issued letter's PDF, for tenants named in Vietnamese and in Arabic, has every
glyph from an installed font and is tagged (structure tree, language, title)."""
import io
import re

import pypdf

from tests.helpers import RISK, Cli, settings
from tests.test_letters_fit_to_send import _glyph_ids

NAMES = {"V1": "Nguyễn Thị Minh Khai", "R1": "محمد عبد الله"}
MARKER = {"offence_date": "2025-01-01", "offence_nature": "Burglary", "scheduled_offender": "no",
          "place_marker": "yes", "marker_text": "Visit in pairs", "control_measures": "visit_in_pairs",
          "inform_tenant": "yes", **RISK}


def _reported(cli, ref, name) -> tuple[int, int]:
    cli("customers", "add", ref, "--name", name, "--address", "5 Park Road, Derby", "--postcode", "DE1 2AB")
    out = cli("report", "--as", "sam", "--customer", ref, "--category", "rpo", "--description", "Known offender")
    alert_id = int(re.search(r"alert (\d+) reported", out).group(1))
    task = next(t for t in cli.json("inbox", "--as", "anna") if t["alert"] == alert_id)
    return alert_id, task["task"]


def test_a_letter_previewed_then_printed_for_vietnamese_and_arabic_names_has_every_glyph_and_its_tags(sign_in_page):
    cli = Cli()
    page = sign_in_page("anna")
    for ref, name in NAMES.items():
        alert_id, task = _reported(cli, ref, name)
        page.goto(f"/tasks/{task}")
        page.fill("#f-decision_reason", "A real risk to staff on visits")
        with page.context.expect_page() as opened:
            page.get_by_role("button", name="Preview the letter").click()
        preview = opened.value
        preview.wait_for_load_state()
        text = preview.locator("main").inner_text()
        assert f"Dear {name}," in text and "A real risk to staff on visits" in text and "DE1 2AB" in text
        assert text.index(name) < text.index(f"Dear {name},")  # the address block comes first
        assert "Nothing has been saved" in text
        preview.close()
        assert cli.json("alerts", "show", alert_id, "--as", "anna")["letters"] == []  # the preview saved nothing

        cli("task", "complete", task, "--as", "anna", *settings(MARKER))
        letter = cli.json("alerts", "show", alert_id, "--as", "anna")["letters"][0]
        response = page.request.get(f"/letters/{letter['id']}.pdf")
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        reader = pypdf.PdfReader(io.BytesIO(response.body()))
        root = reader.trailer["/Root"]
        assert "/StructTreeRoot" in root and root["/Lang"] == "en-GB"
        assert reader.metadata.title == letter["title"]
        assert not [gid for _, gid in _glyph_ids(reader) if gid == 0], f"a missing glyph in {name}'s letter"
        assert "".join(name.split()) in "".join(reader.pages[0].extract_text().split())

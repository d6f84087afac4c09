"""The inbox's Level column reads the alert's level by the label the pack's own form gives it (the
small pack's "Level 2", not its code L2), and a concern not yet decided shows none."""
import re

from tests.helpers import Browser
from tests.packs.small_pack import small_world
from tests.web.conftest import set_passwords

USERS = {"sam": ["staff"], "tess": ["staff"], "mo": ["manager"]}
T0, DECIDED = "2026-03-02T09:00", "2026-03-03T10:00"


def cells(html, task_id):
    """The row of one step, each cell's text by its column (data-label)."""
    row = re.search(rf'<tr[^>]*data-task="{task_id}".*?</tr>', html, re.S).group(0)
    return {label: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()
            for label, text in re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row, re.S)}


def test_the_inbox_shows_the_alerts_level_by_its_label_and_none_before_a_decision(cli, monkeypatch, tmp_path, app):
    world = small_world(cli, monkeypatch, tmp_path, USERS)
    set_passwords(["mo", "tess"])
    decided = world.report("concern", now=T0, description="Threatened the gas engineer")
    world.complete("mo", world.open_task("mo", decided, T0)["task"],
                   {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only"}, now=DECIDED)
    delivery = world.open_task("tess", decided, DECIDED)  # the letter waits for staff
    fresh = world.report("concern", now=DECIDED, description="Shouted at the caretaker")
    assessment = world.open_task("mo", fresh, DECIDED)

    tess = Browser(app, "tess").client.get("/inbox?whose=roles").get_data(as_text=True)
    assert cells(tess, delivery["task"])["Level"] == "Level 2"
    assert "L2" not in cells(tess, delivery["task"]).values()
    mo = Browser(app, "mo").client.get("/inbox?whose=roles&category=concern").get_data(as_text=True)
    assert cells(mo, assessment["task"])["Level"] == "—"  # no marker decided yet
    assert "<th scope=\"col\">Level</th>" in mo

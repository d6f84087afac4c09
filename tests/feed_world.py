"""The small test pack with a housing system and its feed, shared by the feed's tests (in-process
and on Celery workers)."""
from tests.packs.small_pack import write_small_pack
from tests.packs.world import PackWorld

USERS = {"sam": ["staff"], "mo": ["manager"], "cole": ["compliance_officer"], "ada": ["admin"]}
T0, DECIDED = "2026-03-02T09:00", "2026-03-03T10:00"
DECISION = {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only,by_appointment"}
REASON = "Threatened the caretaker with a hammer"  # what was reported: never in an event
FEED = """
[housing_system]
role = "staff"
due_within = "P2D"
name = "Orchard"

[feed]
name = "Orchard Cx"
categories = { concern = "ASB" }
levels = { L2 = "2", L1 = "1" }
failing_after = 2
"""


def feed_world(cli, monkeypatch, tmp_path) -> PackWorld:
    """The small pack with [housing_system] and [feed], deployed, with USERS."""
    with_feed(tmp_path)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    return PackWorld(cli, USERS)


def with_feed(tmp_path, letter=None):
    folder = write_small_pack(tmp_path)
    (folder / "pack.toml").write_text((folder / "pack.toml").read_text() + FEED)
    if letter is not None:
        (folder / "letters" / "told.txt").write_text(letter)
    return folder


def place(world, cli):
    out = cli("report", "--as", "sam", "--customer", "C1", "--category", "concern", "--description", REASON, now=T0)
    alert_id = int(out.split("alert ")[1].split()[0])
    world.complete("mo", world.open_task("mo", alert_id, T0)["task"], DECISION, now=DECIDED)
    return alert_id

"""Days as a housing office counts them, on the small pack written for the tests
(tests/packs/small_pack.py write_calendar_pack), through the command line with a moved clock:
working days on a nation's bank holidays and the pack's closure days ([calendar], P10WD), the
organisation's day in Europe/London, and late appeals sent to a discretion step."""
import json

import pytest

from tests.packs.small_pack import CALENDAR_ASSESSMENT, PACK_TOML, REVIEW, write_calendar_pack, write_small_pack
from tests.packs.world import DPO, PackWorld

USERS = {"sam": ["staff"], "tess": ["staff"], "mo": ["manager"], "dee": ["director"]}
DECISION = {"marker_text": "Visit in pairs", "level": "L2", "contact_rules": "letters_only"}
REPORTED, DECIDED, DELIVERED = "2026-12-14T09:00", "2026-12-15T10:00", "2026-12-18T12:00"


def world_for(cli, monkeypatch, tmp_path, **calendar) -> PackWorld:
    write_calendar_pack(tmp_path, **calendar)
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    return PackWorld(cli, USERS)


def board(cli, now) -> dict:
    """The overdue dashboard (JSON) as the data protection officer sees it."""
    return json.loads(cli("dashboard", "--as", DPO, now=now))


def decided_and_told(world, reported=REPORTED, decided=DECIDED, delivered=DELIVERED) -> int:
    """A marker placed and its letter delivered by hand (the appeal window runs from the delivery)."""
    alert_id = world.report("concern", now=reported)
    world.complete("mo", world.open_task("mo", alert_id, decided)["task"], DECISION, now=decided)
    world.complete("tess", world.open_task("tess", alert_id, delivered)["task"], {"delivered_at": delivered},
                   now=delivered)
    return alert_id


@pytest.mark.parametrize("nation, last_day, first_late_day", [
    # 21-24 December, 29-31 December, 4, 5 and 6 January: Christmas Day, Boxing Day (observed on
    # Monday 28th) and New Year's Day are not counted
    ("england-and-wales", "2027-01-06", "7 January 2027"),
    # Scotland also keeps 2 January, a Saturday in 2027, so observed on Monday 4 January
    ("scotland", "2027-01-07", "8 January 2027"),
])
def test_an_appeal_window_of_ten_working_days_skips_the_christmas_bank_holidays_of_the_packs_nation(
        cli, monkeypatch, tmp_path, nation, last_day, first_late_day):
    world = world_for(cli, monkeypatch, tmp_path, nation=nation)
    alert_id = decided_and_told(world)
    day_after = first_late_day.split()[0].zfill(2)
    refused = cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Late", now=f"2027-01-{day_after}T00:05")
    closed_on = f"{int(last_day[-2:])} January 2027"
    assert f"closed on {closed_on}:" in refused and "within 10 working days of receiving the letter" in refused
    assert "delivered on 18 December 2026" in refused
    # the last day is open all day, to its last minute in London
    assert "appeal" in cli("appeal", alert_id, "--as", "sam", "--grounds", "In time", now=f"{last_day}T23:55")
    assert [c["kind"] for c in world.alert(alert_id, DPO)["cases"]].count("appeal") == 1


def test_the_packs_own_closure_days_are_not_working_days(cli, monkeypatch, tmp_path):
    world = world_for(cli, monkeypatch, tmp_path, closed='["2026-12-29", "2026-12-30", "2026-12-31"]')
    alert_id = decided_and_told(world)
    # 21-24 December, then 4-9 January: the office is closed between Christmas and New Year
    assert "closed on 11 January 2027:" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Late",
                                                      now="2027-01-12T09:00")
    assert "appeal" in cli("appeal", alert_id, "--as", "sam", "--grounds", "In time", now="2027-01-11T17:00")


def test_a_timer_counts_working_days(cli, monkeypatch, tmp_path):
    world = world_for(cli, monkeypatch, tmp_path, review_after="P10WD")
    alert_id = world.report("concern", now="2026-12-17T09:00")
    world.complete("mo", world.open_task("mo", alert_id, "2026-12-18T10:00")["task"], DECISION, now="2026-12-18T10:00")
    assert world.alert(alert_id, DPO)["next_review_at"].startswith("2027-01-06T10:00")
    assert world.fire_timers("2027-01-06T09:59") == 0
    assert world.fire_timers("2027-01-06T10:01") == 1


def test_a_late_appeal_goes_to_the_discretion_step_of_the_role_the_pack_names(cli, monkeypatch, tmp_path):
    world = world_for(cli, monkeypatch, tmp_path, late_appeals=True)
    alert_id = decided_and_told(world)
    late = "2027-01-07T09:00"
    out = cli("appeal", alert_id, "--as", "sam", "--grounds", "I was in hospital over Christmas", now=late)
    assert "appeal" in out
    [lodged] = world.events(alert_id, DPO, "appeal_lodged")
    assert lodged["detail"]["late"] is True and lodged["detail"]["window_closed_on"] == "6 January 2027"
    step = world.open_task("dee", alert_id, late)
    assert step["title"] == "Decide whether to hear the late appeal"
    assert not world.tasks_for("mo", alert_id, late)  # the director decides, not the manager
    world.complete("dee", step["task"], {"hear_late_appeal": "true",
                                         "late_appeal_reasons": "In hospital: a good reason"}, now=late)
    [heard] = world.events(alert_id, DPO, "late_appeal_heard")
    assert heard["detail"]["reasons"] == "In hospital: a good reason" and heard["detail"]["decided_by"] == "dee"
    assert world.open_task("dee", alert_id, late)["title"] == "Hear the appeal"


def test_a_late_appeal_the_role_will_not_hear_ends_with_its_reasons(cli, monkeypatch, tmp_path):
    world = world_for(cli, monkeypatch, tmp_path, late_appeals=True)
    alert_id = decided_and_told(world)
    late = "2027-02-01T09:00"
    cli("appeal", alert_id, "--as", "sam", "--grounds", "Just disagree", now=late)
    step = world.open_task("dee", alert_id, late)
    world.complete("dee", step["task"], {"hear_late_appeal": "false", "late_appeal_reasons": "No reason for delay"},
                   now=late)
    [refused] = world.events(alert_id, DPO, "late_appeal_not_heard")
    assert refused["detail"]["reasons"] == "No reason for delay"
    assert not world.tasks_for("dee", alert_id, late)


def test_a_step_due_on_a_day_is_overdue_only_from_the_next_day(cli, monkeypatch, tmp_path):
    world = world_for(cli, monkeypatch, tmp_path)
    alert_id = world.report("concern", now="2026-12-24T10:00")  # due the next working day: Tuesday 29th
    [step] = world.tasks_for("mo", alert_id, "2026-12-29T23:59")
    assert step["due"] == "2026-12-29" and step["overdue"] is False
    assert board(cli, now="2026-12-29T23:59")["overdue"] == []
    [step] = world.tasks_for("mo", alert_id, "2026-12-30T00:00")
    assert step["overdue"] is True
    [row] = board(cli, now="2026-12-30T00:00")["overdue"]
    assert row["due"] == "2026-12-29" and row["days_overdue"] == 1


def test_a_review_due_on_a_day_is_listed_as_overdue_only_from_the_next_day(cli, monkeypatch, tmp_path):
    world = world_for(cli, monkeypatch, tmp_path)
    alert_id = decided_and_told(world)  # reviewed a year after the decision: 15 December 2027
    on_the_day = board(cli, now="2027-12-15T23:59")
    assert on_the_day["reviews_overdue"] == []
    assert [(r["alert"], r["due"], r["days"]) for r in on_the_day["reviews_due_soon"]] == [(alert_id, "2027-12-15", 0)]
    next_day = board(cli, now="2027-12-16T00:00")
    assert [(r["alert"], r["due"], r["days"]) for r in next_day["reviews_overdue"]] == [(alert_id, "2027-12-15", 1)]


def test_a_marker_placed_at_half_past_midnight_in_summer_time_is_placed_that_day(cli, monkeypatch, tmp_path):
    world = world_for(cli, monkeypatch, tmp_path)
    moment = "2027-06-01T00:30+01:00"  # 23:30 on 31 May by UTC
    alert_id = world.report("concern", now=moment)
    world.complete("mo", world.open_task("mo", alert_id, moment)["task"], DECISION, now=moment)
    assert world.alert(alert_id, DPO)["placed_on"] == "2027-06-01"
    shown = cli("alerts", "show", alert_id, "--as", DPO, now=moment)
    assert "placed 1 June 2027" in shown and "1 June 2027 at 00:30  mo" in shown
    assert cli.json("visit-list", "--as", "tess", "--json", now=moment)[0]["next_review"] == "2028-06-01"


def test_pack_check_refuses_working_days_in_a_pack_with_no_calendar(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    write_small_pack(tmp_path, assessment=CALENDAR_ASSESSMENT)
    error = cli.fails("pack", "check")
    assert "small_assessment.bpmn: 'Decide the marker' (decide): dueIn: 'P1WD' counts working days, but the pack has no business " \
           "calendar" in error and "[calendar] nation = \"england-and-wales\"" in error
    write_small_pack(tmp_path, review=REVIEW.replace(">P1Y<", ">P20WD<"))
    assert "small_review.bpmn: due_def: timeDuration: 'P20WD' counts working days" in cli.fails("pack", "check")
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path / "toml"))  # another folder: the pack is read anew
    write_small_pack(tmp_path / "toml", toml=PACK_TOML.replace("[registers]\n", '[registers]\nretain_closed_for = "P5WD"\n'))
    assert "[registers] retain_closed_for: 'P5WD' counts working days" in cli.fails("pack", "check")

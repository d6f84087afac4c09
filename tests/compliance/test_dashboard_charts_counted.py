"""The dashboard's two charts as the background round counts them (dashboard_summary): for each
reader exactly the steps and markers that reader may see, counted by hand from the rows (A3, a
scheduled offender on the secure list, and its appeal hearing are in Hugo's charts, not in Cora's
or Helen's); shown with the moment they were counted while that count is recent, counted at the
request once it is not; and the tiles and tables stay as of now: moving the clock past a step's
due day counts it overdue at once, and in the chart from the next round."""
import re

from sqlalchemy import select

from tests.compliance.conftest import NOW
from tests.compliance.test_dashboard_counts import board, counted_by_hand
from tests.helpers import MARKER
from workflows.definitions.pack import load_pack
from workflows.platform.db import transaction
from workflows.platform.models import Alert, AlertStatus

READERS = ("hugo", "cora", "helen")  # on the secure list; a compliance officer and a Head of Service, not on it
LATER = "2026-06-18T09:00"  # A7's appointing step (Head of Service) was due 06-17


def markers_by_hand(who):
    """The active markers `who` may see, by category and level, from the rows."""
    from tests.compliance.test_dashboard_counts import ROLES
    pack = load_pack("derby")
    with transaction() as db:
        rows = db.execute(select(Alert.category, Alert.level, Alert.restriction).where(Alert.status == AlertStatus.ACTIVE))
        counts = {}
        for category, level, restriction in rows:
            if pack.may_see(restriction, ROLES[who]):
                counts[(category, level or "no level")] = counts.get((category, level or "no level"), 0) + 1
    return counts


def charted(b):
    return {(m["category"], m["level"]): m["count"] for m in b["markers"]}


def test_the_round_counts_each_readers_charts_and_the_page_says_when(seeded, derby, cli, web):
    # before any round, the charts are counted at the request
    assert board(cli, "cora")["charts_counted_at"] is None
    cli("serve", "--once", now=NOW)
    for who in READERS:
        b = board(cli, who)
        assert b["charts_counted_at"].startswith("2026-06-15T"), who
        assert b["weeks"] == counted_by_hand(who)[0], who
        assert charted(b) == markers_by_hand(who), who
    hugo, helen = board(cli, "hugo"), board(cli, "helen")
    assert sum(charted(hugo).values()) == sum(charted(helen).values()) + 1  # A3, on the secure list alone
    assert hugo["weeks"][-1]["open"] == helen["weeks"][-1]["open"] + 1  # and its appeal hearing
    html = web("cora").get("/compliance").get_data(as_text=True)
    assert "The two charts were counted on 15 June 2026 at" in html and "by the\n  background work" in html

    # a step done after the round: the tiles and tables count it now, the charts at the next round
    before = board(cli, "helen")
    derby.complete("anna", derby.open_task("anna", seeded.a6, NOW)["task"],
                   {"offence_date": "2025-01-01", "offence_nature": "Theft, 2025", "scheduled_offender": "no", **MARKER},
                   now=NOW)
    after = board(cli, "helen")
    assert after["totals"]["overdue"] == before["totals"]["overdue"] - 1  # A6's assessment, due 06-11, done
    assert after["weeks"] == before["weeks"] and after["markers"] == before["markers"]
    assert after["weeks"] != counted_by_hand("helen")[0]
    cli("serve", "--once", now=NOW)
    assert board(cli, "helen")["weeks"] == counted_by_hand("helen")[0]
    assert charted(board(cli, "helen")) == markers_by_hand("helen")


def test_a_count_older_than_ten_minutes_is_not_shown(seeded, derby, cli, web):
    cli("serve", "--once", now=NOW)
    assert board(cli, "cora", now="2026-06-15T12:09")["charts_counted_at"] is not None
    late = board(cli, "cora", now="2026-06-15T12:11")
    assert late["charts_counted_at"] is None and late["weeks"] == counted_by_hand("cora", "2026-06-15T12:11")[0]
    # nor one from after the clock's moment (the clock was moved back)
    assert board(cli, "cora", now="2026-06-15T11:59")["charts_counted_at"] is None
    assert board(cli, "cora", now=NOW)["charts_counted_at"] is not None
    board(cli, "cora", now="2026-06-15T12:11")
    html = web("cora").get("/compliance").get_data(as_text=True)  # the clock at 12:11: counted at the request
    assert "The two charts were counted" not in html


def test_moving_the_clock_past_a_due_day_counts_the_step_overdue(seeded, derby, cli):
    head_of_service = load_pack("derby").roles["head_of_service"].name
    cli("serve", "--once", now=NOW)
    before = board(cli, "helen")
    assert seeded.a7 not in [r["alert"] for r in before["overdue"]]
    cli("serve", "--once", now=LATER)  # the round at the later moment (its timers, its charts)
    after = board(cli, "helen", now=LATER)
    weeks, by_role, by_person, total = counted_by_hand("helen", LATER)
    assert seeded.a7 in [r["alert"] for r in after["overdue"]]
    assert (after["by_role"], after["by_person"], after["totals"]["overdue"]) == (by_role, by_person, total)
    assert after["by_role"][head_of_service] == before["by_role"].get(head_of_service, 0) + 1  # A7's, and no other
    assert after["charts_counted_at"].startswith("2026-06-18T") and after["weeks"] == weeks
    assert after["weeks"][-1]["overdue"] == total
    for who in READERS:  # every reader's figures, restricted records and all, as counted by hand
        b = board(cli, who, now=LATER)
        weeks, by_role, _, total = counted_by_hand(who, LATER)
        assert (b["weeks"], b["by_role"], b["totals"]["overdue"]) == (weeks, by_role, total), who
        assert charted(b) == markers_by_hand(who), who


def test_late_appeals_are_counted_and_paged_as_each_reader_may_see(seeded, derby, web, monkeypatch):
    """Counted over every late appeal less those hidden from the reader, and paged by ids: A1's
    hearing (due 06-03) and A3's (06-08, on the secure list), a page of one at a time."""
    from workflows.compliance import oversight
    from workflows.platform import clock
    monkeypatch.setattr(oversight, "PAGE_SIZE", 1)
    clock.set_now(clock.parse_moment(NOW))

    def appeals(who, start):
        html = web(who).get(f"/compliance?appeals_late={start}").get_data(as_text=True)
        section = html[html.index('<section id="appeals">'):html.index('<section id="not-told">')]
        return [int(n) for n in re.findall(r">A(\d+)<", section)], re.search(r'class="pager">([^<·]*)', section).group(1).strip()
    assert appeals("hugo", 0) == ([seeded.a1], "1–1 of 2")
    assert appeals("hugo", 1) == ([seeded.a3], "2–2 of 2")
    assert appeals("cora", 0) == ([seeded.a1], "1–1 of 1")


def tally_by_hand():
    """(role, assignee or "", due day, or NO_DUE_DAY for none) -> the open steps, from the steps' rows."""
    from workflows.platform import clock
    from workflows.platform.models import OPEN_TASK, HumanTask
    from workflows.tasks.open_step_tally import NO_DUE_DAY
    with transaction() as db:
        counts = {}
        for role, who, due_at in db.execute(select(HumanTask.role, HumanTask.assignee, HumanTask.due_at)
                                            .where(HumanTask.status.in_(OPEN_TASK))):
            k = (role, who or "", NO_DUE_DAY if due_at is None else clock.local_day(due_at))
            counts[k] = counts.get(k, 0) + 1
    return counts


def tally_kept():
    from workflows.platform.models import OpenStepChange
    with transaction() as db:
        rows = list(db.execute(select(OpenStepChange.role, OpenStepChange.assignee, OpenStepChange.due_day,
                                      OpenStepChange.change)))
    sums = {}
    for role, who, day, n in rows:
        sums[(role, who, day)] = sums.get((role, who, day), 0) + n
    return {k: n for k, n in sums.items() if n}, len(rows)


def test_the_open_steps_tally_is_the_open_steps_whatever_changed_them(cli):
    """The story of tests/test_step_writes.py (reported, assessed, recorded on the housing system, a
    step claimed and given back, reviewed, a linked incident bringing the review forward, a form
    refused, a concern placing no marker), then a step claimed and kept, and a case
    cancelled: after each, the tally kept by the flushes is the open steps counted from their rows;
    the background round sums it to one row a key."""
    from tests.helpers import DerbyWorld
    from tests.test_step_writes import play_the_story
    from workflows.cases import engine
    from workflows.platform import clock
    from workflows.platform.models import Case, CaseStatus
    derby = DerbyWorld(cli)
    assert tally_kept() == ({}, 0)
    play_the_story(derby, cli)
    kept, rows = tally_kept()
    assert kept == tally_by_hand() and rows > len(kept)  # each step's changes, summing to the open steps
    alert = derby.report("near_miss", now="2026-10-02T09:00")
    task = derby.open_task("helen", alert, "2026-10-02T09:00")["task"]
    assert tally_kept()[0] == tally_by_hand() and any(who == "" for _, who, _ in tally_by_hand())
    cli("task", "claim", task, "--as", "harry", now="2026-10-02T10:00")
    assert tally_kept()[0] == tally_by_hand() and any(who == "harry" for _, who, _ in tally_by_hand())
    with transaction() as db:
        running = db.scalar(select(Case).where(Case.alert_id == alert, Case.status == CaseStatus.RUNNING))
        clock.set_now(clock.parse_moment("2026-10-02T11:00"))
        engine.cancel_case(db, case=running, actor="test", reason="for the tally")
    assert tally_kept()[0] == tally_by_hand()
    cli("serve", "--once", now="2026-10-02T12:00")
    kept, rows = tally_kept()
    assert kept == tally_by_hand() and rows == len(kept)


def test_the_celery_round_sums_the_tally_too(cli):
    """On Celery the dashboard's task does what the embedded round does: without it the tally would
    grow a row with every step changed."""
    import workers
    from tests.helpers import DerbyWorld
    derby = DerbyWorld(cli)
    for customer in ("C1", "C2"):
        alert = derby.report("near_miss", customer=customer, now="2026-10-02T09:00")
        cli("task", "claim", derby.open_task("helen", alert, "2026-10-02T09:00")["task"], "--as", "helen",
            now="2026-10-02T10:00")
    kept, rows = tally_kept()
    assert kept == tally_by_hand() and rows > len(kept)
    workers.dashboard_charts()  # the task's own body, as a worker runs it
    kept, rows = tally_kept()
    assert kept == tally_by_hand() and rows == len(kept)

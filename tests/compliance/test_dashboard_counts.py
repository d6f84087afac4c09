"""The dashboard's counts, now counted over every step less the steps on records hidden from the
reader, and its week-by-week chart, now bucketed per step, are the steps each reader may see,
counted one by one here from the rows themselves: for the Head of Housing Management (on the secure
list), the compliance officer and the Head of Service (both not, so A3, a scheduled offender, and
its overdue appeal hearing are in none of their counts). The world has steps
completed within the twelve weeks, open ones, and a cancelled one. The register counts a marker on
a property (it has no customer) as it lists it."""
import json
import re
from datetime import timedelta

from sqlalchemy import select

from tests.compliance.conftest import EXTRA_USERS, NOW
from tests.compliance.test_compliance_at_scale import many_markers
from tests.helpers import MARKER, USERS, record_on_red_triangle
from workflows.cases import engine
from workflows.definitions.pack import load_pack
from workflows.platform import clock, wording
from workflows.platform.db import transaction
from workflows.platform.models import OPEN_TASK, Alert, Case, Customer, HumanTask


ROLES = {**USERS, **{who: [role] for who, role in EXTRA_USERS.items()}}


def board(cli, who, now=NOW):
    return json.loads(cli("--now", now, "dashboard", "--as", who))


def counted_by_hand(who, now=NOW):
    """Each step, read with its case and alert, kept if `who` may see its alert; then counted."""
    pack, now = load_pack("derby"), clock.parse_moment(now)
    with transaction() as db:
        rows = [(t.status, clock.as_utc(t.created_at), t.completed_at and clock.as_utc(t.completed_at),
                 t.due_at and clock.as_utc(t.due_at), t.role, t.assignee, clock.as_utc(updated))
                for t, updated, restriction in db.execute(
                    select(HumanTask, Case.updated_at, Alert.restriction).join(Case, HumanTask.case_id == Case.id)
                    .join(Alert, Case.alert_id == Alert.id))
                if pack.may_see(restriction, ROLES[who])]
    weeks = []
    for i in range(12):
        end = now - timedelta(weeks=11 - i)
        open_then = [r for r in rows if r[1] <= end and (r[0] in OPEN_TASK or (r[2] or r[6]) > end)]
        late = [r for r in open_then if r[3] is not None and r[3] < clock.overdue_before(end)]
        weeks.append({"week_ending": clock.local_day(end).isoformat(), "open": len(open_then), "overdue": len(late)})
    overdue = [r for r in rows if r[0] in OPEN_TASK and r[3] is not None and r[3] < clock.overdue_before(now)]
    by_role, by_person = {}, {}
    for r in overdue:
        by_role[wording.labelled(pack.roles, r[4])] = by_role.get(wording.labelled(pack.roles, r[4]), 0) + 1
        by_person[r[5] or "(not yet claimed)"] = by_person.get(r[5] or "(not yet claimed)", 0) + 1
    return weeks, by_role, by_person, len(overdue)


def test_the_dashboard_counts_the_steps_each_reader_may_see_and_no_other(seeded, derby, cli):
    # a step completed within the twelve weeks (A6's assessment), and one cancelled with its case (A4's review)
    derby.complete("anna", derby.open_task("anna", seeded.a6, "2026-06-12T09:00")["task"],
                   {"offence_date": "2025-01-01", "offence_nature": "Theft, 2025", "scheduled_offender": "no", **MARKER},
                   now="2026-06-12T09:00")
    with transaction() as db:
        review = db.scalar(select(Case).where(Case.alert_id == seeded.a4, Case.kind == "review",
                                              Case.status == "running"))
        clock.set_now(clock.parse_moment("2026-06-01T09:00"))
        engine.cancel_case(db, case=review, actor="test", reason="for the count")
        review.updated_at = clock.now()
    with transaction() as db:
        statuses = set(db.scalars(select(HumanTask.status)))
    assert {"completed", "cancelled", "ready", "claimed"} <= statuses
    for who in ("hugo", "cora", "helen"):
        b = board(cli, who)
        weeks, by_role, by_person, total = counted_by_hand(who)
        assert b["weeks"] == weeks, who
        assert (b["by_role"], b["by_person"], b["totals"]["overdue"]) == (by_role, by_person, total), who
        assert sum(b["by_age"].values()) == total == len(b["overdue"]), who
    # the hand count is not empty: the chart has open and overdue steps, and the restricted appeal
    # hearing is counted for the secure list alone
    assert any(w["open"] and w["overdue"] for w in weeks)
    hugo, helen = board(cli, "hugo"), board(cli, "helen")
    assert hugo["totals"]["overdue"] == helen["totals"]["overdue"] + 1
    assert hugo["by_role"]["Head of Housing Management"] == 1 and "Head of Housing Management" not in helen["by_role"]
    assert seeded.a3 in [r["alert"] for r in hugo["overdue"]] and seeded.a3 not in [r["alert"] for r in helen["overdue"]]


def test_the_register_counts_a_marker_on_a_property_as_it_lists_it(seeded, derby, cli, web):
    with transaction() as db:
        home = db.scalar(select(Customer).where(Customer.reference == "C1")).home.reference
    out = cli("report", "--as", "sam", "--property", home, "--category", "hazard",
              "--description", "Needles found in the garden", now="2026-06-01T09:00")
    hazard = int(re.search(r"alert (\d+) reported", out).group(1))
    derby.complete("arthur", derby.open_task("arthur", hazard, "2026-06-01T09:00")["task"],
                   {"hazard_found": "Seen", "place_marker": "yes", "marker_text": "Needles: wear gloves",
                    "decision_reason": "Confirmed"}, now="2026-06-01T09:00")
    record_on_red_triangle(derby, hazard, now="2026-06-01T10:00")
    clock.set_now(clock.parse_moment(NOW))
    for who, markers in (("hugo", 5), ("cora", 4)):  # cora is not on the secure list: no A3
        html = web(who).get("/compliance/register").get_data(as_text=True)
        assert f"1–{markers} of {markers}" in html and html.count('<td data-label="Case">') == markers, who
        assert "Needles: wear gloves" in html
        csv = web(who).get("/compliance/register.csv").get_data(as_text=True).splitlines()[1:]
        assert len(csv) == markers and any(line.startswith(f"{hazard},") for line in csv)
    # with more than a page: the pages, one after another, are the register in its order (by name,
    # the hazard by its address), whatever kind of subject
    many_markers(derby)
    clock.set_now(clock.parse_moment(NOW))
    hugo = web("hugo")
    whole = [r["alert"] for r in json.loads(hugo.get("/compliance/register.json").get_data(as_text=True))]
    paged = []
    for start in (0, 50, 100):
        html = hugo.get(f"/compliance/register?start={start}").get_data(as_text=True)
        paged += [int(n) for n in re.findall(r'<td data-label="Case">(?:<a href="[^"]*">)?A(\d+)', html)]
    assert len(whole) == 125 and paged == whole and whole[0] == hazard

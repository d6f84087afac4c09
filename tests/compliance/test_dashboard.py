"""The overdue dashboard on the seeded world (conftest.py), through the web app and the CLI:
what is overdue, by role, person and age; reviews; late appeals; tenants not told; charts;
restricted cases absent for roles that may not see them."""
import json

from tests.compliance.conftest import NOW


def board(cli, who):
    return json.loads(cli("--now", NOW, "dashboard", "--as", who))


def test_overdue_steps_by_role_person_and_age_as_the_secure_list_sees_them(seeded, cli):
    b = board(cli, "hugo")  # Head of Housing Management: on the secure list, sees A3
    assert [(r["alert"], r["title"], r["days_overdue"]) for r in b["overdue"]] == [
        (seeded.a5, "Assess mental health or behavioural risk (§5.3)", 65),  # due 04-11, claimed by carl
        (seeded.a4, "Review the marker", 20),                                # review step due 05-26
        (seeded.a1, "Hear the appeal", 12),                                  # appeal hearing due 06-03
        (seeded.a3, "Hear the appeal", 7),                                   # restricted appeal due 06-08
        (seeded.a6, "Assess risk from offending (§5.1)", 4),                 # due 06-11
    ]  # A7's step is due 06-17: not overdue
    assert b["by_role"] == {"Head of Service": 2, "ASB Manager": 1, "Complex Needs Manager": 1,
                            "Head of Housing Management": 1}
    assert b["by_person"] == {"(not yet claimed)": 4, "carl": 1}
    assert b["by_age"] == {"up to 7 days": 2, "8 to 30 days": 2, "over 30 days": 1}


def test_the_compliance_officer_does_not_see_the_scheduled_offender(seeded, cli):
    b = board(cli, "cora")  # Derby's secure list does not include the compliance officer
    assert seeded.a3 not in [r["alert"] for r in b["overdue"] + b["appeals_late"] + b["reviews_due_soon"]]
    assert len(b["overdue"]) == 4 and b["by_age"] == {"up to 7 days": 1, "8 to 30 days": 2, "over 30 days": 1}
    assert b["reviews_due_soon"] == []
    assert sum(m["count"] for m in b["markers"]) == 3
    assert "C4" not in json.dumps(b)


def test_reviews_appeals_tenants_not_told_and_interim_alerts(seeded, cli):
    b = board(cli, "hugo")
    # A4's review fell due on 05-12 and is not done; A3's falls due on 07-06, within 30 days;
    # A1 and A2 are due on 09-04, outside the 30 days
    assert [(r["alert"], r["due"], r["days"]) for r in b["reviews_overdue"]] == [(seeded.a4, "2026-05-12", 34)]
    assert [(r["alert"], r["due"], r["days"]) for r in b["reviews_due_soon"]] == [(seeded.a3, "2026-07-06", 21)]
    assert [(r["alert"], r["due"], r["days_overdue"]) for r in b["appeals_late"]] == [
        (seeded.a1, "2026-06-03", 12), (seeded.a3, "2026-06-08", 7)]
    # P14D to tell: A1 and A4 have letters issued but their delivery never recorded (the deadline
    # runs until it is); A2 and A3 have a recorded reason for not telling
    assert [(r["alert"], r["deadline"], r["letter"]) for r in b["not_told"]] == [
        (seeded.a4, "2025-11-26", "letter issued 12 November 2025, not yet delivered"),
        (seeded.a1, "2026-03-18", "letter issued 4 March 2026, not yet delivered")]
    assert b["interim"] == []  # Derby's diagrams place no interim markers


def test_recording_the_letter_as_sent_takes_the_tenant_off_the_not_told_list(seeded, cli, web):
    hugo = web("hugo")
    story = json.loads(cli("alerts", "show", seeded.a1, "--as", "hugo", "--json"))
    assert story["letters"]
    from workflows.platform import db as database
    from workflows.platform.models import Letter
    from sqlalchemy import select
    with database.transaction() as db:
        letter_id = db.scalar(select(Letter.id).where(Letter.alert_id == seeded.a1))
    page = hugo.get(f"/alerts/{seeded.a1}").get_data(as_text=True)
    import re
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = hugo.post(f"/letters/{letter_id}/delivery", data={
        "csrf_token": token, "method": "first class post", "delivered_at": "2026-03-05T09:00"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    assert [r["alert"] for r in board(cli, "hugo")["not_told"]] == [seeded.a4]
    page = hugo.get("/compliance").get_data(as_text=True)
    assert "letter issued 12 November 2025, not yet delivered" in page
    assert "letter issued 4 March 2026" not in page
    assert "The pack gives 14 days from a decision to tell the tenant" in page  # words, not P14D


def test_charts_week_by_week_and_markers_by_category(seeded, cli):
    b = board(cli, "hugo")
    weeks = {w["week_ending"]: (w["open"], w["overdue"]) for w in b["weeks"]}
    assert len(weeks) == 12
    assert weeks["2026-03-30"] == (0, 0)   # every step of the placed markers was done by 03-04
    assert weeks["2026-04-13"] == (1, 1)   # A5's step, due 04-11
    assert weeks["2026-05-25"] == (4, 1)   # + A4's review (05-12), A1's and A3's appeals (05-20, 05-25)
    assert weeks["2026-06-15"] == (6, 5)   # + A6, A7; all but A7 overdue
    assert {(m["category"], m["count"]) for m in b["markers"]} == {("rpo", 2), ("partner_info", 1), ("near_miss", 1)}


def test_the_dashboard_page_links_each_row_to_its_case_and_draws_both_charts(seeded, web):
    from workflows.platform import clock
    clock.set_now(clock.parse_moment(NOW))
    page = web("cora").get("/compliance")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for alert_id in (seeded.a1, seeded.a4, seeded.a5, seeded.a6):
        assert f'href="/alerts/{alert_id}"' in html
    assert f'href="/alerts/{seeded.a3}"' not in html and "Susan Green" not in html
    assert html.count("<svg") == 2 and "Open and overdue steps, week by week" in html
    assert "Active markers by category and level" in html
    # words, not codes (issue 18): dates in words, the pack's time to tell in days
    assert "12 May 2026" in html and "2026-05-12" not in html
    assert "The pack gives 14 days from a decision" in html and "P14D" not in html
    assert web("sam").get("/compliance").status_code == 403   # staff are not compliance readers
    assert web("carl").get("/compliance").status_code == 403

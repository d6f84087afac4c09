"""The inbox and the register as work tools, through the web page and the command line: filters,
search, sorting, paging with its total worked out in SQL, relative due dates; need to know on every
row and every count; where each role lands; the team view's bulk claim and reassign."""
import re
from datetime import timedelta

from sqlalchemy import select

from tests.web.work_tools_world import copy_steps
from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.models import HumanTask, HumanTaskExclusion


def text(response):
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def task_ids(html):
    return [int(i) for i in re.findall(r'data-task="(\d+)"', html)]


def test_a_page_of_50_of_300_steps_with_the_right_total_sorted_filtered_and_searched(world, as_user, cli):
    alert = world.report("rpo", customer="C1")  # a real step for the ASB managers on a real case
    copied = copy_steps(alert, "asb_manager", 300)  # due from 10 days ago to 289 days ahead
    anna = as_user("anna")
    first = text(anna.get("/inbox?whose=roles"))
    assert "1–50 of 301" in first and "Page 1 of 7" in first
    with transaction() as db:  # soonest due first, the real step among the copies by its own due date
        expected = list(db.scalars(select(HumanTask.id).where(HumanTask.role == "asb_manager")
                                   .order_by(HumanTask.due_at, HumanTask.id)))
    assert task_ids(first) == expected[:50] and copied[0] == expected[0]
    assert task_ids(text(anna.get("/inbox?whose=roles&page=2"))) == expected[50:100]
    assert "10 days overdue" in first and "due today" in first and "due tomorrow" in first and "due in 2 days" in first
    assert "RPO or criminal offender" in first  # the category by its label, never its key
    last = text(anna.get("/inbox?whose=roles&page=7"))
    assert "301–301 of 301" in last and len(task_ids(last)) == 1
    # a page past the end shows the last one, not an empty page
    assert "301–301 of 301" in text(anna.get("/inbox?whose=roles&page=99"))
    assert "1–10 of 10" in text(anna.get("/inbox?whose=roles&overdue=1"))
    week = text(anna.get("/inbox?whose=roles&due_this_week=1"))
    assert set(task_ids(week)) <= set(copied[10:17]) and copied[10] in task_ids(week)  # today to Sunday
    oldest = task_ids(text(anna.get("/inbox?whose=roles&sort=age")))
    assert oldest[0] == copied[-1] and oldest[:3] == [copied[-1], copied[-2], copied[-3]]  # created longest ago
    assert "1–1 of 1" in text(anna.get("/inbox?whose=roles&q=Paging step 123"))
    assert "1–50 of 301" in text(anna.get("/inbox?whose=roles&customer=c1"))
    assert "none" in text(anna.get("/inbox?whose=roles&customer=C2"))
    assert "1–50 of 301" in text(anna.get("/inbox?whose=roles&category=rpo"))
    assert "Nothing waiting for your roles matches" in text(anna.get("/inbox?whose=roles&category=near_miss"))
    refused = anna.get("/inbox?category=burglary")
    assert refused.status_code == 422 and "there is no kind of concern &#39;burglary&#39;" in text(refused)
    assert anna.get("/inbox/counts.json").get_json() == {"mine": 0, "unclaimed": 301, "overdue": 10}


def test_the_command_line_inbox_has_the_same_filters_and_pages(world, cli):
    alert = world.report("rpo", customer="C1")
    copied = copy_steps(alert, "asb_manager", 120)
    out = cli("inbox", "--as", "anna", "--show", "roles", "--page", "3")
    assert "your roles, unclaimed: 101–121 of 121 (page 3 of 3)" in out
    assert out.count("\ntask ") + out.startswith("task ") == 21
    overdue = cli.json("inbox", "--as", "anna", "--overdue")
    assert [t["task"] for t in overdue] == copied[:10] and all(t["overdue"] for t in overdue)
    assert [t["task"] for t in cli.json("inbox", "--as", "anna", "--sort", "age", "--per-page", "2")] == copied[-1:-3:-1]
    assert "10 days overdue" in cli("inbox", "--as", "anna", "--search", "Paging step 000")
    assert "nothing waiting for you matches these filters" in cli("inbox", "--as", "anna", "--category", "near_miss")
    assert "there is no kind of concern 'burglary'" in cli.fails("inbox", "--as", "anna", "--category", "burglary")


def test_counts_and_rows_never_reveal_restricted_records(records, as_user):
    # 40 more steps for the Heads of Service on the scheduled offender's restricted record: Helen
    # (a Head of Service) may not know that record exists, Arthur's role may
    copy_steps(records["ralert"], "head_of_service", 40, title="Secret step")
    copy_steps(records["ralert"], "area_housing_manager", 3, title="Secret step")
    helen = as_user("helen")
    before = text(helen.get("/inbox?whose=roles"))
    shown = len(task_ids(before))
    assert "Secret step" not in before and shown < 40
    assert f'data-range="unclaimed">{f"1–{shown} of {shown}" if shown else "none"}<' in before
    assert 'data-range="unclaimed">none<' in text(helen.get("/inbox?whose=roles&q=Secret"))
    assert helen.get("/inbox/counts.json").get_json()["unclaimed"] == shown
    team = text(helen.get("/inbox/team"))  # its total from the task indexes, less what she may not see
    assert "Secret step" not in team and f"1–{len(task_ids(team))} of {len(task_ids(team))}" in team
    assert "Secret step" not in text(helen.get("/inbox/team?q=Secret")) and "none" in text(helen.get("/inbox/team?q=Secret"))
    register = text(helen.get("/alerts?status=all"))
    assert f'data-alert="{records["ralert"]}"' not in register
    arthur = as_user("arthur")
    assert "1–3 of 3" in text(arthur.get("/inbox?whose=roles&q=Secret"))
    assert arthur.get("/inbox/counts.json").get_json()["unclaimed"] >= 3


def shown_total(html, section="unclaimed"):
    """The total a section says ("1–50 of 312" -> 312, "none" -> 0)."""
    summary = re.search(rf'data-range="{section}">([^<]*)<', html).group(1)
    return 0 if summary == "none" else int(summary.rsplit(" of ", 1)[1])


def test_every_narrowed_total_is_the_rows_a_role_outside_a_restriction_sees(records, as_user):
    # Heads of Service's steps, overdue and not, on the scheduled offender's restricted record (C2,
    # Mary Jones) and on an ordinary one (C3, Peter Brown): Helen may not know the first exists. The
    # totals of the filters on the step alone come from the task indexes less the hidden steps, those
    # on the alert from a join: each must be the rows she is shown, none of them secret.
    copy_steps(records["ralert"], "head_of_service", 12, title="Secret step", first_due_in_days=-4)
    copy_steps(records["alert"], "head_of_service", 12, title="Open step", first_due_in_days=-4)
    copy_steps(records["ralert"], "head_of_service", 3, title="Secret step", assignee="helen")
    copy_steps(records["alert"], "head_of_service", 2, title="Open step", assignee="helen")
    copy_steps(records["ralert"], "asb_manager", 5, title="Secret step", first_due_in_days=-4)
    copy_steps(records["alert"], "asb_manager", 5, title="Open step", first_due_in_days=-4)
    helen = as_user("helen")
    expected_open = {"whose=roles&overdue=1": 4, "whose=roles&due_this_week=1": None, "whose=roles&category=near_miss": 12,
                     "whose=roles&category=rpo": 0, "whose=roles&q=step": 12, "whose=roles&q=Brown": 12,
                     "whose=roles&q=Jones": 0, "whose=roles&customer=c3": 12, "whose=roles&customer=C2": 0}
    for args, open_steps in expected_open.items():
        page = text(helen.get(f"/inbox?{args}&per_page=500"))
        assert "Secret step" not in page, args
        assert shown_total(page) == len(task_ids(page)), args
        if open_steps is not None:
            assert page.count(">Open step ") == open_steps, args
    both = text(helen.get("/inbox?overdue=1&per_page=500"))  # both sections counted in one statement
    assert "Secret step" not in both
    assert shown_total(both, "mine") + shown_total(both, "unclaimed") == len(task_ids(both))
    mine = text(helen.get("/inbox?whose=mine&q=step&per_page=500"))
    assert shown_total(mine, "mine") == len(task_ids(mine)) == 2 and "Secret step" not in mine
    for args in ("overdue=1", "category=near_miss", "q=step", ""):  # the team view: the roles below hers
        team = text(helen.get(f"/inbox/team?{args}&per_page=500"))
        total = int(re.search(r"(?:\d+–\d+ of (\d+)|(none))", team).group(1) or 0)
        assert "Secret step" not in team and total == len(task_ids(team)), args
        assert team.count(">Open step ") == (4 if args == "overdue=1" else 5), args
    overdue = helen.get("/inbox/counts.json").get_json()  # the header's counts, in one statement
    assert overdue["mine"] == len(task_ids(text(helen.get("/inbox?whose=mine&per_page=500"))))
    assert overdue["unclaimed"] == len(task_ids(text(helen.get("/inbox?whose=roles&per_page=500"))))


def test_the_register_search_finds_a_customer_their_reference_or_the_marker_words_need_to_know_applied(
        records, as_user):
    hugo = as_user("hugo")  # reads every story and may see scheduled offenders
    for words, expected in (("Peter Brown", {records["alert"]}), ("c2", {records["ralert"]}),
                            ("in pairs", {records["alert"]}), ("relevant manager", {records["ralert"]}),
                            ("Nobody", set())):
        page = text(hugo.get(f"/alerts?status=all&q={words}"))
        found = {int(a) for a in re.findall(r'data-alert="(\d+)"', page)}
        assert found == expected, words
        assert (f"1–{len(found)} of {len(found)}" if found else "none") in page, words
    helen = text(as_user("helen").get("/alerts?status=all&q=manager"))  # may not know the restricted record
    assert f'data-alert="{records["ralert"]}"' not in helen
    shown = re.findall(r'data-alert="(\d+)"', helen)
    assert (f"1–{len(shown)} of {len(shown)}" if shown else "none") in helen


def test_the_register_is_searched_filtered_sorted_and_paged_with_overdue_reviews_flagged(records, as_user, cli):
    hugo = as_user("hugo")  # reads every story ([registers] case_readers) and may see scheduled offenders
    everything = text(hugo.get("/alerts?status=all"))
    total = int(re.search(r"1–\d+ of (\d+)", everything).group(1))
    assert total == 3 and f'data-alert="{records["ralert"]}"' in everything
    active = text(hugo.get("/alerts"))
    assert "1–2 of 2" in active
    assert "1–1 of 1" in text(hugo.get("/alerts?status=all&category=near_miss"))
    assert f'data-alert="{records["alert"]}"' in text(hugo.get("/alerts?q=C3"))
    assert "none" in text(hugo.get("/alerts?review_before=2000-01-01"))
    newest = re.findall(r'data-alert="(\d+)"', text(hugo.get("/alerts?status=all&sort=newest")))
    assert newest == sorted(newest, key=int, reverse=True)
    assert "Review overdue" not in active
    clock.set_now(clock.now() + timedelta(days=400))  # past every marker's review day
    try:
        assert text(hugo.get("/alerts")).count("Review overdue") == 2
    finally:
        clock.set_now(None)
    refused = hugo.get("/alerts?review_before=soon")
    assert refused.status_code == 422 and "give the review date as a date" in text(refused)


def test_check_before_visiting_says_how_many_more_match(world, as_user, cli):
    from workflows.accounts import people
    with transaction() as db:
        for i in range(37):
            people.add_customer(db, reference=f"MANY{i:02}", name=f"Manyfold Tenant {i:02}", address="1 Long Row", postcode="DE1 1AA")
    sam = as_user("sam")
    page = text(sam.get("/check?q=Manyfold"))
    assert page.count('class="check ') == 20 and "Showing 20 of 37, narrow your search" in page
    assert "Showing" not in text(sam.get("/check?q=Manyfold Tenant 1"))  # 10 matches: all shown
    assert "showing 20 of 37, narrow your search" in cli("check", "Manyfold", "--as", "sam")


def test_each_role_lands_where_its_work_is(world, as_user, app):
    from tests.helpers import Browser
    assert Browser(app).sign_in("sam").headers["Location"] == "/check"  # staff: lands_on = "check"
    assert Browser(app).sign_in("ada").headers["Location"] == "/admin/users"  # the administrator
    assert Browser(app).sign_in("anna").headers["Location"] == "/inbox"  # no lands_on: the inbox
    from tests.processes.conftest import add_staff
    add_staff()  # paula the process owner, cora the compliance officer
    assert Browser(app).sign_in("cora").headers["Location"] == "/compliance"  # the dashboard
    assert Browser(app).sign_in("paula").headers["Location"] == "/processes"
    world.report("rpo", customer="C1", who="anna")
    signed_in = Browser(app)
    signed_in.sign_in("anna")
    assert signed_in.get("/").headers["Location"] == "/inbox"


def test_a_manager_reassigns_and_claims_in_bulk_each_step_checked_on_its_own(world, as_user):
    alert = world.report("rpo", customer="C1")
    steps = copy_steps(alert, "asb_manager", 4)
    with transaction() as db:  # alex may not be given the second one (say, the incident happened to him)
        db.add(HumanTaskExclusion(task_id=steps[1], username="alex", reason="the incident happened to them"))
    helen = as_user("helen")  # Head of Service: manages the ASB managers
    assert "Team view" in text(helen.get("/inbox"))
    done = helen.post("/inbox/team/bulk", {"action": "reassign", "assignee": "alex", "task": steps[:3]},
                      token_from="/inbox/team", follow_redirects=True)
    page = text(done)
    assert "2 steps reassigned to alex" in page
    assert f"Not done, task {steps[1]}: " in page
    with transaction() as db:
        assignees = dict(db.execute(select(HumanTask.id, HumanTask.assignee).where(HumanTask.id.in_(steps))).all())
    assert assignees == {steps[0]: "alex", steps[1]: None, steps[2]: "alex", steps[3]: None}
    # Helen does not hold the ASB manager role: each claim is refused, by name, and nothing changes
    claimed = text(helen.post("/inbox/team/bulk", {"action": "claim", "task": [steps[3]]},
                              token_from="/inbox/team", follow_redirects=True))
    assert f"Not done, task {steps[3]}: " in claimed
    nothing = helen.post("/inbox/team/bulk", {"action": "reassign", "assignee": "alex"}, token_from="/inbox/team")
    assert nothing.status_code == 422 and "tick the box beside each one" in text(nothing)
    assert as_user("sam").get("/inbox/team").status_code == 403  # staff manage nobody


def test_a_manager_who_also_holds_the_teams_role_takes_its_steps_in_bulk(world, as_user, cli):
    # a Head of Service who also works as an ASB manager (a small team): bulk claim takes the team's
    # steps as her own, except one she is kept off, which is named and left for the others
    alert = world.report("rpo", customer="C1")
    steps = copy_steps(alert, "asb_manager", 3)
    with transaction() as db:
        db.add(HumanTaskExclusion(task_id=steps[2], username="helen", reason="the incident happened to them"))
    cli("users", "roles", "helen", "--add", "asb_manager")
    helen = as_user("helen")
    page = text(helen.post("/inbox/team/bulk", {"action": "claim", "task": steps},
                           token_from="/inbox/team", follow_redirects=True))
    assert "2 steps claimed by you" in page and f"Not done, task {steps[2]}: " in page
    with transaction() as db:
        rows = dict(db.execute(select(HumanTask.id, HumanTask.assignee).where(HumanTask.id.in_(steps))).all())
    assert rows == {steps[0]: "helen", steps[1]: "helen", steps[2]: None}
    mine = text(helen.get("/inbox?whose=mine"))
    assert set(task_ids(mine)) >= {steps[0], steps[1]} and steps[2] not in task_ids(mine)


def test_saved_filters_are_kept_for_me_or_shared_with_my_role(world, as_user):
    alert = world.report("rpo", customer="C1")
    copy_steps(alert, "asb_manager", 12)
    anna, alex, helen = as_user("anna"), as_user("alex"), as_user("helen")
    query = "/inbox?whose=roles&overdue=1&sort=age"
    refused = anna.post(f"/inbox/filters?{query.split('?')[1]}", {"name": " "}, token_from=query)
    assert refused.status_code == 422 and "Give the saved filter a name" in text(refused)
    shared = anna.post(f"/inbox/filters?{query.split('?')[1]}", {"name": "Late ones, oldest first",
                                                                 "role": "asb_manager"}, token_from=query)
    assert shared.status_code == 302 and "overdue=1" in shared.headers["Location"]
    anna.post("/inbox/filters?q=Paging", {"name": "Mine only"}, token_from="/inbox?q=Paging")
    assert "shared with the ASB Manager role" in text(anna.get("/inbox"))
    seen_by_alex = text(alex.get("/inbox"))  # another ASB manager: the shared one, not Anna's own
    assert "Late ones, oldest first" in seen_by_alex and "Mine only" not in seen_by_alex
    link = re.search(r'<a href="(/inbox\?[^"]+)">Late ones, oldest first', seen_by_alex).group(1).replace("&amp;", "&")
    assert "1–10 of 10" in text(alex.get(link))
    assert "Late ones" not in text(helen.get("/inbox"))  # not her role
    not_hers = anna.post("/inbox/filters", {"name": "Theirs", "role": "head_of_service"}, token_from=query,
                         query_string={"overdue": "1"})
    assert not_hers.status_code == 422 and "one of your own roles" in text(not_hers)
    from workflows.platform.models import SavedFilter
    with transaction() as db:
        shared_id = db.scalar(select(SavedFilter.id).where(SavedFilter.name == "Late ones, oldest first"))
    assert alex.post(f"/inbox/filters/{shared_id}/delete").status_code == 404  # only who saved it deletes it
    assert anna.post(f"/inbox/filters/{shared_id}/delete").status_code == 302
    assert "Late ones" not in text(alex.get("/inbox"))


def _expected(db, pack, actor, *, roles, ready_only, username=None, sort="due"):
    """The open steps of these roles a person is shown, worked out in Python from every open step: on
    a record they may know exists, not excluding them (the inbox's own sections), in the order shown."""
    from workflows.platform.models import Alert, Case, TaskStatus
    rows = db.execute(select(HumanTask.id, HumanTask.due_at, HumanTask.created_at, HumanTask.status,
                             Alert.restriction).join(Case, HumanTask.case_id == Case.id)
                      .join(Alert, Case.alert_id == Alert.id).where(HumanTask.role.in_(roles))).all()
    excluded = set(db.scalars(select(HumanTaskExclusion.task_id).where(HumanTaskExclusion.username == username)))
    shown = [r for r in rows if r.status in (TaskStatus.READY, *([] if ready_only else [TaskStatus.CLAIMED]))
             and pack.may_see(r.restriction, actor.roles) and (not ready_only or r.id not in excluded)]
    key = (lambda r: (r.due_at, r.id)) if sort == "due" else (lambda r: (r.created_at, r.id))
    return [r.id for r in sorted(shown, key=key)]


def test_a_deep_page_has_the_right_steps_in_the_right_order_and_the_right_total(records, as_user):
    # 1,100 steps for the Heads of Service interleaved, due day by due day, with 150 on the scheduled
    # offender's record Helen may not know exists; 25 of the ordinary ones exclude her. The page's
    # step ids come first from the task indexes, its rows after (a deferred join): page 20 must be
    # the 951st to 1,000th step she is shown, in order, with the total of all of them.
    from workflows.cases.assignment import actor_of
    from workflows.definitions.pack import load_pack
    visible = copy_steps(records["alert"], "head_of_service", 1100, title="Open step")
    copy_steps(records["ralert"], "head_of_service", 150, title="Secret step")
    with transaction() as db:
        db.add_all(HumanTaskExclusion(task_id=t, username="helen", reason="staff_involved") for t in visible[::44])
    # and for the team view (the roles below hers): 1,050 ASB managers' steps, 100 of them secret, some claimed
    copy_steps(records["alert"], "asb_manager", 1000, title="Team step", first_due_in_days=-400)
    copy_steps(records["alert"], "asb_manager", 50, title="Claimed step", assignee="anna", first_due_in_days=-380)
    copy_steps(records["ralert"], "asb_manager", 100, title="Secret step", first_due_in_days=-390)
    pack = load_pack("derby")
    with transaction() as db:
        helen_actor = actor_of(db, pack, "helen", frozenset({"head_of_service"}))
        mine = _expected(db, pack, helen_actor, roles=["head_of_service"], ready_only=True, username="helen")
        by_age = _expected(db, pack, helen_actor, roles=["head_of_service"], ready_only=True, username="helen",
                           sort="age")
        from workflows.permissions import managed_roles
        team = _expected(db, pack, helen_actor, roles=sorted(managed_roles(pack, helen_actor)), ready_only=False)
    assert len(mine) >= 1075 and len(team) >= 1050
    helen = as_user("helen")
    page = text(helen.get("/inbox?whose=roles&page=20"))
    assert f'data-range="unclaimed">951–1,000 of {len(mine):,}<' in page
    assert task_ids(page) == mine[950:1000] and "Secret step" not in page
    last = text(helen.get("/inbox?whose=roles&page=22"))
    assert f"1,051–{len(mine):,} of {len(mine):,}" in last and task_ids(last) == mine[1050:]
    aged = text(helen.get("/inbox?whose=roles&sort=age&page=20"))
    assert task_ids(aged) == by_age[950:1000]
    narrowed = text(helen.get("/inbox?whose=roles&q=Open+step&page=20"))  # a filter on the alert's side too
    searched = [t for t in mine if t in set(visible)]
    assert f"951–1,000 of {len(searched):,}" in narrowed and task_ids(narrowed) == searched[950:1000]
    past = text(helen.get("/inbox?whose=roles&q=Open+step&page=99"))  # past the end: the last page
    assert f"1,051–{len(searched):,} of {len(searched):,}" in past and task_ids(past) == searched[1050:]
    deep = text(helen.get("/inbox/team?page=20"))
    assert f"951–1,000 of {len(team):,}" in deep
    assert task_ids(deep) == team[950:1000] and "Secret step" not in deep

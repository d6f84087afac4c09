"""Impact before deploy for pack.toml: `alertflow pack impact pack.toml` and Check on
/processes/settings/edit list, for the cases running now, what a new settings version would change
(a late review's next date, a step's reminder, a step waiting for a role the version removes, a
marker of a category it removes), in words, nothing deployed; and what the table says is what the
engine then does."""
from tests.helpers import KEEP, MARKER, place_near_miss_marker
from tests.processes.conftest import text
from workflows.platform import clock

RED_TRIANGLE = '[roles.red_triangle_team]\nname = "Red Triangle Team"\nrank = 2\n'


def _write(pack_dir, old, new):
    toml = (pack_dir / "pack.toml").read_text()
    assert old in toml, old
    (pack_dir / "pack.toml").write_text(toml.replace(old, new, 1))
    return str(pack_dir / "pack.toml")


def _late_review(derby, customer="C1"):
    """A near-miss marker placed 10 January 2026, its review due 10 July 2026 opened then, not yet
    done: (the alert, its open step with the case it is a step of)."""
    alert = place_near_miss_marker(derby, customer, "2026-01-10T09:00")
    derby.fire_timers("2026-07-10T09:01")
    step = derby.open_task("helen", alert, "2026-07-10T09:01")
    return alert, {**step, "case": _case_of(derby, alert, step["task"])}


def _case_of(derby, alert, task_id):
    return next(t["case"] for t in derby.alert(alert)["tasks"] if t["task"] == task_id)


def test_pack_impact_of_a_review_setting_lists_a_late_reviews_next_date_and_deploying_does_what_it_said(
        pack_dir, world, cli):
    alert, review = _late_review(world)
    waiting = place_near_miss_marker(world, "C2", "2026-03-01T09:00")  # its review, due 1 September, keeps its date
    file = _write(pack_dir, "[pack]\n", "[pack]\nreview_from_due_date = false\n")

    out = cli("pack", "impact", file, "--as", "paula", now="2026-08-01T09:00")
    assert "pack.toml and letters: version 2 would change 1 thing; 1 running case or marker something changes for" in out
    assert "  added [pack] review_from_due_date = false" in out
    assert f"case {review['case']} of alert A{alert:06d} (derby_review version 1): can go on: its next review, once " \
           f"this late review (due 10 July 2026) is done, moves from 10 January 2027 to 1 February 2027 (were it done " \
           f"today, 1 August 2026)" in out, out
    assert f"A{waiting:06d}" not in out  # nothing changes for a review not yet due
    # nothing was deployed
    assert "pack.toml and letters v2" not in cli("pack", "versions")
    assert "helen is not a process owner" in cli.fails("pack", "impact", file, "--as", "helen")

    # deployed, the review done that day: the next one falls due on the day the table said
    assert "deployed pack.toml and letters version 2" in cli("pack", "deploy", "--as", "paula", "--note", "From the day held",
                                                             now="2026-08-01T09:00")
    world.complete("helen", review["task"], KEEP, now="2026-08-01T09:00")
    assert world.alert(alert)["next_review_at"].startswith("2027-02-01")
    assert world.alert(waiting)["next_review_at"].startswith("2026-09-01")  # a review already scheduled keeps its date


def test_pack_impact_of_a_reminder_setting_lists_each_open_steps_reminder_before_and_after(pack_dir, world, cli):
    alert, review = _late_review(world)
    file = _write(pack_dir, 'remind_before = "P2D"', 'remind_before = "P5D"')
    out = cli("pack", "impact", file, "--as", "paula", now="2026-07-11T09:00")
    assert "changed [notifications] remind_before: \"P2D\" -> \"P5D\"" in out
    # the step is due 14 days after it opened (dueIn P14D): the sweep reads the new setting
    assert f"case {review['case']} of alert A{alert:06d} (derby_review version 1): can go on: its open step " \
           f"'{review['title']}' (due 24 July 2026): its reminder moves from 22 July 2026 to 19 July 2026" in out, out
    # no reminders at all: said so
    file = _write(pack_dir, 'remind_before = "P5D"\n', '')
    out = cli("pack", "impact", file, "--as", "paula", now="2026-07-11T09:00")
    assert "its reminder on 22 July 2026 would not be sent" in out, out


def test_pack_impact_names_a_step_waiting_for_a_role_removed_and_a_marker_of_a_category_removed(pack_dir, world, cli):
    # version 2 gives the red triangle's steps to a team of their own; a marker's step waits for them
    _write(pack_dir, '[roles.investigating_officer]', RED_TRIANGLE + '[roles.investigating_officer]')
    _write(pack_dir, 'role = "asb_team"\ndue_within', 'role = "red_triangle_team"\ndue_within')
    cli("pack", "deploy", "--as", "paula", "--note", "A red triangle team", now="2026-01-10T08:00")
    alert = world.report("near_miss", customer="C1", now="2026-01-10T09:00")
    task = world.open_task("helen", alert, "2026-01-10T09:00")
    world.complete("helen", task["task"], {"assessment_method": "x", **MARKER}, now="2026-01-10T09:00")
    [step] = [t for t in world.alert(alert)["tasks"] if t["role"] == "red_triangle_team" and t["status"] == "ready"]

    # version 3 takes the team away again: the step waiting for it could not go on
    _write(pack_dir, RED_TRIANGLE, "")
    file = _write(pack_dir, 'role = "red_triangle_team"\ndue_within', 'role = "asb_team"\ndue_within')
    out = cli("pack", "impact", file, "--as", "paula", now="2026-01-11T09:00")
    assert f"of alert A{alert:06d}" in out and \
        f"cannot go on: its open step '{step['title']}' waits for the Red Triangle Team, a role these settings remove, " \
        f"and no one holds it: no one could take it" in out, out
    # someone who holds it keeps it: they could still take the step
    cli("users", "add", "rita", "--name", "Rita", "--role", "red_triangle_team")
    out = cli("pack", "impact", file, "--as", "paula", now="2026-01-11T09:00")
    assert f"can go on: its open step '{step['title']}' waits for the Red Triangle Team, a role these settings " \
           f"remove: only the 1 person who holds it now could take it, and no one else could be given it" in out, out
    cli("pack", "deploy", "--as", "paula", "--note", "No red triangle team", now="2026-01-11T09:00")
    world.complete("rita", step["task"], {"housing_system_reference": "RT-9"}, now="2026-01-11T09:00")
    assert [t["status"] for t in world.alert(alert)["tasks"] if t["task"] == step["task"]] == ["completed"]

    # a category no diagram names, but a live marker carries
    toml = (pack_dir / "pack.toml").read_text()
    start = toml.index("[categories.near_miss]")
    file = _write(pack_dir, toml[start:toml.index("[categories.hazard]")], "")
    out = cli("pack", "impact", file, "--as", "paula", now="2026-01-11T09:00")
    assert f"alert A{alert:06d}" in out and "cannot go on: its marker is of the category 'Near miss' (near_miss), " \
                                              "which these settings remove" in out, out
    assert "pack.toml and letters v4" not in cli("pack", "versions")


def test_pack_impact_refuses_a_pack_toml_with_problems(pack_dir, world, cli):
    file = _write(pack_dir, "[pack]\n", "[pack]\nreview_from_due_dates = false\n")
    error = cli.fails("pack", "impact", file, "--as", "paula")
    assert "[pack] review_from_due_dates is not a setting" in error and "cannot be deployed" in error


def test_the_settings_check_on_the_web_shows_the_impact_table(pack_dir, signed_in, world):
    alert, review = _late_review(world)
    paula = signed_in("paula")
    toml = (pack_dir / "pack.toml").read_text().replace("[pack]\n", "[pack]\nreview_from_due_date = false\n", 1)
    letters = {f"letter:{p.relative_to(pack_dir).as_posix()}": p.read_text() for p in (pack_dir / "letters").iterdir()}
    with clock.frozen_at(clock.parse_moment("2026-08-01T09:00")):
        page = paula.post("/processes/settings/edit", {"pack_toml": toml, **letters, "action": "check", "change_note": ""},
                          token_from="/processes/settings/edit")
    shown = text(page)
    assert page.status_code == 200 and "No problems found" in shown
    assert "What would change for the cases running now: 1 case or marker something changes for (0 could not go on)" in shown
    assert f"case {review['case']} A{alert:06d} derby_review (v1) yes" in shown
    assert "its next review, once this late review (due 10 July 2026) is done, moves from 10 January 2027 to " \
           "1 February 2027" in shown
    # a process owner may not read the case's story: the alert is named by its number, not linked
    assert f'href="/alerts/{alert}' not in page.get_data(as_text=True)


def test_pack_impact_of_a_time_to_appeal_lists_each_decision_told_whose_window_is_open(pack_dir, world, cli):
    alert = place_near_miss_marker(world, "C1", "2026-01-10T09:00")
    [letter] = world.alert(alert)["letters"]
    cli("letter", "deliver", letter["id"], "--as", "tina", "--method", "first class post", "--at", "2026-01-12T10:00",
        now="2026-01-12T10:00")
    file = _write(pack_dir, "appeal_outcome_final = true", 'appeal_outcome_final = true\nappeal_within = "P28D"')
    out = cli("pack", "impact", file, "--as", "paula", now="2026-01-20T09:00")
    assert f"alert A{alert:06d}" in out and "the time to appeal decision 1 would close on 9 February 2026 " \
                                            "(the letter delivered on 12 January 2026 gave no date)" in out, out
    # deployed, the engine applies it: the window closes on the day the table gave
    cli("pack", "deploy", "--as", "paula", "--note", "28 days to appeal", now="2026-01-20T09:00")
    refused = cli.fails("appeal", alert, "--as", "sam", "--grounds", "I disagree", now="2026-02-10T09:00")
    assert "closed on 9 February 2026" in refused, refused


def test_a_category_removed_that_a_late_reviews_marker_carries_stops_its_letter_as_the_table_said(pack_dir, world, cli):
    alert, review = _late_review(world)
    toml = (pack_dir / "pack.toml").read_text()
    start = toml.index("[categories.near_miss]")
    file = _write(pack_dir, toml[start:toml.index("[categories.hazard]")], "")
    out = cli("pack", "impact", file, "--as", "paula", now="2026-07-11T09:00")
    assert f"case {review['case']} of alert A{alert:06d} (derby_review version 1): cannot go on: its marker is of the " \
           f"category 'Near miss' (near_miss), which these settings remove: a step issuing a letter, which names the " \
           f"category, would be refused" in out, out
    # deployed all the same (the table advises; no diagram names the category): the review's letter is refused
    cli("pack", "deploy", "--as", "paula", "--note", "No near misses", now="2026-07-11T09:00")
    refused = world.refuse("helen", review["task"], KEEP, now="2026-07-11T10:00")
    assert "unknown category 'near_miss' (this pack has: complaints, hazard, mental_health, partner_info, rpo)" in refused
    assert world.open_task("helen", alert, "2026-07-11T10:00")["task"] == review["task"]  # nothing half-done


def test_pack_impact_of_the_time_to_tell_a_tenant_moves_the_day_a_marker_not_yet_told_falls_late(pack_dir, world, cli, signed_in):
    alert = place_near_miss_marker(world, "C1", "2026-01-10T09:00")  # its letter issued, not yet delivered
    file = _write(pack_dir, 'tell_tenant_within = "P14D"', 'tell_tenant_within = "P7D"')
    out = cli("pack", "impact", file, "--as", "paula", now="2026-01-12T09:00")
    assert f"alert A{alert:06d}" in out and "the tenant is to be told of decision 1 (made 10 January 2026): by " \
                                            "24 January 2026 moves to by 17 January 2026" in out, out
    # deployed, the compliance dashboard counts it late from the day the table gave
    cli("pack", "deploy", "--as", "paula", "--note", "A week to tell", now="2026-01-12T09:00")
    cora = signed_in("cora")

    def not_told(moment):
        with clock.frozen_at(clock.parse_moment(moment)):
            return [row["alert"] for row in cora.get("/compliance/dashboard.json").get_json()["not_told"]]
    assert not_told("2026-01-17T09:00") == []
    assert not_told("2026-01-18T09:00") == [alert]


def test_pack_impact_of_a_change_of_manager_names_whom_each_open_steps_escalation_goes_to(
        pack_dir, world, cli, smtp, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)  # `serve --once` sends in its own process
    cli("users", "add", "hester", "--name", "Hester", "--role", "head_of_service", "--email", "hester@derby.example")
    cli("users", "add", "hilda", "--name", "Hilda", "--role", "head_of_housing_management",
        "--email", "hilda@derby.example")
    alert = world.report("rpo", customer="C1", now="2026-03-02T09:00")
    step = world.open_task("anna", alert, "2026-03-02T09:00")  # the ASB Manager's, due 12 March 2026
    case = _case_of(world, alert, step["task"])
    file = _write(pack_dir, 'asb_manager = "head_of_service"', 'asb_manager = "head_of_housing_management"')

    out = cli("pack", "impact", file, "--as", "paula", now="2026-03-05T09:00")
    assert f"case {case} of alert A{alert:06d} (derby_assessment version 1): can go on: its open step " \
           f"'{step['title']}' (due 12 March 2026): its escalation once overdue (from 12 March 2026) would be " \
           f"e-mailed to the Head of Housing Management instead of the Head of Service" in out, out
    # no managers and no reminders: the sweep sends no escalation at all
    toml = (pack_dir / "pack.toml").read_text()
    bare = toml[:toml.index("[notifications]")]
    (pack_dir / "bare.toml").write_text(bare)
    out = cli("pack", "impact", str(pack_dir / "bare.toml"), "--as", "paula", now="2026-03-05T09:00")
    assert f"'{step['title']}' (due 12 March 2026): its escalation once overdue would be e-mailed to no one " \
           f"(these settings send no escalations), not to the Head of Service" in out, out

    # deployed, the step overdue: the sweep e-mails the manager the table named, and only them
    cli("pack", "deploy", "--as", "paula", "--note", "The head of housing hears of the ASB Manager's", now="2026-03-05T09:00")
    cli("serve", "--once", now="2026-03-12T10:00")
    overdue = [m for m in smtp.messages if m["subject"].startswith("Overdue")]
    assert [m["to"] for m in overdue] == [["hilda@derby.example"]], smtp.messages


PARTNER = {"partner_source": "Derbyshire Police", "complex_needs_consulted": "yes",
           "complex_needs_input": "Unpredictable when unwell", **MARKER}


def test_pack_impact_of_review_carries_says_what_each_running_cases_next_review_would_know(pack_dir, world, cli):
    from tests.helpers import record_on_red_triangle
    alert = world.report("partner_info", customer="C2", now="2026-03-02T09:00")
    step = world.open_task("anna", alert, "2026-03-02T09:00")
    case = _case_of(world, alert, step["task"])
    # version 2 carries the partner's name to each review, whose letter names it
    letter = pack_dir / "letters" / "marker_kept.txt"
    letter.write_text(letter.read_text() + "\nWe first heard of this from $partner_source.\n")
    carries = 'review_carries = ["complex_needs_consulted"]'
    file = _write(pack_dir, carries, 'review_carries = ["complex_needs_consulted", "partner_source"]')

    out = cli("pack", "impact", file, "--as", "paula", now="2026-03-02T10:00")
    assert "changed [pack] review_carries" in out, out
    assert f"case {case} of alert A{alert:06d} (derby_assessment version 1): can go on: the review it schedules " \
           f"would start knowing 'Partner organisation' (partner_source): blank, unless a step of this case still " \
           f"to come answers it" in out, out

    # deployed, the assessment done: its review knows the partner, and its letter says so
    cli("pack", "deploy", "--as", "paula", "--note", "Reviews know the partner", now="2026-03-02T10:00")
    world.complete("anna", step["task"], PARTNER, now="2026-03-03T10:00")
    record_on_red_triangle(world, alert)
    assert world.fire_timers("2026-09-03T10:01") == 1
    review = world.open_task("anna", alert, "2026-09-03T10:01")
    world.complete("anna", review["task"], {**KEEP, "complex_needs_input": "Still unpredictable"},
                   now="2026-09-04T10:00")
    kept = world.alert(alert)["letters"][-1]
    assert kept["template"] == "marker_kept", kept
    assert "We first heard of this from Derbyshire Police." in cli("letter", "show", kept["id"], "--as", "anna")

    # the review waiting now carries it: version 3, carrying it no more, says so for that review
    letter.write_text(letter.read_text().replace("\nWe first heard of this from $partner_source.\n", ""))
    file = _write(pack_dir, 'review_carries = ["complex_needs_consulted", "partner_source"]', carries)
    out = cli("pack", "impact", file, "--as", "paula", now="2026-09-05T10:00")
    assert f"of alert A{alert:06d} (derby_review version 1): can go on: the review it schedules would no longer " \
           f"know 'Partner organisation' (partner_source) (this case has Derbyshire Police)" in out, out

"""Drafts of a step's answers are kept no longer than they serve: the background sweep (`serve --once`,
and the Celery task alertflow.drafts) deletes a draft not saved for the pack's [registers]
retain_drafts_for (a month unless the pack says otherwise) and one whose step is no longer open;
`pack check` refuses a period that is not a duration, or shorter than a day."""
import json

from sqlalchemy import select

from tests.helpers import Browser, Cli
from tests.packs.small_pack import PACK_TOML, write_small_pack
from tests.packs.world import PackWorld
from tests.web.conftest import set_passwords
from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.models import HumanTask, TaskDraft, TaskStatus

T0 = "2026-03-02T09:00"
TYPED = {"offence_nature": "Convicted of assault, 2019", "risk_source": "Police"}


def drafts():
    with transaction() as db:
        return {(d.task_id, d.username) for d in db.scalars(select(TaskDraft))}


def typed_at(browser, task, moment, answers):
    clock.set_now(clock.parse_moment(moment))
    saved = browser.post(f"/tasks/{task}/draft", answers, token_from=f"/tasks/{task}")
    assert saved.status_code == 200, saved.get_data(as_text=True)
    clock.set_now(None)


def swept(cli, now):
    """One round of the main job's background work, as `serve --once` prints it."""
    return json.loads(cli("serve", "--once", now=now).strip().replace("'", '"'))["drafts_deleted"]


def test_the_sweep_deletes_drafts_unsaved_for_a_month_and_of_steps_no_longer_open(records, world, cli, as_user):
    task, appeal = records["task"], records["rtask"]
    anna, hugo = as_user("anna"), as_user("hugo")
    typed_at(anna, task, T0, TYPED)
    typed_at(hugo, appeal, "2026-03-20T09:00", {"appeal_outcome": "uphold"})
    with transaction() as db:  # a save that landed as the step was completed in another request
        done = db.scalar(select(HumanTask.id).where(HumanTask.status == TaskStatus.COMPLETED).limit(1))
        db.add(TaskDraft(task_id=done, username="helen", answers={"assessment_method": "Talked"},
                         saved_at=clock.parse_moment(T0)))
    assert drafts() == {(task, "anna"), (appeal, "hugo"), (done, "helen")}

    assert swept(cli, "2026-03-31T09:00") == 1  # 29 days on: only the closed step's draft goes
    assert drafts() == {(task, "anna"), (appeal, "hugo")}
    assert swept(cli, "2026-04-01T09:30") == 1  # 30 days since Anna last saved (the default period)
    assert drafts() == {(appeal, "hugo")}
    assert "Your unsaved answers from" not in anna.get(f"/tasks/{task}").get_data(as_text=True)
    assert swept(cli, "2026-04-02T09:00") == 0  # Hugo saved later: his is kept
    assert drafts() == {(appeal, "hugo")}


def test_a_pack_sets_how_long_drafts_are_kept_and_the_worker_task_sweeps_by_it(cli, monkeypatch, tmp_path, app):
    import workers
    write_small_pack(tmp_path, toml=PACK_TOML.replace('tell_tenant_within = "P14D"',
                                                      'tell_tenant_within = "P14D"\nretain_drafts_for = "P7D"'))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    world = PackWorld(Cli(), {"sam": ["staff"], "mo": ["manager"]})
    alert_id = world.report("concern", customer="C1", now=T0)
    task = world.open_task("mo", alert_id, T0)["task"]
    set_passwords(["mo"])
    from webapp import create_app
    typed_at(Browser(create_app({"TESTING": True}), "mo"), task, T0, {"marker_text": "Visit in pairs"})
    clock.set_now(clock.parse_moment("2026-03-09T08:00"))  # not yet 7 days
    assert workers.drafts() == 0 and drafts() == {(task, "mo")}
    clock.set_now(clock.parse_moment("2026-03-09T09:30"))
    assert workers.drafts() == 1 and drafts() == set()
    clock.set_now(None)


def test_pack_check_refuses_a_draft_period_that_is_not_a_duration_or_under_a_day(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTFLOW_PACK", "small")
    for bad, said in (('"a month"', "[registers] retain_drafts_for: "),
                      ('"PT2H"', "[registers] retain_drafts_for is PT2H: keep drafts at least a day (P1D)"),
                      ("30", "[registers] retain_drafts_for must be a duration, e.g. retain_drafts_for = \"P30D\"")):
        write_small_pack(tmp_path, toml=PACK_TOML.replace('tell_tenant_within = "P14D"',
                                                          f'tell_tenant_within = "P14D"\nretain_drafts_for = {bad}'))
        assert said in cli.fails("pack", "check"), bad
    write_small_pack(tmp_path, toml=PACK_TOML.replace('tell_tenant_within = "P14D"',
                                                      'tell_tenant_within = "P14D"\nretain_drafts_for = "P3M"'))
    assert "no problems found" in cli("pack", "check")

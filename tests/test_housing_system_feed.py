"""The housing system kept in step (issue 19): every change to a marker sent as a signed event to a
real HTTP receiver on 127.0.0.1 from the transactional outbox, retried until acknowledged, the
acknowledged event completing the change's housing system step; the change feed through the API;
and `alertflow reconcile`. On the small pack written for the tests, given a [feed]."""
import json
import re

import pytest
from sqlalchemy import func, select

from cli.main import main
from tests.compliance.api_helpers import bearer, token
from tests.feed_receiver import SECRET, Receiver
from tests.feed_world import DECIDED, DECISION, REASON, T0, feed_world, place, with_feed
from tests.packs.world import DPO
from tests.helpers import settings_edited_by_hand
from workflows.platform import db as database
from workflows.platform.models import FeedEvent

@pytest.fixture
def world(cli, monkeypatch, tmp_path):
    with_feed(tmp_path)
    monkeypatch.setenv("ALERTFLOW_FEED_SECRET", SECRET)
    monkeypatch.setenv("ALERTFLOW_FEED_RETRY_SECONDS", "0")  # each round retries at once: the test moves no clock
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("ALERTFLOW_FEED_URL", raising=False)
    return feed_world(cli, monkeypatch, tmp_path)


def background_round(cli, now=None) -> dict:
    """One round of the main job's embedded background work (`alertflow serve --once`)."""
    return json.loads(cli("serve", "--once", now=now).strip().replace("'", '"'))


def events() -> list[FeedEvent]:
    with database.transaction() as db:
        return list(db.scalars(select(FeedEvent).order_by(FeedEvent.id)))


def signed_in(app, username):
    """Signed in through the real pages (two-step sign-in too, for the roles the pack marks)."""
    from tests.helpers import PASSWORD, Browser, one_hash_per_password
    from workflows.accounts import credentials

    with one_hash_per_password(), database.transaction() as db:
        credentials.set_password(db, username=username, password=PASSWORD, by="test")
    return Browser(app, username)


def test_each_change_is_delivered_signed_retried_until_acknowledged_once_and_completes_its_step(
        world, cli, monkeypatch, app):
    with Receiver(failures=2) as receiver:
        monkeypatch.setenv("ALERTFLOW_FEED_URL", receiver.url)
        alert_id = place(world, cli)
        step = world.open_task("sam", alert_id, DECIDED)
        assert step["title"] == "Update Orchard: place the marker (sent by the Orchard Cx feed)"

        assert background_round(cli)["feed_delivered"] == 0  # refused (503): tried again next round
        board = json.loads(cli("dashboard", "--as", "cole"))
        assert board["feed_failing"] == [] and board["feed_name"] == "Orchard Cx"  # one failure is not yet failing
        assert background_round(cli)["feed_delivered"] == 0
        board = json.loads(cli("dashboard", "--as", "cole"))
        [failing] = board["feed_failing"]  # failing_after = 2 attempts: on the dashboard
        assert failing["alert"] == alert_id and failing["attempts"] == 2 and "HTTP 503" in failing["last_error"]
        page = signed_in(app, "cole").get("/compliance").get_data(as_text=True)
        assert "1</strong> changes not reaching Orchard Cx" in page and "HTTP 503" in page
        assert world.open_task("sam", alert_id, DECIDED)["task"] == step["task"]  # still the keeper's to do by hand

        assert background_round(cli)["feed_delivered"] == 1
        assert background_round(cli)["feed_delivered"] == 0  # acknowledged: never sent again
        assert receiver.attempts == [1, 1, 1] and receiver.unsigned == 0
        [placed] = receiver.accepted
        assert placed["event_id"] == 1 and placed["change"] == "placed" and placed["event_type"] == "person_alert.placed"
        alert = placed["person_alert"]
        assert alert["person_reference"] == "C1" and alert["status"] == "active"
        assert alert["alert_type_code"] == "ASB" and alert["alert_level_code"] == "2"
        assert alert["instruction_to_staff"] == "Visit in pairs"
        assert alert["details"] == ["How to contact them: Letters only; By appointment"]
        assert alert["review_date"] == "2027-03-03"  # scheduled later in the same step: the body is written at commit
        assert REASON not in json.dumps(receiver.accepted)
        assert json.loads(cli("dashboard", "--as", "cole"))["feed_failing"] == []
        assert "0</strong> changes not reaching Orchard Cx" in signed_in(app, "cole").get("/compliance").get_data(
            as_text=True)

        # the acknowledged event is the change entered on the housing system: its step is done
        assert world.tasks_for("sam", alert_id, DECIDED) == []
        done = [e for e in world.alert(alert_id, DPO)["events"] if e["action"] == "housing_system_updated"]
        assert [(e["actor"], e["detail"]["reference"]) for e in done] == [("housing system feed", "feed event 1")]

        # a review lowering the level alone: a "level_changed" event, delivered at once
        assert world.fire_timers("2027-03-03T10:01") == 1
        review = world.open_task("mo", alert_id, "2027-03-03T10:01")
        world.complete("mo", review["task"], {"review_reason": "Calmer now", "contact_rules": "letters_only,by_appointment",
                                              "level": "L1"}, now="2027-03-04T10:00")
        assert background_round(cli, now="2027-03-04T10:01")["feed_delivered"] == 1
        changed = receiver.accepted[-1]
        assert changed["change"] == "level_changed" and changed["changed_fields"] == [
            "alert_level", "alert_level_code", "review_date"]
        assert changed["person_alert"]["alert_level_code"] == "1" and "Calmer now" not in json.dumps(changed)
        assert receiver.attempts == [1, 1, 1, 2] and len(receiver.accepted) == 2


def test_a_forged_or_stale_signature_does_not_verify_at_the_receiver(world, cli, monkeypatch):
    """The receiver's check refuses what the shared secret did not sign (proves the test receiver checks)."""
    with Receiver(failures=0, secret="another-secret-0123456789") as receiver:
        monkeypatch.setenv("ALERTFLOW_FEED_URL", receiver.url)
        place(world, cli)
        assert background_round(cli)["feed_delivered"] == 0
        assert receiver.unsigned == 1 and receiver.accepted == []
        assert "HTTP 401" in events()[0].last_error


def test_a_change_rolled_back_by_a_step_failing_midway_leaves_no_event(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("ALERTFLOW_FEED_SECRET", SECRET)
    world = feed_world(cli, monkeypatch, tmp_path)
    with_feed(tmp_path, letter="Dear $customer_name, $no_such_field\n")  # the letter after place_marker fails
    settings_edited_by_hand()  # the check would refuse it: put in the database by hand
    with Receiver(failures=0) as receiver:
        monkeypatch.setenv("ALERTFLOW_FEED_URL", receiver.url)
        out = cli("report", "--as", "sam", "--customer", "C1", "--category", "concern", "--description", "x", now=T0)
        alert_id = int(out.split("alert ")[1].split()[0])
        task = world.open_task("mo", alert_id, T0)["task"]
        assert "needs $no_such_field" in world.refuse("mo", task, DECISION, now=DECIDED)
        assert events() == [] and world.tasks_for("sam", alert_id, DECIDED) == []
        background_round(cli)
        assert receiver.attempts == []
        with_feed(tmp_path)  # the letter mended, the same step goes through: one event
        settings_edited_by_hand()
        world.complete("mo", task, DECISION, now=DECIDED)
        assert [e.change for e in events()] == ["placed"]
        assert background_round(cli)["feed_delivered"] == 1 and len(receiver.accepted) == 1


def test_the_api_serves_the_events_as_a_change_feed_by_cursor(world, cli, app):
    alert_id = place(world, cli)  # no ALERTFLOW_FEED_URL: nothing is sent, the change feed still has it
    assert background_round(cli)["feed_delivered"] == 0
    world.fire_timers("2027-03-03T10:01")
    world.complete("mo", world.open_task("mo", alert_id, "2027-03-03T10:01")["task"],
                   {"review_reason": "Calmer", "contact_rules": "any"},
                   now="2027-03-04T10:00")
    client, headers = app.test_client(), bearer(token(cli, "orchard", "markers:read"))
    first = client.get("/api/v1/feed?limit=1", headers=headers).get_json()
    assert [e["change"] for e in first["events"]] == ["placed"] and first["more"] is True
    rest = client.get(f"/api/v1/feed?after={first['cursor']}", headers=headers).get_json()
    [amended] = rest["events"]
    assert amended["change"] == "amended" and amended["person_alert"]["details"] == ["How to contact them: Any way"]
    assert amended["changed_fields"] == ["details", "review_date"] and rest["more"] is False
    assert REASON not in json.dumps(first) + json.dumps(rest)
    empty = client.get(f"/api/v1/feed?after={rest['cursor']}", headers=headers).get_json()
    assert empty == {"events": [], "cursor": rest["cursor"], "more": False}
    for wrong, field in (("after=yesterday", "after"), ("after=569702877040625974", "after"), ("after=%C2%B2", "after"),
                         ("limit=0", "limit"), ("limit=%C2%B2", "limit")):
        bad = client.get(f"/api/v1/feed?{wrong}", headers=headers)
        assert bad.status_code == 400 and bad.get_json()["field"] == field, wrong
    assert client.get("/api/v1/feed").status_code == 401
    no_scope = bearer(token(cli, "reporter", "concerns:write"))
    assert client.get("/api/v1/feed", headers=no_scope).status_code == 403
    assert "/api/v1/feed" in client.get("/api/v1/openapi.json").get_json()["paths"]


def test_the_feed_settings_are_checked_when_the_pack_loads(tmp_path):
    from workflows.definitions.pack import PackError, load_pack

    toml = with_feed(tmp_path) / "pack.toml"
    good = toml.read_text()
    assert load_pack("small", tmp_path).feed.categories == {"concern": "ASB"}
    for wrong, replacement, message in (
            ('categories = { concern = "ASB" }', 'categories = { dog = "D" }', "names unknown categories ['dog']"),
            ("failing_after = 2", "failing_after = 0", "failing_after must be a whole number"),
            ('levels = { L2 = "2", L1 = "1" }', 'levels = { L2 = 2 }', "levels must map each"),
            ('name = "Orchard Cx"', 'name = "Orchard Cx"\nurl = "https://x"', "unknown settings ['url']")):
        toml.write_text(good.replace(wrong, replacement))
        with pytest.raises(PackError, match=re.escape(message)):
            load_pack("small", tmp_path)


def test_a_feed_address_that_is_not_https_is_refused_with_the_variable_named(world, cli, monkeypatch):
    place(world, cli)
    monkeypatch.setenv("ALERTFLOW_FEED_URL", "http://housing.example.org/alerts")
    assert "ALERTFLOW_FEED_URL must be an https:// address" in cli.fails("serve", "--once")
    monkeypatch.setenv("ALERTFLOW_FEED_URL", "https://housing.example.org/alerts")
    monkeypatch.delenv("ALERTFLOW_FEED_SECRET")
    assert "ALERTFLOW_FEED_SECRET must be set" in cli.fails("serve", "--once")
    with database.transaction() as db:
        assert db.scalar(select(func.count()).select_from(FeedEvent).where(FeedEvent.attempts > 0)) == 0


# --- reconciliation ---------------------------------------------------------------------------

def test_reconcile_lists_markers_missing_on_either_side_and_different_wording(world, cli, tmp_path):
    place(world, cli)  # C1: "Visit in pairs"
    out = cli("report", "--as", "sam", "--customer", "C2", "--category", "concern", "--description", "x", now=T0)
    c2 = int(out.split("alert ")[1].split()[0])
    world.complete("mo", world.open_task("mo", c2, T0)["task"], {**DECISION, "marker_text": "Phone the office first"},
                   now=DECIDED)
    export = tmp_path / "orchard.csv"
    export.write_text("Customer_Reference;Instruction;Their id\n"
                      "C1;visit  in pairs;17\n"            # the same, but for case and spacing: in step
                      "C2;Phone first;18\n"                # different wording
                      "C3;Do not visit alone;19\n"         # not on the register
                      ";Orphan;20\n", encoding="utf-8")   # no reference: named, left out
    result = cli.runner.invoke(main, ["reconcile", str(export), "--as", "ada"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "row 5, column Customer_Reference: the customer's reference is empty (row left out)" in lines
    assert "C2: different wording (row 3): the register says 'Phone the office first'; the housing system says " \
           "'Phone first'" in lines
    assert "C3: missing on the register (row 4): the housing system says 'Do not visit alone'" in lines
    assert lines[-1] == "orchard.csv: 4 rows, 2 active markers on the register: 1 in step, 2 differences"

    export.write_text("customer_reference,instruction\nC1,Visit in pairs\n", encoding="utf-8")
    result = cli.runner.invoke(main, ["reconcile", str(export), "--as", "ada"])
    assert "C2: missing on the housing system: the register says 'Phone the office first'" in result.stdout
    export.write_text("customer_reference,instruction\nC1,Visit in pairs\nC2,Phone the office first\n")
    assert cli("reconcile", export, "--as", "ada").strip() == \
        "orchard.csv: 2 rows, 2 active markers on the register: 2 in step, 0 differences"


def test_reconcile_refuses_a_bad_file_with_a_clear_message(world, cli, tmp_path):
    bad = tmp_path / "export.csv"
    bad.write_bytes("customer_reference,instruction\nC1,Caf\xe9 staff only\n".encode("cp1252"))
    assert "is not UTF-8 text (line 2" in cli.fails("reconcile", bad, "--as", "ada")
    bad.write_text("reference,text\nC1,x\n")
    assert "lacks the required columns customer_reference (the customer's reference), instruction (the " \
           "instruction to staff)" in cli.fails("reconcile", bad, "--as", "ada")
    bad.write_bytes(b"\x00\x01garbage" * 1000)
    assert "contains NUL bytes" in cli.fails("reconcile", bad, "--as", "ada")
    assert "there is no file" in cli.fails("reconcile", tmp_path / "missing.csv", "--as", "ada")
    assert "sam may not reconcile the register" in cli.fails("reconcile", bad, "--as", "sam")


# --- on Derby's pack given a [feed]: a restricted record, an interim marker on and off ---------

@pytest.fixture
def derby_feed(pack_dir, cli):
    from tests.helpers import DerbyWorld

    toml = pack_dir / "pack.toml"
    toml.write_text(toml.read_text() + '\n[feed]\nname = "Civica Cx"\ncategories = { rpo = "VIO", complaints = "CMP" }\n')
    world = DerbyWorld(cli)
    cli("users", "add", "ada", "--name", "Ada", "--role", "admin")  # who makes the API token
    return world


def _feed(cli, app) -> list[dict]:
    return app.test_client().get("/api/v1/feed", headers=bearer(token(cli, "cx", "markers:read"))).get_json()["events"]


def test_a_restricted_record_sends_only_its_staff_instruction(derby_feed, cli, app):
    from tests.helpers import RISK

    derby = derby_feed
    alert_id = derby.report("rpo", now=T0)
    derby.complete("anna", derby.open_task("anna", alert_id, T0)["task"],
                   {"offence_date": "2025-01-01", "offence_nature": "Scheduled offence under the Sexual Offences Act", "scheduled_offender": "yes",
                    **RISK, "place_marker": "yes", "inform_tenant": "yes"}, now=DECIDED)
    [event] = _feed(cli, app)
    alert = event["person_alert"]
    assert event["change"] == "placed"
    assert alert["instruction_to_staff"] == "Contact the relevant manager before visiting."
    assert alert["alert_type"] is None and alert["alert_type_code"] is None  # not even that it is an offender's
    assert alert["alert_level"] is None and alert["marker_code"] is None and alert["details"] == []
    assert "Sexual Offences" not in json.dumps(event) and "offender" not in json.dumps(event).lower()


def test_an_interim_marker_on_then_off_and_a_confirmed_one(derby_feed, cli, app):
    from tests.helpers import RISK

    derby = derby_feed
    appoint = {"investigating_officer": "ivy", "complaint_summary": "Four complaints in a month",
               "interim_adjustment": "yes", "marker_text": "Visit in pairs (interim)",
               "control_measures": "visit_in_pairs", "interim_inform_tenant": "yes", "interim_reason": "Protect staff"}
    off = derby.report("complaints", now=T0)
    derby.complete("helen", derby.open_task("helen", off, T0)["task"], appoint, now=T0)
    derby.complete("ivy", derby.open_task("ivy", off, T0)["task"], {
        "investigation_findings": "One was well founded", "unfounded_pattern": "no", **RISK, "place_marker": "no",
        "decision_reason": "No pattern of unfounded complaints"}, now=DECIDED)
    on = derby.report("complaints", customer="C2", now=T0)
    derby.complete("helen", derby.open_task("helen", on, T0)["task"], appoint, now=T0)
    events = _feed(cli, app)
    assert [(e["person_alert"]["alert_reference"], e["change"], e["person_alert"]["status"]) for e in events] == [
        (f"A{off:06d}", "interim_on", "interim"), (f"A{off:06d}", "interim_off", "ended"),
        (f"A{on:06d}", "interim_on", "interim")]
    assert events[0]["person_alert"]["alert_type_code"] == "CMP"
    assert events[1]["person_alert"]["instruction_to_staff"] is None and events[1]["person_alert"]["end_date"]
    assert "Protect staff" not in json.dumps(events) and "No pattern" not in json.dumps(events)

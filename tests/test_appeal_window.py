"""The time to appeal holds whichever way an appeal is started: every public function of the
engine that can start an appeal case is called here, past the window, and each refuses."""
import inspect

import pytest

from tests.helpers import DerbyWorld
from tests.packs.world import copy_pack
from tests.helpers import MARKER, record_on_red_triangle
from workflows.cases import engine
from workflows.definitions.pack import active_pack
from workflows.platform import clock
from workflows.platform.db import transaction
from workflows.platform.errors import NotAllowed

DECIDED = "2026-03-02T10:00"
DELIVERED = "2026-03-04T12:00"
LATE = "2026-04-02T12:01"  # 28 days and a minute after the delivery


@pytest.fixture
def late_appeal(cli, monkeypatch, tmp_path):
    """Derby with a 28-day time to appeal; a marker whose letter was delivered on 4 March."""
    toml = copy_pack(tmp_path, "derby")
    toml.write_text(toml.read_text().replace("appeal_outcome_final = true", 'appeal_outcome_final = true\nappeal_within = "P28D"', 1))
    monkeypatch.setenv("ALERTFLOW_PACKS_DIR", str(tmp_path))
    derby = DerbyWorld(cli)
    alert_id = derby.report("near_miss", customer="C1", now=DECIDED)
    derby.complete("helen", derby.open_task("helen", alert_id, DECIDED)["task"], {"assessment_method": "x", **MARKER},
                   now=DECIDED)
    record_on_red_triangle(derby, alert_id, now=DECIDED)
    [letter] = derby.alert(alert_id)["letters"]
    cli("letter", "deliver", letter["id"], "--as", "hugo", "--method", "first class post", "--at", DELIVERED,
        now=DELIVERED)
    return derby, alert_id


def _appeal_starters():
    """The engine's public functions that can start an appeal case."""
    return {name for name, fn in inspect.getmembers(engine, inspect.isfunction)
            if not name.startswith("_") and fn.__module__ == engine.__name__
            and ("appeal" in name or "kind" in inspect.signature(fn).parameters)}


def test_every_public_way_to_start_an_appeal_refuses_one_lodged_after_the_time_to_appeal(late_appeal, cli):
    derby, alert_id = late_appeal
    assert _appeal_starters() == {"start_appeal", "start_case"}  # a new one must be added below
    pack = active_pack()
    with clock.frozen_at(clock.parse_moment(LATE)), transaction() as db:
        actor = engine.actor_for(db, pack, "sam")
        # 12:00 UTC on 1 April is 13:00 on a UK clock (British Summer Time), as a person reads it
        with pytest.raises(NotAllowed, match="the time to appeal decision 1 on alert .* closed on 1 April 2026 at 13:00"):
            engine.start_appeal(db, pack=pack, actor=actor, alert_id=alert_id, grounds="Late")
        alert = engine.permissions.known_alert(db, pack=pack, actor=actor, alert_id=alert_id)
        with pytest.raises(NotAllowed, match="an appeal is lodged with its grounds"):
            engine.start_case(db, pack=pack, process_id=pack.appeal_process, alert=alert, kind="appeal",
                              actor="sam", data={})
    assert "closed on 1 April 2026 at 13:00" in cli.fails("appeal", alert_id, "--as", "sam", "--grounds", "Late",
                                                           now=LATE)
    assert not [c for c in derby.alert(alert_id)["cases"] if c["kind"] == "appeal"]
    # a minute inside the window it is lodged
    assert "appeal" in cli("appeal", alert_id, "--as", "sam", "--grounds", "In time", now="2026-04-01T11:59")

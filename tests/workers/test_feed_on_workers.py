"""The housing system feed delivered by a real Celery worker and beat (alertflow.feed), to a
real HTTP receiver on 127.0.0.1 that refuses twice and then acknowledges: once acknowledged,
the event is never sent again and the change's housing system step is done."""
from tests.feed_receiver import SECRET, Receiver
from tests.feed_world import DECIDED, feed_world, place
from tests.workers.conftest import wait_for


def test_a_celery_worker_delivers_each_change_once_acknowledged_after_two_refusals(
        cli, monkeypatch, tmp_path, shared_clock, celery_processes):
    shared_clock.set(DECIDED)
    world = feed_world(cli, monkeypatch, tmp_path)
    with Receiver(failures=2) as receiver:
        env = {"ALERTFLOW_FEED_URL": receiver.url, "ALERTFLOW_FEED_SECRET": SECRET,
               "ALERTFLOW_FEED_RETRY_SECONDS": "0"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        alert_id = place(world, cli)
        assert len(world.tasks_for("sam", alert_id)) == 1
        celery_processes.worker("w1")
        celery_processes.beat(seconds=1)
        wait_for(lambda: receiver.accepted, "the event to be acknowledged")
        rounds = celery_processes.log("w1").count("Task alertflow.feed[")
        wait_for(lambda: celery_processes.log("w1").count("Task alertflow.feed[") >= rounds + 6, "three more rounds")
        assert receiver.attempts == [1, 1, 1] and receiver.unsigned == 0
        assert [e["change"] for e in receiver.accepted] == ["placed"]
        assert world.tasks_for("sam", alert_id) == []  # the step done by the acknowledged event

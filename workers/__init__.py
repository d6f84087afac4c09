"""The Celery app: `celery -A workers worker` and `celery -A workers beat`.

Thin: each task calls one function of workflows/. Redis (REDIS_URL) is the broker; the due
times live in the database, so a broker outage delays timers and loses none.

  alertflow.sweep       (beat, every ALERTFLOW_SWEEP_SECONDS, default 60) selects the cases
                        whose next timer has passed and enqueues one advance_case per case
  alertflow.advance_case  (queue ALERTFLOW_QUEUE.cases; every other task on ALERTFLOW_QUEUE)
                        advances one case under its row lock (workflows.cases.timers.advance_one);
                        a case that raises is set aside in error, never retried by Celery
  alertflow.reminders   (beat, same period) reminders before due dates, escalations after
  alertflow.circulation (beat, same period) a marker's circulation notices not sent when their step
                        committed (workflows.register.circulation.deliver_due)
  alertflow.feed        (beat, same period) the housing system feed's due events sent, each retried
                        with back-off until acknowledged (workflows.register.feed.deliver_due)
  alertflow.drafts      (beat, same period) drafts of steps unsaved past the pack's retain_drafts_for, or
                        of a step no longer open, deleted (workflows.tasks.drafts.sweep)
  alertflow.dashboard_charts  (beat, same period) the open steps' tally summed and the compliance
                        dashboard's charts counted for its readers (workflows.background.count_dashboard)
  alertflow.audit_checkpoint  (beat, same period) a signed audit checkpoint when one is due
                        (workflows.compliance.audit.checkpoint_if_due: ALERTFLOW_AUDIT_CHECKPOINT_MINUTES)
"""
import os

from celery import Celery
from kombu import Queue
from sqlalchemy.exc import OperationalError

from workflows import background
from workflows.tasks import reminders as reminder_jobs
from workflows.cases import timers
from workflows.definitions.pack import active_pack

SWEEP_SECONDS = float(os.environ.get("ALERTFLOW_SWEEP_SECONDS", "60"))
QUEUE = os.environ.get("ALERTFLOW_QUEUE", "alertflow")
# the cases a sweep hands out wait in a queue of their own, so "is an earlier sweep's backlog still
# waiting" counts cases only, never the rounds beat sends alongside each sweep
CASES_QUEUE = f"{QUEUE}.cases"

app = Celery("alertflow", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_default_queue=QUEUE,
    task_queues=(Queue(QUEUE), Queue(CASES_QUEUE)),  # a worker consumes both
    task_routes={"alertflow.advance_case": {"queue": CASES_QUEUE}},
    # a task is acknowledged only once it has run; a worker killed mid-task leaves it to be redelivered
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=int(os.environ.get("ALERTFLOW_PREFETCH", "8")),
    # an unacknowledged message comes back after this long (Redis transport); the sweep also re-finds
    # any case still due, so a short time only makes recovery quicker
    broker_transport_options={"visibility_timeout": int(os.environ.get("ALERTFLOW_VISIBILITY_TIMEOUT", "3600"))},
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    # each round of background work every SWEEP_SECONDS; a round not started within its period is
    # dropped (`expires`), since the next is already on its way: a slow worker never piles them up
    # ahead of the work a round hands out (a case's timer, a letter's e-mail)
    beat_schedule={name: {"task": f"alertflow.{name}", "schedule": SWEEP_SECONDS, "options": {"expires": SWEEP_SECONDS}}
                   for name in ("sweep", "reminders", "audit_checkpoint", "feed", "circulation", "drafts",
                                "dashboard_charts")},
)


@app.task(name="alertflow.sweep")
def sweep(if_idle: bool = True) -> int:
    """Enqueue one advance_case task per due case; returns how many were enqueued.

    From beat (if_idle): skipped while the cases' queue still holds cases from an earlier sweep, so a
    backlog is not enqueued again every minute. Duplicates are harmless (each case is advanced
    under its lock and re-checked), only wasted work. Cases whose task was lost (a worker
    killed, Redis restarted) are still due in the database, so the next sweep enqueues them."""
    from workflows.platform import db as database
    from workflows.cases import engine

    if if_idle and _queued() > 0:
        return 0
    with database.transaction() as db:
        due = engine.due_case_ids(db)
    with app.producer_or_acquire() as producer:
        for case_id in due:
            advance_case.apply_async((case_id,), producer=producer)
    return len(due)


def _queued() -> int:
    """Cases waiting in the cases' queue (Redis drops an empty queue, which a passive declare reports as missing)."""
    from amqp.exceptions import ChannelError

    with app.connection_for_read() as conn:
        try:
            return conn.default_channel.queue_declare(CASES_QUEUE, passive=True).message_count
        except ChannelError:
            return 0


@app.task(name="alertflow.advance_case", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def advance_case(case_id: int) -> bool:
    """Fire one case's due timers under its lock; False if it was not due (already advanced)."""
    return timers.advance_one(active_pack(), case_id)


@app.task(name="alertflow.reminders")
def reminders() -> dict:
    return reminder_jobs.send_due(active_pack())


@app.task(name="alertflow.audit_checkpoint")
def audit_checkpoint() -> int:
    return background.audit_checkpoint()


@app.task(name="alertflow.feed")
def feed() -> int:
    return background.deliver_feed(active_pack())


@app.task(name="alertflow.circulation")
def circulation() -> int:
    return background.send_circulation()


@app.task(name="alertflow.drafts")
def drafts() -> int:
    return background.sweep_drafts(active_pack())


@app.task(name="alertflow.dashboard_charts")
def dashboard_charts() -> int:
    return background.count_dashboard(active_pack())

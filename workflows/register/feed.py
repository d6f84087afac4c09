"""The housing system feed: every change to a marker as a JSON event, sent to the landlord's
housing system and served to it as a change feed (docs/integration.md, "The housing system feed").

- `record` writes the event to the outbox (`feed_event`) in the transaction that changed the
  marker: `housing_system.marker_changed` calls it for every change, so a change that rolls back
  leaves no event and one that commits cannot lose its event.
- `deliver_due` POSTs each due event to ALERTFLOW_FEED_URL, signed with HMAC-SHA256 over a
  timestamp and the body (ALERTFLOW_FEED_SECRET). A 2xx answer acknowledges it: it is never
  sent again, and the change's [housing_system] step is completed by the feed. Anything else
  (an error status, a timeout, a refused connection) schedules the next attempt with exponential
  back-off, for as long as it takes. The events of one marker are sent in order: one waits
  while an earlier one of the same marker is undelivered. Run by Celery beat
  (workers/: alertflow.feed) and by the embedded background loop (workflows/background.py).
- `events_after` is the change feed the API serves: the same events, by cursor.

What an event says of a marker is `markers.instruction_to_staff`: the instruction, never the
reasons; a restricted record carries only its restriction's staff instruction.
"""
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import event as orm_event, exists, inspect, select
from sqlalchemy.orm import Session, aliased

from workflows.compliance import audit
from workflows.definitions.pack import Pack
from workflows.platform import clock
from workflows.platform import db as database
from workflows.platform.errors import WorkflowError
from workflows.platform.models import Alert, FeedEvent, HumanTask, OPEN_TASK
from workflows.register.markers import instruction_to_staff

URL_ENV, SECRET_ENV = "ALERTFLOW_FEED_URL", "ALERTFLOW_FEED_SECRET"
RETRY_ENV, RETRY_MAX_ENV = "ALERTFLOW_FEED_RETRY_SECONDS", "ALERTFLOW_FEED_RETRY_MAX_SECONDS"
SIGNATURE, TIMESTAMP, EVENT_ID = "X-Alertflow-Signature", "X-Alertflow-Timestamp", "X-Alertflow-Event"
ACTOR = "housing system feed"  # who the audit log says completed a step by an acknowledged event
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TIMEOUT = (5, 20)  # seconds to connect, to answer
BATCH = 100

# the register's change (housing_system.CHANGES) -> the event's change, before refining by history
CHANGES = {"place": "placed", "confirm": "interim_confirmed", "interim_on": "interim_on",
           "amend": "amended", "remove": "removed"}


listens_for = orm_event.listens_for


class FeedMisconfigured(WorkflowError):
    """The feed's environment variables are missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: bytes


def endpoint() -> Endpoint | None:
    """Where events are sent, from the environment; None when ALERTFLOW_FEED_URL is unset (events
    are still written, and the change feed serves them)."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        raise FeedMisconfigured(f"{URL_ENV} must be an https:// address (plain http:// only on 127.0.0.1 or "
                                f"localhost), not '{url}'")
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < 16:
        raise FeedMisconfigured(f"{SECRET_ENV} must be set to the shared secret the housing system verifies "
                                f"signatures with (at least 16 characters) when {URL_ENV} is set")
    return Endpoint(url, secret.encode("utf-8"))


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of "<timestamp>.<body>" under the shared secret."""
    return "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """How long after its n-th failed attempt an event is tried again: doubling from
    ALERTFLOW_FEED_RETRY_SECONDS (60), at most ALERTFLOW_FEED_RETRY_MAX_SECONDS (6 hours)."""
    first = float(os.environ.get(RETRY_ENV, "60"))
    most = float(os.environ.get(RETRY_MAX_ENV, str(6 * 3600)))
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), most))


# --- writing the event, in the change's own transaction ---------------------------------------

_UNWRITTEN = "feed_unwritten"


def record(db: Session, *, pack: Pack, alert: Alert, change: str, task: HumanTask | None) -> FeedEvent | None:
    """Put this change to the alert's marker in the outbox; None when the pack has no [feed].

    The row is inserted now (its id is the event's cursor); its body is written when the
    transaction commits (`_write_bodies`), so it says what the marker is once the whole step is
    done: a review scheduled later in the same step gives the placed marker its review date."""
    if pack.feed is None:
        return None
    event = FeedEvent(alert_id=alert.id, change=CHANGES[change], body="", task_uuid=task.task_uuid if task else None,
                      created_at=clock.now(), next_attempt_at=clock.now())
    db.add(event)
    db.flush()
    db.info.setdefault(_UNWRITTEN, []).append((event, pack, alert, change))
    return event


@listens_for(Session, "before_commit")
def _write_bodies(db: Session):
    """Each event of this transaction as it will be sent, in the order the changes were made."""
    if db.in_nested_transaction():
        return
    written: dict[int, dict] = {}  # alert id -> the person alert of its last event in this transaction
    for event, pack, alert, change in db.info.pop(_UNWRITTEN, []):
        if not inspect(event).persistent:
            continue  # undone by a rolled-back savepoint
        before = written.get(alert.id)
        if before is None:
            previous = db.scalar(select(FeedEvent.body).where(FeedEvent.alert_id == alert.id, FeedEvent.id < event.id,
                                                              FeedEvent.body != "").order_by(FeedEvent.id.desc()).limit(1))
            before = json.loads(previous)["person_alert"] if previous else None
        person_alert = _person_alert(pack, alert, change, before)
        event.change = kind = _change(change, person_alert, before)
        body = {"event_id": event.id, "event_type": f"person_alert.{kind}", "change": kind,
                "occurred_at": clock.as_utc(event.created_at).isoformat(), "source": "alertflow", "pack": pack.key,
                "changed_fields": _changed_fields(person_alert, before), "person_alert": person_alert}
        event.body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        written[alert.id] = person_alert


@listens_for(Session, "after_transaction_end")
def _drop_unwritten(db: Session, transaction):
    if transaction.parent is None:  # rolled back: its events went with it
        db.info.pop(_UNWRITTEN, None)


def _person_alert(pack: Pack, alert: Alert, change: str, before: dict | None) -> dict:
    """The marker as the housing system must now hold it, after HACT's person alert: what staff are
    shown (instruction_to_staff), with the pack's [feed] codes."""
    shown = instruction_to_staff(pack, alert)
    category = pack.categories.get(shown["category"] or "")
    ended = change == "remove"
    interim = change == "interim_on" or (change == "amend" and (before or {}).get("status") == "interim")
    return {
        "alert_reference": f"A{alert.id:06d}",
        # a marker on a person is keyed by the person; one on a property (a hazard there) by the property
        "person_reference": alert.customer.reference if alert.customer_id is not None else None,
        **({"property_reference": alert.property.reference} if alert.property_id is not None else {}),
        "status": "ended" if ended else "interim" if interim else "active",
        "alert_type": category.label if category else None,
        "alert_type_code": pack.feed.categories.get(shown["category"] or ""),
        "alert_level": shown["level"], "alert_level_code": pack.feed.levels.get(shown["level"] or ""),
        "marker_code": shown["code"],
        "instruction_to_staff": None if ended else shown["instruction"],
        "control_measures": [] if ended else shown["control_measures"],
        "details": [] if ended else shown["details"],
        "start_date": shown["since"], "review_date": None if ended else shown["next_review"],
        "end_date": clock.now().date().isoformat() if ended else None,
    }


WORDING = ("instruction_to_staff", "control_measures", "details")


def _changed_fields(now: dict, before: dict | None) -> list[str]:
    if before is None:
        return []
    return [name for name in now if name not in ("status", "end_date") and now[name] != before.get(name)]


def _change(change: str, now: dict, before: dict | None) -> str:
    """The event's change: an amendment of the level or code alone says so; the removal of an
    interim marker is "interim_off"."""
    kind = CHANGES[change]
    if kind == "removed" and (before or {}).get("status") == "interim":
        return "interim_off"
    if kind == "amended" and before is not None:
        changed = set(_changed_fields(now, before)) - {"review_date"}  # a review moves it whatever it decides
        if changed and not changed & set(WORDING):
            if changed <= {"alert_level", "alert_level_code"}:
                return "level_changed"
            if changed == {"marker_code"}:
                return "code_changed"
    return kind


# --- delivering, until acknowledged ----------------------------------------------------------

def _due(db: Session, limit: int) -> list[int]:
    """Undelivered events whose next attempt is due, oldest first, each only once every earlier
    event of its marker is delivered (a housing system applies a marker's changes in order)."""
    earlier = aliased(FeedEvent)
    query = (select(FeedEvent.id).where(FeedEvent.delivered_at.is_(None), FeedEvent.next_attempt_at <= clock.now(),
                                        ~exists().where(earlier.alert_id == FeedEvent.alert_id,
                                                        earlier.id < FeedEvent.id, earlier.delivered_at.is_(None)))
             .order_by(FeedEvent.id).limit(limit))
    return list(db.scalars(query))


def deliver_due(pack: Pack, limit: int = BATCH) -> int:
    """Send every due event (each in its own transaction); how many were acknowledged."""
    if pack.feed is None:
        return 0
    target = endpoint()
    if target is None:
        return 0
    with database.transaction() as db:
        due = _due(db, limit)
    return sum(deliver_one(pack, target, event_id) for event_id in due)


def deliver_one(pack: Pack, target: Endpoint, event_id: int) -> bool:
    """POST one event; True if acknowledged. The row is locked while it is sent (PostgreSQL:
    another worker skips it), so two workers never send it at once."""
    import requests

    with database.transaction() as db:
        event = db.scalar(select(FeedEvent).where(FeedEvent.id == event_id, FeedEvent.delivered_at.is_(None))
                          .with_for_update(skip_locked=True))
        if event is None:
            return False  # delivered meanwhile, or being sent by another worker
        body = event.body.encode("utf-8")
        stamp = str(int(time.time()))  # the receiver's wall clock judges it, not the register's clock
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP: stamp,
                   SIGNATURE: sign(target.secret, stamp, body), EVENT_ID: str(event.id),
                   "User-Agent": "alertflow-feed"}
        now = clock.now()
        event.attempts, event.last_attempt_at = (event.attempts or 0) + 1, now
        try:
            answer = requests.post(target.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False)
            problem = None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}: {answer.text[:200]}"
        except requests.RequestException as err:
            problem = f"{type(err).__name__}: {str(err)[:300]}"
        if problem:
            event.last_error, event.next_attempt_at = problem, now + backoff(event.attempts)
            return False
        event.delivered_at, event.last_error = now, None
        audit.record(db, actor=ACTOR, action="feed_event_delivered", alert_id=event.alert_id, event_id=event.id,
                     change=event.change, attempts=event.attempts)
        _complete_step(db, event)
        return True


def _complete_step(db: Session, event: FeedEvent) -> None:
    """An acknowledged event is the change entered on the housing system: its step is done."""
    from workflows.register import housing_system

    if event.task_uuid is None:
        return
    task = db.scalar(select(HumanTask).where(HumanTask.task_uuid == event.task_uuid, HumanTask.status.in_(OPEN_TASK)))
    if task is not None:  # still open: nobody entered it by hand meanwhile
        housing_system.complete(db, task=task, actor=ACTOR,
                                values={housing_system.REFERENCE: f"feed event {event.id}"})


# --- the change feed (the API) and what is failing (the dashboard) ---------------------------

def events_after(db: Session, *, actor: str, after: int, limit: int = 100) -> dict:
    """The events after a cursor, oldest first, as they were (or will be) sent."""
    rows = list(db.scalars(select(FeedEvent).where(FeedEvent.id > after).order_by(FeedEvent.id).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    audit.record(db, actor=actor, action="feed_read", after=after, events=len(rows))
    return {"events": [json.loads(r.body) for r in rows], "cursor": str(rows[-1].id if rows else after),
            "more": more}


def failing(db: Session, *, pack: Pack, visible) -> list[dict]:
    """Events still undelivered after [feed] failing_after attempts, of the alerts `visible` admits."""
    if pack.feed is None:
        return []
    rows = db.execute(select(FeedEvent, Alert).join(Alert, FeedEvent.alert_id == Alert.id)
                      .where(FeedEvent.delivered_at.is_(None), FeedEvent.attempts >= pack.feed.failing_after, visible)
                      .order_by(FeedEvent.id))
    return [{"event": e.id, "alert": a.id, "customer": a.subject.reference, "change": e.change.replace("_", " "),
             "attempts": e.attempts, "since": _words(e.created_at), "last_attempt": _words(e.last_attempt_at),
             "next_attempt": _words(e.next_attempt_at), "last_error": e.last_error}
            for e, a in rows]


def _words(moment) -> str | None:
    """1 June 2027 at 09:30 (UTC), as people read a date."""
    return f"{clock.as_utc(moment):%-d %B %Y at %H:%M} UTC" if moment else None

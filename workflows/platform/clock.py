"""The one clock everything reads: the engine, SpiffWorkflow's timers, the sweep.

Tests and the command line (`alertflow --now ...`) move it; in production it is the wall clock.
SpiffWorkflow's timer module calls `datetime.now(timezone.utc)` itself, so `install()` points
that module at a datetime class that asks this clock, and replaces its month arithmetic
(31 August + P6M must be 28/29 February, not 3 March) with dateutil's calendar arithmetic.
"""
import os
from contextlib import contextmanager
from datetime import datetime, timezone

from dateutil.relativedelta import relativedelta

_fixed: datetime | None = None
CLOCK_FILE_ENV = "ALERTFLOW_CLOCK_FILE"  # a file holding an ISO moment: the clock for every process reading it
_file_cache: tuple | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC: a moment fixed in this process (--now, tests),
    else the moment in ALERTFLOW_CLOCK_FILE (so worker processes in tests and demos can be
    moved together), else the wall clock."""
    if _fixed is not None:
        return _fixed
    shared = _from_file()
    return shared if shared is not None else datetime.now(timezone.utc)


def _from_file() -> datetime | None:
    global _file_cache
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    mtime = (st.st_ino, st.st_mtime_ns, st.st_size)
    if _file_cache and _file_cache[0] == path and _file_cache[1] == mtime:
        return _file_cache[2]
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    moment = parse_moment(text) if text else None
    _file_cache = (path, mtime, moment)
    return moment


def write_clock_file(path, moment: datetime | None) -> None:
    """Move the shared clock of every process reading this file (None: back to the wall clock)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(as_utc(moment).isoformat() if moment is not None else "")
    os.replace(tmp, path)


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at a moment (None returns to the wall clock)."""
    global _fixed
    _fixed = as_utc(moment) if moment is not None else None


@contextmanager
def frozen_at(moment: datetime):
    """Run a block with the clock frozen, restoring it afterwards."""
    previous = _fixed
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC (what SQLite hands back)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def parse_moment(text: str) -> datetime:
    """Parse an ISO 8601 date or datetime given on the command line or in a form."""
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date or time, for example 2027-05-31 or 2027-05-31T09:00") from None


def add_duration(start: datetime, parsed: dict) -> datetime:
    """Add a parsed ISO 8601 duration with calendar-correct months and years."""
    return start + relativedelta(
        years=int(parsed.get("years", 0)), months=int(parsed.get("months", 0)),
        weeks=parsed.get("weeks", 0), days=parsed.get("days", 0), hours=parsed.get("hours", 0),
        minutes=parsed.get("minutes", 0), seconds=parsed.get("seconds", 0),
    )


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        moment = now()
        return moment if tz is None or tz is timezone.utc else moment.astimezone(tz)


def _timedelta_from_start(parsed_duration, start=None):
    start = start or now()
    return add_duration(start, dict(parsed_duration)) - start


def install() -> None:
    """Make SpiffWorkflow's timers read this clock and do calendar arithmetic."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockDatetime
    timer.TimerEventDefinition.get_timedelta_from_start = staticmethod(_timedelta_from_start)
    if not getattr(timer.DurationTimerEventDefinition.has_fired, "records_start", False):
        timer.DurationTimerEventDefinition.has_fired = _recording_start(timer.DurationTimerEventDefinition.has_fired)


def _recording_start(has_fired):
    """Keep the moment a duration timer started, so a migrated case can re-time it from there."""
    def wrapper(self, my_task):
        if my_task._get_internal_data("event_value") is None:
            my_task._set_internal_data(timer_started_at=now().isoformat())
        return has_fired(self, my_task)
    wrapper.records_start = True
    return wrapper


def duration_after(start: datetime, iso_duration: str) -> datetime:
    """`start` plus an ISO 8601 duration such as P6M or P14D."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    try:
        parsed = TimerEventDefinition.parse_iso_duration(iso_duration.strip().strip("'\""))
    except Exception:
        raise ValueError(f"'{iso_duration}' is not an ISO 8601 duration such as P6M or P14D") from None
    return add_duration(start, parsed)


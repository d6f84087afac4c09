"""The one clock everything reads: the engine, SpiffWorkflow's timers, the sweep.

Tests and the command line (`alertflow --now ...`) move it; in production it is the wall clock.
SpiffWorkflow's timer module calls `datetime.now(timezone.utc)` itself, so `install()` points
that module at a datetime class that asks this clock, and replaces its month arithmetic
(31 August + P6M must be 28/29 February, not 3 March) with dateutil's calendar arithmetic.

It is also the one home of two questions every face asks:
- what day a moment falls on: the organisation's day, in Europe/London (`local_day`), so a marker
  placed at 00:30 in British Summer Time is placed that day, and a step due on a day is due all
  of it and overdue from the next (`overdue_before`, `is_past`, `days_late`);
- what a duration after a moment is (`duration_after`): ISO 8601 (P6M, P14D, PT12H), or working
  days (`P10WD`), counted on the pack's business calendar (workflows/platform/business_days.py).
"""
import os
import re
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

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


ORGANISATION_TZ = ZoneInfo("Europe/London")


def local(moment: datetime) -> datetime:
    """A moment as the organisation's clocks show it (GMT or BST)."""
    return as_utc(moment).astimezone(ORGANISATION_TZ)


def local_day(moment: datetime) -> date:
    """The organisation's day a moment falls on: 00:30 BST on 1 June is 1 June, not 31 May."""
    return local(moment).date()


def start_of_day(day: date) -> datetime:
    """The first moment (UTC) of one of the organisation's days."""
    return datetime.combine(day, time(0), tzinfo=ORGANISATION_TZ).astimezone(timezone.utc)


def overdue_before(moment: datetime | None = None) -> datetime:
    """Whatever is due before this moment is overdue now: the start of today, since a thing due
    on a day is due the whole of that day (for SQL: `due_at < clock.overdue_before()`)."""
    return start_of_day(local_day(moment or now()))


def is_past(due: datetime, moment: datetime | None = None) -> bool:
    """True from the day after the day `due` falls on."""
    return local_day(due) < local_day(moment or now())


def days_late(due: datetime, moment: datetime | None = None) -> int:
    """Whole days from the day `due` falls on to today (negative: days still to go)."""
    return (local_day(moment or now()) - local_day(due)).days


# P10WD: ten working days. "WD" is not ISO 8601's; it reads as what it is, and Camunda Modeler keeps it
_WORKING_DAYS = re.compile(r"^P(\d+)WD$", re.IGNORECASE)


class NeedsCalendar(ValueError):
    """A working-day duration where no business calendar says which days are worked."""


def working_days(iso_duration: str) -> int | None:
    """The number of working days a duration such as P10WD counts, or None if it counts none."""
    match = _WORKING_DAYS.match((iso_duration or "").strip().strip("'\""))
    return int(match.group(1)) if match else None


def mentions_working_days(text: str) -> bool:
    """Whether an expression (say, 'P10WD' if urgent else 'P20WD') names a working-day duration."""
    return re.search(r"\bP\d+WD\b", text or "", re.IGNORECASE) is not None


def _after_working_days(start: datetime, count: int, calendar, iso_duration: str) -> datetime:
    if calendar is None:
        raise NeedsCalendar(
            f"'{iso_duration}' counts working days, but the pack has no business calendar to count them "
            f"on: add [calendar] to pack.toml, e.g. [calendar] nation = \"england-and-wales\" "
            f"(or \"scotland\", \"northern-ireland\")")
    at = local(start)  # the same time of day, on the working day that many working days away
    day = calendar.add_working_days(at.date(), count)
    return datetime.combine(day, at.time(), tzinfo=ORGANISATION_TZ).astimezone(timezone.utc)


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
    """Keep the moment a duration timer started, so a migrated case can re-time it from there,
    and work out when it falls due here, through duration_after, so a timer counts working days
    on the calendar the case's script engine carries (its pack's)."""
    def wrapper(self, my_task):
        if my_task._get_internal_data("event_value") is None:
            started = now()
            engine = my_task.workflow.script_engine
            duration = engine.evaluate(my_task, self.expression)
            due = duration_after(started, duration, getattr(engine, "calendar", None))
            my_task._set_internal_data(timer_started_at=started.isoformat(), event_value=due.isoformat())
        return has_fired(self, my_task)
    wrapper.records_start = True
    return wrapper


def _parsed(iso_duration: str) -> dict:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    try:
        return TimerEventDefinition.parse_iso_duration(iso_duration.strip().strip("'\""))
    except Exception:
        raise ValueError(not_a_duration(iso_duration)) from None


def duration_after(start: datetime, iso_duration: str, calendar=None) -> datetime:
    """`start` plus a duration such as P6M, P14D or P10WD. Working days are counted on
    `calendar` (the pack's: `pack.calendar`), keeping the time of day; NeedsCalendar without one."""
    iso_duration = str(iso_duration)
    count = working_days(iso_duration)
    if count is not None:
        return _after_working_days(start, count, calendar, iso_duration)
    return add_duration(start, _parsed(iso_duration))


def duration_before(end: datetime, iso_duration: str, calendar=None) -> datetime:
    """`end` less a duration: the moment that duration before it."""
    iso_duration = str(iso_duration)
    count = working_days(iso_duration)
    if count is not None:
        return _after_working_days(end, -count, calendar, iso_duration)
    return add_duration(end, {unit: -amount for unit, amount in _parsed(iso_duration).items()})


def not_a_duration(text: str) -> str:
    """Why `text` is refused as a duration, with its ISO 8601 form where what was meant is clear."""
    meant = iso_duration(text)
    if meant:
        return f"'{text}' is not an ISO 8601 duration: write {meant}"
    return (f"'{text}' is not an ISO 8601 duration such as P6M (6 months), P14D (14 days) or PT4H (4 hours), "
            f"nor working days such as P10WD")


# P1Y2M, P2W, P14D, PT4H, P1DT12H: what the lint accepts (SpiffWorkflow also reads "6m" and "p14d");
# P10WD too, working days, for a pack with a business calendar
ISO_DURATION = re.compile(r"P\d+WD|P(?=\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?|PT(?=\d)(\d+H)?(\d+M)?(\d+S)?")
_NUMBER_WORDS = {w: n for n, w in enumerate(("zero one two three four five six seven eight nine ten eleven twelve "
                                             "thirteen fourteen fifteen sixteen seventeen eighteen nineteen "
                                             "twenty").split())} | {"a": 1, "an": 1, "thirty": 30}
_DATE_UNITS = {"y": "Y", "year": "Y", "month": "M", "mth": "M", "w": "W", "week": "W", "wk": "W", "d": "D", "day": "D"}
_TIME_UNITS = {"h": "H", "hour": "H", "hr": "H", "minute": "M", "min": "M", "s": "S", "second": "S", "sec": "S"}
_PART = re.compile(r"(\d+|\b(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b)\s*(years?|months?|mths?|weeks?|wks?|days?|hours?|hrs?|minutes?|mins?|seconds?|secs?"
                   r"|[ymwdhs])(?![a-z])")


def iso_duration(text: str) -> str | None:
    """The ISO 8601 form of a duration written another way ("6 months", "two weeks", "p14d", "P1H"),
    or None when it is already one or what was meant is not clear."""
    if ISO_DURATION.fullmatch(str(text).strip().strip("'\"")):
        return None
    words = str(text).strip().strip("'\"").lower()
    compact = words[1:] if words.startswith("p") else words
    in_time = bool(re.match(r"t\d", compact))
    compact = compact[1:] if in_time else compact
    date, time, rest = {}, {}, compact
    for match in _PART.finditer(compact):
        amount, unit = match.groups()
        number = int(amount) if amount.isdigit() else _NUMBER_WORDS.get(amount)
        unit = unit if len(unit) == 1 else unit.rstrip("s")
        if number is None:
            return None
        if unit == "m":  # bare m: minutes after a T or an hour, else months
            unit = "min" if in_time or time else "month"
        if unit in _DATE_UNITS and not in_time:
            date[_DATE_UNITS[unit]] = date.get(_DATE_UNITS[unit], 0) + number
        elif unit in _TIME_UNITS:
            time[_TIME_UNITS[unit]] = time.get(_TIME_UNITS[unit], 0) + number
        else:
            return None
        rest = rest.replace(match.group(0), "", 1)
    if re.sub(r"[\s,]|\band\b", "", rest) or not (date or time):
        return None
    if "W" in date and len(date) > 1:  # weeks mix with nothing else in ISO 8601: count them as days
        date["D"] = date.get("D", 0) + 7 * date.pop("W")
    meant = "P" + "".join(f"{date[u]}{u}" for u in "YMWD" if u in date)
    if time:
        meant += "T" + "".join(f"{time[u]}{u}" for u in "HMS" if u in time)
    return meant


"""The one home for how a value reads to a person: dates ("1 June 2027") and times ("14:05") in
Europe/London, durations ("14 days"), yes/no, lists joined in words, form answers by their labels,
diagram elements by name with the id after. The web (Jinja filters), the command line, PDFs,
letters and e-mails all call these; only machine exports (CSV/JSON) keep raw codes, next to labels."""
from datetime import date, datetime

from workflows.platform import clock

LONDON = clock.ORGANISATION_TZ  # UK landlords: what the clock on the office wall says
local = clock.local  # a stored moment (UTC, or naive UTC from SQLite) on UK time


def typed_in_uk(text: str) -> str:
    """A date and time a person typed in a page (a browser's datetime-local has no zone) read as
    the time on a UK clock, as ISO with its offset; text that is not such a moment is left as it is.
    (The command line and the API take ISO as written: without an offset, UTC.)"""
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except ValueError:
        return text
    if moment.tzinfo is not None or "T" not in str(text) and " " not in str(text).strip():
        return text
    return moment.replace(tzinfo=LONDON).isoformat()


def day(value: date | datetime | str | None, *, blank: str = "—") -> str:
    """A date in words: 1 June 2027 (a moment's day as it was in the UK). ISO text (what a JSON
    export holds) reads the same; text that is not a date is left as it is."""
    if value is None or value == "":
        return blank
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value.strip() else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = local(value).date()
    return f"{value.day} {value:%B %Y}"


def time_of_day(moment: datetime | None, *, blank: str = "—") -> str:
    """A time as a UK clock shows it: 14:05."""
    return f"{local(moment):%H:%M}" if moment is not None else blank


def moment(value: datetime | None, *, blank: str = "—") -> str:
    """A moment in words: 17 March 2027 at 11:30 (UK time)."""
    return f"{day(value)} at {time_of_day(value)}" if value is not None else blank


_UNITS = (("years", "year"), ("months", "month"), ("weeks", "week"), ("days", "day"), ("hours", "hour"),
          ("minutes", "minute"), ("seconds", "second"))


def duration(iso_duration: str | None) -> str:
    """An ISO 8601 duration as people say it: P14D is "14 days", P1Y2M "1 year and 2 months",
    P10WD "10 working days"."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    if not iso_duration:
        return "no time"
    count = clock.working_days(str(iso_duration))
    if count is not None:
        return f"{count} working day{'' if count == 1 else 's'}"
    try:
        parsed = TimerEventDefinition.parse_iso_duration(str(iso_duration).strip().strip("'\""))
    except Exception:
        return str(iso_duration)
    parts = []
    for key, unit in _UNITS:
        amount = parsed.get(key) or 0
        if amount:
            amount = int(amount) if float(amount).is_integer() else amount
            parts.append(f"{amount} {unit}{'' if amount == 1 else 's'}")
    return and_list(parts) or "no time"


def and_list(items, *, conjunction: str = "and") -> str:
    """Items joined as a sentence joins them: "a, b and c"."""
    items = [str(i) for i in items if i not in (None, "")]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def due(due_at: datetime | None, *, moment: datetime | None = None, blank: str = "no due date") -> str:
    """How far off a due date is, in the organisation's days: "due today", "due tomorrow",
    "due in 2 days", "1 day overdue", "3 days overdue" (a thing due on a day is due all of it)."""
    if due_at is None:
        return blank
    late = clock.days_late(due_at, moment)
    if late == 0:
        return "due today"
    if late == -1:
        return "due tomorrow"
    if late < 0:
        return f"due in {-late} days"
    return f"{late} day{'' if late == 1 else 's'} overdue"


def page_range(first: int, last: int, total: int) -> str:
    """Where a page sits in a list: "1–50 of 312" ("none" when the list is empty)."""
    if total == 0 or first == 0:
        return "none"
    return f"{first:,}–{last:,} of {total:,}"


def yes_no(value) -> str:
    return "Yes" if value else "No"


def element(name: str | None, element_id: str) -> str:
    """A diagram element as a process owner knows it: its name, the id after ('Six months' (due_def))."""
    return f"'{name}' ({element_id})" if name and name != element_id else f"'{element_id}'"


def labelled(mapping: dict, key) -> str:
    """A code shown by the label the pack gives it (a role, a level, a category), else the code.
    `mapping` maps codes to objects with a `name` or `label`, or to strings."""
    if key is None or key == "":
        return ""
    found = mapping.get(key) if mapping else None
    if found is None:
        return str(key)
    if isinstance(found, str):
        return found
    return getattr(found, "label", None) or getattr(found, "name", None) or str(key)


def value(v, *, options: dict | None = None, field_type: str | None = None) -> str:
    """One answer as a person reads it: an option's label, Yes/No, a list joined in words,
    a date or moment in words. `options` maps option ids to their labels."""
    if v is None or v == "" or v == []:
        return "—"
    if isinstance(v, bool) or field_type == "boolean":
        return yes_no(v)
    if isinstance(v, (list, tuple)):
        return and_list(value(i, options=options, field_type=None if field_type == "boolean" else field_type)
                        for i in v)
    if isinstance(v, datetime):
        return moment(v)
    if isinstance(v, date):
        return day(v)
    if options and str(v) in options:
        return options[str(v)]
    if field_type in ("date", "datetime") and isinstance(v, str):
        return _iso_text(v, with_time=field_type == "datetime")
    return str(v)


def _iso_text(text: str, *, with_time: bool) -> str:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if with_time and ("T" in text or " " in text):
        return moment(parsed)
    return day(parsed.date() if not with_time or parsed.tzinfo is None else parsed)


def answers(form_fields, data: dict) -> list[tuple[str, str]]:
    """A step's recorded answers as (question, answer) in words, in the form's order; answers to
    fields the form no longer has keep their name, underscores as spaces."""
    rows, seen = [], set()
    for f in form_fields:
        seen.add(f.id)
        v = data.get(f.id)
        if v in (None, "", []):
            continue
        rows.append((f.label or f.id, value(v, options=dict(f.options), field_type=f.type)))
    for k, v in data.items():
        if k not in seen and v not in (None, "", []):
            rows.append((k.replace("_", " ").capitalize(), value(v)))
    return rows

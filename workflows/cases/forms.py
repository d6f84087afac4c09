"""Validation of user-task forms described by BPMN `camunda:formData`.

Field types: string, long, boolean, date, datetime, enum. Camunda constraints: required, minlength,
maxlength, min, max. Our field properties (also ordinary Camunda properties):
  multiple      = true        an enum that takes several values (control measures, say)
  requiredWhen  = <expression> required when the expression holds, e.g. "inform_tenant == False"
  userWithRole  = <role key>   the value is the username of an active user holding that role,
                               and not one the step it assigns (its assigneeField) excludes
  validWhen     = <expression> an answer given must make the expression hold with the other answers,
                               e.g. "level < current_level" for a lowered level; else it is refused
                               with invalidMessage (the reason in the user's words): a cross-field rule
  min, max      (a date field; a property or a constraint) the earliest and latest date it takes:
                a date (2026-01-01), today, another date field or case-data date (placed_on), each
                with an optional calendar duration after or before it ("today + P36M", "placed_on - P1D")
"""
import re
import json
from functools import lru_cache
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.platform import clock, text, wording
from workflows.definitions import expressions
from workflows.cases import conditions
from workflows.cases.assignment import excluded_people, exclusion_rule
from workflows.platform.errors import FormInvalid
from workflows.platform.models import User, UserRole

TYPES = ("string", "long", "boolean", "date", "datetime", "enum")
PROPERTIES = ("multiple", "requiredWhen", "userWithRole", "validWhen", "invalidMessage", "min", "max")
_TRUE, _FALSE = {"true", "yes", "y", "1", "on"}, {"false", "no", "n", "0", "off", ""}


@dataclass(frozen=True)
class Field:
    """A form field as the inbox and the command line present it."""
    id: str
    label: str
    type: str
    required: bool
    required_when: str | None
    multiple: bool
    options: tuple[tuple[str, str], ...]
    default: str | None
    # requiredWhen for the person: in words from the other fields' labels (None: it cannot be said
    # generically), and as JSON the page evaluates to show the field only when it applies
    # (None: not simple, always shown); see workflows/cases/conditions.py
    required_when_words: str | None = None
    show_when: str | None = None


def fields_of(task_spec) -> list[Field]:
    """The fields of a user task, in diagram order."""
    return list(_fields_of(task_spec))


@lru_cache(maxsize=2048)
def _fields_of(task_spec) -> tuple[Field, ...]:
    """Worked out once per task of a parsed diagram (its specs are cached, never changed): every step's
    validation asks, and parsing each field's requiredWhen is most of the work."""
    form = getattr(task_spec, "form", None)
    result = []
    for f in (form.fields if form else []):
        result.append(Field(
            id=f.id, label=f.label or f.id, type=f.type,
            required=_has_constraint(f, "required"),
            required_when=f.get_property("requiredWhen"),
            multiple=(f.get_property("multiple") or "").lower() == "true",
            options=tuple((o.id, o.name) for o in getattr(f, "options", [])),
            default=f.default_value,
        ))
    by_id = {f.id: f for f in result}
    for i, f in enumerate(result):
        condition = conditions.parsed(f.required_when, by_id)
        if condition is not None:
            result[i] = replace(f, required_when_words=conditions.in_words(condition, by_id),
                                show_when=json.dumps(condition))
    return tuple(result)


def validate(db: Session, task_spec, submitted: dict, data: dict) -> dict:
    """Check submitted values against the task's form; return typed values or raise FormInvalid."""
    form = getattr(task_spec, "form", None)
    fields = {f.id: f for f in (form.fields if form else [])}
    errors, values = {}, {}
    for name in submitted:
        if name not in fields:
            errors[name] = f"this step has no field '{name}' (fields: {', '.join(fields) or 'none'})"
    for field in fields.values():
        try:
            raw = _clean(field, submitted.get(field.id))
        except FormInvalid as err:
            values[field.id] = None  # keeps the name defined for other fields' requiredWhen
            errors.update(err.errors)
            continue
        if _blank(raw):
            values[field.id] = False if field.type == "boolean" and raw is not None else None
            continue
        try:
            values[field.id] = _coerce(db, field, raw)
        except ValueError as err:
            values[field.id] = None  # keeps the name defined for other fields' requiredWhen
            errors[field.id] = str(err)
    merged = {**data, **values}
    words = {f.id: f.required_when_words for f in fields_of(task_spec)}  # why a follow-up is needed
    for field in fields.values():
        if field.get_property("userWithRole") and values.get(field.id) and field.id not in errors:
            problem = _excluded_assignee(task_spec, field.id, values[field.id], merged)
            if problem:
                errors[field.id] = problem
    for field in fields.values():
        if field.id in errors or not _blank(values.get(field.id)) or values.get(field.id) is False:
            continue
        if _is_required(field, merged):
            errors[field.id] = required_message(field, because=words.get(field.id))
    for field in fields.values():  # a date outside its bounds (min, max) is refused, saying the bound
        if field.type == "date" and field.id not in errors and not _blank(values.get(field.id)):
            problem = _date_out_of_bounds(field, values[field.id], merged, {f.id: f.label or f.id for f in fields.values()})
            if problem:
                errors[field.id] = problem
    for field in fields.values():  # validWhen: an answer that contradicts the others is refused
        condition = field.get_property("validWhen")
        if not condition or field.id in errors or _blank(values.get(field.id)):
            continue
        try:
            fits = bool(expressions.evaluate(condition, merged))
        except expressions.ExpressionError:  # e.g. a level compared with none: it cannot be shown to fit
            fits = False
        if not fits:
            reason = field.get_property("invalidMessage") or f"it does not fit the other answers ({condition})"
            errors[field.id] = f"{field.label or field.id}: {reason}"
    if errors:
        raise FormInvalid(errors)
    return values


# a date field's bound: a date, today or a date-valued name, and a calendar duration after or before it
_BOUND = re.compile(r"^\s*(?P<base>today|\d{4}-\d{2}-\d{2}|[A-Za-z_][A-Za-z0-9_]*)\s*"
                    r"(?:(?P<sign>[+-])\s*(?P<duration>P[0-9A-Za-z]+))?\s*$")


def date_bounds(field) -> dict[str, str]:
    """A date field's `min` and `max`, written as a property or as a constraint."""
    bounds = {}
    for which in ("min", "max"):
        text = field.get_property(which) or field.get_validation(which)
        if text:
            bounds[which] = str(text)
    return bounds


def bound_problem(text: str, known_names) -> str | None:
    """Why a date field's bound cannot be worked out (the deploy check asks), or None if it can."""
    found = _BOUND.match(text or "")
    if not found:
        return (f"'{text}' is not a date bound: write a date (2026-01-01), today, or a date field, each with an "
                f"optional duration after or before it (today + P36M, placed_on - P1D)")
    base, duration = found["base"], found["duration"]
    if base != "today" and not base[0].isdigit() and base not in known_names:
        return f"'{text}' reads {base}, which no form field or case variable provides"
    if base[0].isdigit():
        try:
            date.fromisoformat(base)
        except ValueError:
            return f"'{text}': {base} is not a date (YYYY-MM-DD)"
    if duration:
        if clock.working_days(duration) is not None:
            return f"'{text}': a date bound counts calendar time, not working days ({duration})"
        try:
            clock.duration_after(clock.now(), duration)
        except ValueError as err:
            return f"'{text}': {err}"
    return None


def _bound_day(text: str, data: dict, labels: dict) -> tuple[date, str] | None:
    """The day a bound names, and how to say where it comes from; None if it rests on a blank answer."""
    found = _BOUND.match(text)
    base, sign, duration = found["base"], found["sign"], found["duration"]
    if base == "today":
        day, source = clock.local_day(clock.now()), "today"
    elif base[0].isdigit():
        day, source = date.fromisoformat(base), None
    else:
        value = data.get(base)
        if _blank(value):
            return None
        day = date.fromisoformat(str(value)[:10])
        source = f"'{labels[base]}'" if base in labels else base.replace("_", " ")
    if duration:  # the one date arithmetic expressions use (date_after, date_before)
        moved = expressions.FUNCTIONS["date_after" if sign == "+" else "date_before"](day, duration)
        source = f"{wording.duration(duration)} {'after' if sign == '+' else 'before'} {source}" if source else None
        day = date.fromisoformat(moved)
    return day, source


def _date_out_of_bounds(field, value: str, data: dict, labels: dict) -> str | None:
    given = date.fromisoformat(value)
    for which, written in date_bounds(field).items():
        found = _bound_day(written, data, labels)
        if found is None:
            continue
        bound, source = found
        if (which == "min" and given < bound) or (which == "max" and given > bound):
            said = "today" if source == "today" else wording.day(bound)
            why = f" ({source})" if source and source != "today" else (f" ({wording.day(bound)})" if source else "")
            return (f"{field.label or field.id}: {wording.day(given)} is too "
                    f"{'early' if which == 'min' else 'late'}: give {said}{why} or "
                    f"{'a later' if which == 'min' else 'an earlier'} date")
    return None


def option_labels(task_spec, values: dict) -> dict:
    """Display names of chosen enum options: `<field>_labels` (a list) for each enum field."""
    form = getattr(task_spec, "form", None)
    labels = {}
    for field in (form.fields if form else []):
        chosen = values.get(field.id)
        if field.type != "enum" or chosen is None:
            continue
        names = {o.id: o.name for o in field.options}
        labels[f"{field.id}_labels"] = [names.get(v, v) for v in (chosen if isinstance(chosen, list) else [chosen])]
    return labels


def _excluded_assignee(task_spec, field_id, username, data) -> str | None:
    """Refuse, at the form, naming someone as the assignee of a later step they may not do
    (a manager naming themself line manager for their own incident), not when that step is reached."""
    specs = getattr(getattr(task_spec, "_wf_spec", None), "task_specs", {}) or {}
    for spec in specs.values():
        ext = getattr(spec, "extensions", None) or {}
        if ext.get("assigneeField") != field_id:
            continue
        reason = excluded_people(ext, data).get(username)
        if reason:
            return (f"{username} cannot be named here, because '{spec.bpmn_name or spec.bpmn_id}' goes to "
                    f"the person named: {exclusion_rule(reason, username)}; name someone else")
    return None


def _clean(field, raw):
    """Every typed answer, whatever its type, meets the one rule for text (workflows/platform/text.py)."""
    if isinstance(raw, str):
        return text.clean_text(raw, field=field.id, max_length=text.LONG_TEXT, label=field.label or field.id)
    if isinstance(raw, (list, tuple)):
        return [_clean(field, item) for item in raw]
    return raw


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _has_constraint(field, name) -> bool:
    return any(v.name == name and v.config != "false" for v in field.validation)


def required_message(field, *, because: str | None = None) -> str:
    """What a manager is told when an answer is missing, in the words of the question, and for a
    follow-up why it is needed ("... is needed because you answered Yes to 'Support sought?'")."""
    label = f"'{field.label or field.id}'"
    multiple = (field.get_property("multiple") or "").lower() == "true"
    return {
        "boolean": f"Answer Yes or No to {label}",
        "enum": f"Tick at least one answer to {label}" if multiple else f"Choose an answer to {label}",
        "date": f"Give the date for {label}",
        "datetime": f"Give the date and time for {label}",
        "long": f"Give a whole number for {label}",
    }.get(field.type, f"Fill in {label}") + (f": it is needed because {because}" if because else "")


def _is_required(field, data) -> bool:
    if _has_constraint(field, "required"):
        return True
    condition = field.get_property("requiredWhen")
    return bool(condition) and bool(expressions.evaluate(condition, data))


def _coerce(db, field, raw):
    kind = field.type
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"'{raw}' is not yes or no")
    if kind == "long":
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValueError(f"'{raw}' is not a whole number") from None
        _check_bounds(field, value)
        return value
    if kind == "date":
        try:
            return date.fromisoformat(str(raw).strip()[:10]).isoformat()
        except ValueError:
            raise ValueError(f"'{raw}' is not a date (YYYY-MM-DD)") from None
    if kind == "datetime":  # a moment, such as when a letter was delivered by hand
        try:
            moment = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError(f"'{raw}' is not a date and time (YYYY-MM-DDTHH:MM)") from None
        return clock.as_utc(moment).isoformat()
    if kind == "enum":
        allowed = {o.id: o.name for o in field.options}
        multiple = (field.get_property("multiple") or "").lower() == "true"
        chosen = _as_list(raw) if multiple else [str(raw).strip()]
        for value in chosen:
            if value not in allowed:
                raise ValueError(f"'{value}' is not one of: {', '.join(allowed)}")
        return chosen if multiple else chosen[0]
    text = str(raw).strip()
    _check_length(field, text)
    role = field.get_property("userWithRole")
    if role:
        _check_user_with_role(db, text, role)
    return text


def _as_list(raw) -> list[str]:
    if isinstance(raw, (list, tuple)):
        return [str(v).strip() for v in raw if str(v).strip()]
    return [part.strip() for part in str(raw).split(",") if part.strip()]


def _check_bounds(field, value):
    low, high = field.get_validation("min"), field.get_validation("max")
    if low is not None and value < int(low):
        raise ValueError(f"must be at least {low}")
    if high is not None and value > int(high):
        raise ValueError(f"must be at most {high}")


def _check_length(field, text):
    low, high = field.get_validation("minlength"), field.get_validation("maxlength")
    if low is not None and len(text) < int(low):
        raise ValueError(f"must be at least {low} characters")
    if high is not None and len(text) > int(high):
        raise ValueError(f"must be at most {high} characters")


def _check_user_with_role(db, username, role):
    user = db.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise ValueError(f"there is no active user '{username}'")
    held = db.scalar(select(UserRole).where(UserRole.user_id == user.id, UserRole.role == role))
    if held is None:
        raise ValueError(f"'{username}' does not hold the role '{role}'")

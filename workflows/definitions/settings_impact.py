"""What a new pack.toml version would change for the cases running now, before it is deployed: the
same rows as a changed diagram's impact (versions.Impact: each case, whether it can go on, what
changes for it, in words), worked out from how the engine reads each setting once deployed.

A settings version takes effect for every case at once (there is nothing to migrate), so each row
says what the engine would then do:
- [notifications] remind_before and escalate_after are read at each reminder sweep: an open step
  not yet reminded (or escalated) follows the new setting;
- [pack] review_from_due_date is read when a review finishes: a late review under way would
  schedule the next one from its due date, or from the day it is done;
- [pack] appeal_within is read whenever an appeal is lodged: the time to appeal a decision already
  told to the tenant follows the new setting (the letter they hold said the old date: it is shown);
- [registers] tell_tenant_within is read by the compliance dashboard: a marker whose tenant has not
  yet been told of its decision falls late on the new day;
- a role removed can be given to no one: the open steps waiting for it can be taken only by those
  who hold it still (a person keeps the roles they held), by no one if no one does;
- a category removed leaves the live markers of it with a category the pack no longer has: a step
  issuing a letter (which names the category) is refused.
- [notifications.managers] (and a role's escalates_to, which a role with no manager climbs) is read
  when the sweep escalates an overdue step: an open step not yet escalated is e-mailed to the
  holders of the new manager role (the nearest above that a restricted record admits), or to no one;
- [pack] review_carries is read when a case schedules its next review (schedule_review): every
  running case that can still schedule one passes the new names to it, with what the case knows
  of each then (blank if nothing), and no longer passes the names removed.
What a case has already worked out stays: a review already scheduled keeps its date (its timer was
set when the period started), a step keeps its due date, a letter issued keeps its text."""
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.cases import engine
from workflows.definitions import deployment, spiff
from workflows.definitions.flow_checks import NS
from workflows.definitions.pack import Pack
from workflows.definitions.versions import Impact
from workflows.platform import clock, wording
from workflows.platform.models import OPEN_TASK, Alert, AlertStatus, Case, CaseStatus, HumanTask, Letter, User, UserRole
from workflows.register import appeals
from workflows.tasks import reminders



def impact(db: Session, *, old: Pack, new: Pack) -> list[Impact]:
    """Each running case (or open step, or marker with no case running) something would change for under
    the new settings, in case order; cases nothing changes for are left out."""
    rows: dict[tuple, Impact] = {}
    cases: dict[int, Case] = {}

    def row(alert_id: int, case: Case | None) -> Impact:
        key = (alert_id, case.id if case else None)
        if key not in rows:
            rows[key] = Impact(case.id if case else None, alert_id, case.definition.version if case else None,
                               True, "", [], process_id=case.definition.process_id if case else None)
        return rows[key]

    def refuse(target: Impact, reason: str):
        target.can_move = False
        target.reason = "; ".join(r for r in (target.reason, reason) if r)

    holders: dict[str, int] = {}  # a role removed -> how many active people still hold it
    reminders_change = (old.notifications.remind_before, old.notifications.escalate_after) != \
        (new.notifications.remind_before, new.notifications.escalate_after)
    escalations_change = _escalation_rules(old) != _escalation_rules(new)
    for task in _open_steps(db) if reminders_change or escalations_change or old.roles.keys() - new.roles.keys() else []:
        cases[task.case_id] = task.case
        target = row(task.case.alert_id, task.case)
        if task.role not in new.roles and task.role in old.roles:
            if task.role not in holders:
                holders[task.role] = _holders(db, task.role)
            gone = f"its open step '{task.title}' waits for the {old.roles[task.role].name}, a role these settings remove"
            if holders[task.role]:  # a person keeps the roles they held (the engine reads them as held)
                count = holders[task.role]
                target.changes.append(f"{gone}: only the {count} {'person' if count == 1 else 'people'} who "
                                      f"hold{'s' if count == 1 else ''} it now could take it, and no one else "
                                      f"could be given it")
            else:
                refuse(target, f"{gone}, and no one holds it: no one could take it")
        target.changes += _reminders(task, old, new)
        if escalations_change:
            target.changes += _escalation(task, old, new)
    periods: dict[int, str | None] = {}  # definition id -> the period its review schedules (read once)
    for case, due in _late_reviews(db, old, new):
        if case.definition_id not in periods:
            periods[case.definition_id] = _review_period(db, case, old)
        row(case.alert_id, case).changes.append(_next_review(due, periods[case.definition_id], old, new))
    for case, lines in _carried(db, old, new):
        cases[case.id] = case
        row(case.alert_id, case).changes.extend(lines)
    for alert, line in _appeal_windows(db, old, new):
        running = _running_cases(db, alert.id, cases) or [None]
        for case in running:
            row(alert.id, case).changes.append(line)
    for alert, line in _telling_deadlines(db, old, new):
        for case in _running_cases(db, alert.id, cases) or [None]:
            row(alert.id, case).changes.append(line)
    gone = sorted(set(old.categories) - set(new.categories))
    if gone:
        for alert in db.scalars(select(Alert).where(Alert.category.in_(gone), Alert.status.in_(
                (AlertStatus.ACTIVE, AlertStatus.UNDER_ASSESSMENT))).order_by(Alert.id)):
            category = old.categories[alert.category]
            for case in _running_cases(db, alert.id, cases) or [None]:
                refuse(row(alert.id, case), f"its marker is of the category '{category.label}' ({category.key}), "
                                            f"which these settings remove: a step issuing a letter, which names the category, "
                                            f"would be refused")
    kept = [r for r in rows.values() if r.changes or not r.can_move]
    for r in kept:
        r.changes = list(dict.fromkeys(r.changes))
    return sorted(kept, key=lambda r: (r.case_id is None, r.case_id or 0, r.alert_id))


def _open_steps(db: Session) -> list[HumanTask]:
    """Every open step, a housing system step too (its case may have finished: the step is the
    register's, given when the case changed the marker)."""
    return list(db.scalars(select(HumanTask).where(HumanTask.status.in_(OPEN_TASK)).order_by(HumanTask.id)))


def _holders(db: Session, role: str) -> int:
    return db.scalar(select(func.count()).select_from(UserRole).join(User, User.id == UserRole.user_id)
                     .where(UserRole.role == role, User.active.is_(True)))


def _running_cases(db: Session, alert_id: int, known: dict[int, Case]) -> list[Case]:
    found = list(db.scalars(select(Case).where(Case.alert_id == alert_id, Case.status == CaseStatus.RUNNING)
                            .order_by(Case.id)))
    known.update({c.id: c for c in found})
    return found


def _reminders(task: HumanTask, old: Pack, new: Pack) -> list[str]:
    """The reminder before an open step's due date and the escalation after it, as the sweep would
    send them under each version (workflows/tasks/reminders.py)."""
    if task.due_at is None:
        return []
    due, lines = clock.as_utc(task.due_at), []
    step = f"its open step '{task.title}' (due {wording.day(due)})"
    was, now = old.notifications.remind_before, new.notifications.remind_before
    if task.reminded_at is None and was != now:
        before = clock.duration_before(due, was, old.calendar) if was else None
        after = clock.duration_before(due, now, new.calendar) if now else None
        if before != after:
            lines.append(f"{step}: its reminder {_moves(before, after, 'no reminder')}")
    was, now = old.notifications.escalate_after, new.notifications.escalate_after
    if task.escalated_at is None and was != now and (old.notifications.managers or new.notifications.managers):
        before = clock.duration_after(due, was, old.calendar)
        after = clock.duration_after(due, now, new.calendar)
        if before != after:
            lines.append(f"{step}: its escalation to the manager {_moves(before, after)}")
    return lines


def _escalation_rules(pack: Pack) -> tuple:
    """What decides where an overdue step's escalation goes: whether any is sent, the managers, and
    each role's escalates_to (climbed by a role with no manager)."""
    return (reminders.sends_escalations(pack), dict(pack.notifications.managers),
            {key: role.escalates_to for key, role in pack.roles.items()})


def _escalation(task: HumanTask, old: Pack, new: Pack) -> list[str]:
    """Who an open step not yet escalated would be escalated to once overdue, under each version,
    as the sweep picks the manager (reminders.escalation_role: a restricted record's nearest
    manager it admits)."""
    if task.due_at is None or task.escalated_at is not None:
        return []
    restriction = task.case.alert.restriction
    before = reminders.escalation_role(old, task.role, restriction)
    after = reminders.escalation_role(new, task.role, restriction)
    if before == after:
        return []
    due = clock.as_utc(task.due_at)
    when = clock.duration_after(due, new.notifications.escalate_after, new.calendar)
    step = f"its open step '{task.title}' (due {wording.day(due)})"
    on = "(already overdue: at the next sweep)" if when <= clock.now() else f"(from {wording.day(when)})"

    def manager(pack, role):
        return f"the {wording.labelled(pack.roles, role)}"

    if after is None:
        why = "these settings send no escalations" if not reminders.sends_escalations(new) else \
            f"no manager above the {wording.labelled(new.roles, task.role)} " + \
            ("may know of its restricted record" if restriction else "is set")
        return [f"{step}: its escalation once overdue would be e-mailed to no one ({why}), "
                f"not to {manager(old, before)}"]
    if before is None:
        return [f"{step}: its escalation once overdue {on} would be e-mailed to {manager(new, after)} "
                f"(no one before)"]
    return [f"{step}: its escalation once overdue {on} would be e-mailed to {manager(new, after)} "
            f"instead of {manager(old, before)}"]


def _carried(db: Session, old: Pack, new: Pack) -> list[tuple[Case, list[str]]]:
    """When [pack] review_carries changes, each running case that can still schedule a review (its
    diagram has a schedule_review step it has not done): what the review it schedules would start
    with, or no longer (actions.schedule_review passes each name with the case's value then, blank
    if it has none). Each such case's workflow is restored to read what it knows."""
    added = [n for n in new.review_carries if n not in old.review_carries]
    removed = [n for n in old.review_carries if n not in new.review_carries]
    if not added and not removed:
        return []
    found, fields = [], {}
    schedules: dict[int, set[str]] = {}  # definition id -> the ids of its schedule_review steps
    for case in db.scalars(select(Case).where(Case.status == CaseStatus.RUNNING).order_by(Case.id)):
        if case.definition_id not in schedules:
            schedules[case.definition_id] = {t.get("id") for t in spiff.safe_xml(case.definition.bpmn_xml).iter()
                                             if t.get(f"{{{NS['camunda']}}}topic") == "schedule_review"}
        if not schedules[case.definition_id]:
            continue
        data, done = engine.case_data(case)
        if schedules[case.definition_id] <= done:
            continue  # it has scheduled its review already (under the settings of that day)
        lines = []
        for name in added + removed:
            if name not in fields:
                fields[name] = deployment.form_field(db, pack=new.key, field_id=name)
            field = fields[name]
            what = f"'{field.label}' ({name})" if field is not None and field.label else name
            known = data.get(name) not in (None, "", [])
            value = wording.value(data.get(name), field_type=field.type if field is not None else None)
            if name in added:
                lines.append(f"the review it schedules would start knowing {what}: "
                             + (f"{value}, as this case has it now" if known else
                                "blank, unless a step of this case still to come answers it"))
            else:
                lines.append(f"the review it schedules would no longer know {what}"
                             + (f" (this case has {value})" if known else ""))
        found.append((case, lines))
    return found


def _moves(before: datetime | None, after: datetime | None, none: str = "none") -> str:
    """'moves from 8 July 2026 to 5 July 2026', with what happens to a date already past."""
    def said(moment):
        if moment is None:
            return none
        return wording.day(moment)
    late = " (already past: it would be sent at the next sweep)" if after is not None and after <= clock.now() \
        and (before is None or before > clock.now()) else ""
    if after is None:
        return f"on {said(before)} would not be sent"
    if before is None:
        return f"would be sent on {said(after)}{late}"
    return f"moves from {said(before)} to {said(after)}{late}"


def _late_reviews(db: Session, old: Pack, new: Pack) -> list[tuple[Case, datetime]]:
    """Review cases running past their marker's review date (under way, or about to open at the next
    timer sweep), when review_from_due_date changes: the day the next review counts from depends on it."""
    if old.review_from_due_date == new.review_from_due_date:
        return []
    found = db.execute(select(Case, Alert.next_review_at).join(Alert, Case.alert_id == Alert.id).where(
        Case.kind == "review", Case.status == CaseStatus.RUNNING,
        Alert.next_review_at.is_not(None), Alert.next_review_at < clock.now()).order_by(Case.id))
    return [(case, clock.as_utc(due)) for case, due in found]


def _next_review(due: datetime, period: str | None, old: Pack, new: Pack) -> str:
    """'its next review, once this late review is done, moves from 10 January 2027 to 1 February
    2027 (were it done today)': schedule_review counts the next period from the late review's due
    date when review_from_due_date is true, from the day it is done otherwise (actions.py)."""
    today = clock.now()

    def next_from(pack):
        start = due if pack.review_from_due_date else today
        return clock.duration_after(start, period, pack.calendar) if period else start

    if period is None:
        return (f"its next review, once this late review is done, counts from "
                f"{'the day it is done' if not new.review_from_due_date else 'its due date, ' + wording.day(due)} "
                f"instead of {'its due date, ' + wording.day(due) if old.review_from_due_date else 'the day it is done'}")
    return (f"its next review, once this late review (due {wording.day(due)}) is done, moves from "
            f"{wording.day(next_from(old))} to {wording.day(next_from(new))} (were it done today, "
            f"{wording.day(today)})")


def _review_period(db: Session, case: Case, pack: Pack) -> str | None:
    """The period of the review a review case schedules when it is done: the first timer of the
    newest version of the process its schedule_review step names (None: not a plain duration)."""
    root = spiff.safe_xml(case.definition.bpmn_xml)
    for task in root.iter():
        if task.get(f"{{{NS['camunda']}}}topic") != "schedule_review":
            continue
        for prop in task.iterfind(".//camunda:property", NS):
            if prop.get("name") == "process" and prop.get("value"):
                scheduled = deployment.latest(db, pack=pack.key, process_id=prop.get("value"))
                if scheduled is None:
                    return None
                timer = spiff.safe_xml(scheduled.bpmn_xml).find(".//bpmn:timerEventDefinition/bpmn:timeDuration", NS)
                text = (timer.text or "").strip().strip("'\"") if timer is not None else ""
                return text if clock.ISO_DURATION.fullmatch(text) else None
    return None


def _appeal_windows(db: Session, old: Pack, new: Pack) -> list[tuple[Alert, str]]:
    """Each decision told to the tenant whose time to appeal is still open under either version,
    when appeal_within changes: the engine applies the new one when an appeal is lodged."""
    if old.appeal_within == new.appeal_within:
        return []
    delivered = select(Letter.alert_id).join(Alert, Letter.alert_id == Alert.id).where(
        Letter.decision_no == Alert.decision_no, Letter.delivered_at.is_not(None))
    # each alert once (by id: PostgreSQL compares no JSON column for a DISTINCT over the alert's)
    told = db.scalars(select(Alert).where(Alert.id.in_(delivered), Alert.status.in_(
        (AlertStatus.ACTIVE, AlertStatus.REMOVED))).order_by(Alert.id))
    found = []
    for alert in told:
        letter = appeals.telling_letter(db, pack=old, alert=alert)
        if letter is None or letter.delivered_at is None:
            continue
        before, after = appeals.closes_after(old, letter.delivered_at), appeals.closes_after(new, letter.delivered_at)
        if before == after or not any(m is None or not clock.is_past(m) for m in (before, after)):
            continue  # the same, or closed under both
        said = f"(the letter delivered on {wording.day(letter.delivered_at)} " + \
            (f"said by {wording.day(before)})" if before else "gave no date)")
        if after is None:
            line = f"the time to appeal decision {alert.decision_no} no longer closes on {wording.day(before)}: " \
                   f"these settings set no limit {said}"
        elif before is None:
            line = f"the time to appeal decision {alert.decision_no} would close on {wording.day(after)} {said}"
        else:
            past = " (already past: an appeal lodged now would be late)" if clock.is_past(after) else ""
            line = f"the time to appeal decision {alert.decision_no} moves from {wording.day(before)} to " \
                   f"{wording.day(after)}{past} {said}"
        found.append((alert, line))
    return found


def _telling_deadlines(db: Session, old: Pack, new: Pack) -> list[tuple[Alert, str]]:
    """Each live marker whose tenant has not yet been told of its latest decision, when
    [registers] tell_tenant_within changes: the compliance dashboard reads the new time
    (oversight.tenants_not_told), so the day the telling falls late moves."""
    was, now = old.registers.tell_tenant_within, new.registers.tell_tenant_within
    if was == now:
        return []
    found = []
    for alert in db.scalars(select(Alert).where(
            Alert.status == AlertStatus.ACTIVE, Alert.tenant_told.is_(None), Alert.decision_case_id.is_not(None),
            Alert.decided_at.is_not(None)).order_by(Alert.id)):
        decided = clock.as_utc(alert.decided_at)
        before = clock.duration_after(decided, was, old.calendar) if was else None
        after = clock.duration_after(decided, now, new.calendar) if now else None
        what = f"the tenant is to be told of decision {alert.decision_no} (made {wording.day(decided)})"
        if after is None:
            found.append((alert, f"{what} by {wording.day(before)}: these settings set no time, so it is never late"))
        elif before is None:
            found.append((alert, f"{what} by {wording.day(after)}, a time these settings set"))
        elif before != after:
            late = " (already past: the compliance dashboard would list it as late)" if clock.is_past(after) else ""
            found.append((alert, f"{what}: by {wording.day(before)} moves to by {wording.day(after)}{late}"))
    return found

"""Reminders before a step's due date, escalations after it, and (for those who ask) a new step's
arrival, by e-mail.

Policy is in the pack ([notifications] in pack.toml: how long before the due date to remind,
how long after it to escalate, which role manages which); due dates come from each user
task's `dueIn` in the BPMN. Each task is claimed with a conditional UPDATE (`reminded_at IS
NULL`) in its own transaction, so two workers running this at once send each message once,
and a failed send rolls back and is tried again on the next round.
"""
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, config, db as database, mail, wording
from workflows import permissions
from workflows.cases.assignment import roles_acting_for
from workflows.platform.models import HumanTask, HumanTaskExclusion, OPEN_TASK, User, UserRole
from workflows.definitions.pack import Pack

log = logging.getLogger(__name__)


ANNOUNCE_WITHIN = timedelta(days=1)  # a step older than this when first seen is not announced (mail was off)


def send_due(pack: Pack) -> dict:
    """One round: every reminder, escalation and new step's announcement due, each in its own transaction."""
    notes = pack.notifications
    if not mail.configured():
        return {"reminders": 0, "escalations": 0, "announcements": 0}
    announced = announce_new(pack)
    if not sends_escalations(pack):  # nor reminders: remind_before is unset
        return {"reminders": 0, "escalations": 0, "announcements": announced}
    now = clock.now()
    with database.transaction() as db:
        to_remind = _due(db, HumanTask.reminded_at, clock.duration_after(now, notes.remind_before, pack.calendar), before=True) \
            if notes.remind_before else []
        to_escalate = _due(db, HumanTask.escalated_at, clock.duration_before(now, notes.escalate_after, pack.calendar), before=False)
    reminded = sum(_one(pack, task_id, "reminder") for task_id in to_remind)
    escalated = sum(_one(pack, task_id, "escalation") for task_id in to_escalate)
    return {"reminders": reminded, "escalations": escalated, "announcements": announced}


def announce_new(pack: Pack) -> int:
    """E-mail each new step's arrival to those it waits on who asked for it (User.announce_new_steps)."""
    now = clock.now()
    with database.transaction() as db:
        # steps closed before anyone was told, or older than a day when first seen, go unannounced
        db.execute(update(HumanTask).where(HumanTask.announced_at.is_(None)).where(
            HumanTask.status.not_in(OPEN_TASK) | (HumanTask.created_at < now - ANNOUNCE_WITHIN)).values(announced_at=now))
        new = list(db.scalars(select(HumanTask.id).where(HumanTask.announced_at.is_(None)).order_by(HumanTask.id)))
    return sum(_one(pack, task_id, "announcement") for task_id in new)


def _due(db: Session, column, limit: datetime, before: bool) -> list[int]:
    """Open tasks not yet sent this kind of message whose due date is on or before `limit`."""
    return list(db.scalars(select(HumanTask.id).where(
        HumanTask.status.in_(OPEN_TASK), HumanTask.due_at.is_not(None), HumanTask.due_at <= limit,
        column.is_(None)).order_by(HumanTask.due_at)))


def _one(pack: Pack, task_id: int, kind: str) -> bool:
    try:
        with database.transaction() as db:
            return send_one(db, pack=pack, task_id=task_id, kind=kind)
    except Exception as err:  # the SMTP server down, say: nothing recorded, tried again next round
        log.error("%s for task %s not sent: %r", kind, task_id, err)
        return False


def send_one(db: Session, *, pack: Pack, task_id: int, kind: str) -> bool:
    """Claim, address and send one reminder or escalation; False if already sent or no longer open."""
    column = {"reminder": HumanTask.reminded_at, "escalation": HumanTask.escalated_at,
              "announcement": HumanTask.announced_at}[kind]
    now = clock.now()
    claimed = db.execute(update(HumanTask).where(HumanTask.id == task_id, HumanTask.status.in_(OPEN_TASK),
                                                 column.is_(None)).values({column: now}))
    if claimed.rowcount != 1:
        return False
    task = db.get(HumanTask, task_id)
    restriction = task.case.alert.restriction
    manager_role = None
    if kind == "escalation":
        manager_role = _manager_who_may_know(pack, task.role, restriction)
        people = _members(db, pack, manager_role) if manager_role else []
    else:
        people = [task.assignee] if task.assignee else _members(db, pack, task.role)
    # nobody hears of a step they may not take or see (the person an incident is about, say)
    people = _who_may_know(db, pack, restriction, _not_excluded(db, task, people))
    if kind == "announcement":
        people = _asked_for_announcements(db, people)
    addresses = _addresses(db, people)
    if addresses:
        subject, body = _message(pack, task, kind)
        mail.send(to=addresses, subject=subject, body=body)
    if kind == "announcement":
        if addresses:
            audit.record(db, actor="system", action="step_announced", case_id=task.case_id,
                         alert_id=task.case.alert_id, task_id=task.id, to=sorted(people))
        return bool(addresses)
    audit.record(db, actor="system", action=f"{kind}_sent" if addresses else f"{kind}_undeliverable",
                 case_id=task.case_id, alert_id=task.case.alert_id, task_id=task.id, due_at=task.due_at,
                 to=sorted(people), role=manager_role or task.role)
    return bool(addresses)


def sends_escalations(pack: Pack) -> bool:
    """Whether the sweep escalates overdue steps at all: only when [notifications] sets
    remind_before or managers (with neither, it sends no reminder and no escalation)."""
    return pack.notifications.remind_before is not None or bool(pack.notifications.managers)


def escalation_role(pack: Pack, role: str, restriction: str | None) -> str | None:
    """The role an overdue step of this role is escalated to under these settings (None: none is
    sent, or no manager above may know of the record): the one send_one e-mails."""
    return _manager_who_may_know(pack, role, restriction) if sends_escalations(pack) else None


def _manager_who_may_know(pack: Pack, role: str, restriction: str | None) -> str | None:
    """The role that hears of this role's overdue steps: its manager, or, on a restricted record,
    the nearest manager above that the restriction admits (an e-mail never names a restricted
    record to someone outside its list)."""
    seen = set()
    while role and role not in seen:
        seen.add(role)
        role = pack.notifications.managers.get(role) or getattr(pack.roles.get(role), "escalates_to", None)
        if role and pack.may_see(restriction, {role}):
            return role
    return None


def _who_may_know(db: Session, pack: Pack, restriction: str | None, usernames: list[str]) -> list[str]:
    if restriction is None or not usernames:
        return usernames
    roles: dict[str, set] = {u: set() for u in usernames}
    for username, role in db.execute(select(User.username, UserRole.role).join(UserRole)
                                     .where(User.username.in_(usernames))):
        roles[username].add(role)
    return permissions.email_recipients(pack, restriction, {u: frozenset(r) for u, r in roles.items()})


def _not_excluded(db: Session, task: HumanTask, usernames: list[str]) -> list[str]:
    excluded = set(db.scalars(select(HumanTaskExclusion.username).where(HumanTaskExclusion.task_id == task.id)))
    return [u for u in usernames if u not in excluded]


def _asked_for_announcements(db: Session, usernames: list[str]) -> list[str]:
    if not usernames:
        return []
    return list(db.scalars(select(User.username).where(User.username.in_(usernames),
                                                       User.announce_new_steps.is_(True)).order_by(User.username)))


def _members(db: Session, pack: Pack, role: str) -> list[str]:
    """Who is told about a role's step: its holders, and its deputies while they are all away."""
    roles = roles_acting_for(db, pack, role)
    return list(db.scalars(select(User.username).join(UserRole).where(UserRole.role.in_(roles), User.active.is_(True))
                           .distinct().order_by(User.username)))


def _addresses(db: Session, usernames: list[str]) -> list[str]:
    if not usernames:
        return []
    return list(db.scalars(select(User.email).where(User.username.in_(usernames), User.active.is_(True),
                                                    User.email.is_not(None), User.email != "").order_by(User.email)))


def _message(pack: Pack, task: HumanTask, kind: str) -> tuple[str, str]:
    """What the e-mail says: the step, its number and due date; never the reasons or the customer."""
    due = wording.moment(task.due_at)  # "12 March 2026 at 10:00", UK time
    role = wording.labelled(pack.roles, task.role)
    who = f"assigned to {task.assignee}" if task.assignee else f"for the {role} role"
    if kind == "announcement":
        link = f"{config.base_url()}/tasks/{task.id}" if config.base_url() else "your inbox in Alertflow"
        return (f"New step for you: '{task.title}' (task {task.id}), due on {due}",
                f"Task {task.id}, '{task.title}' on alert {task.case.alert_id}, {who}, has arrived in your "
                f"inbox. It is due on {due}.\n\nOpen it: {link}\n\nYou asked to be e-mailed when a step "
                f"arrives; you can stop these under Your settings in Alertflow.\n")
    if kind == "reminder":
        return (f"Reminder: '{task.title}' (task {task.id}) is due on {due}",
                f"Task {task.id}, '{task.title}' on alert {task.case.alert_id}, {who}, is due on {due}.\n\n"
                f"Open it in Alertflow: alertflow task show {task.id}\n")
    return (f"Overdue: '{task.title}' (task {task.id}) was due on {due}",
            f"Task {task.id}, '{task.title}' on alert {task.case.alert_id}, {who}, was due on {due} "
            f"and is not done.\n\nAs the manager of the {role} role, please see that it is done or reassign it.\n")

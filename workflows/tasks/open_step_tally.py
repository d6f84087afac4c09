"""How many open human steps there are, by role, person and due day (a step with no due date on
NO_DUE_DAY, after every real day), kept as the steps change (OpenStepChange): the compliance
dashboard's overdue counts are sums over the days before today, and every page's header counts a
role's unclaimed steps as a sum over its days, so a request reads a few hundred sums instead of
counting every open or overdue step.

Each flush that opens, closes, claims, gives back or hands on a step (whatever path: the engine's
step, a housing system obligation, a claim, a cancelled case) adds its changes to the keys the
steps left and came to, as inserted rows only: two steps committing at once never wait on one
row. `compact`, in the background round, sums each key's rows into one. The sums are right
whether or not it has run; it only keeps them few."""
from datetime import date

from sqlalchemy import Date, bindparam, delete, event, func, inspect, select

from workflows.platform import clock
from workflows.platform.models import OPEN_TASK, HumanTask, OpenStepChange, TaskStatus

NOBODY = ""  # the assignee of a step nobody has claimed yet (a key cannot hold NULL)
NO_DUE_DAY = date(9999, 12, 31)  # the day a step with no due date counts under: never before today


def key(role, assignee, status, due_at):
    """The tally a step counts in, or None (closed)."""
    if (status or TaskStatus.READY) not in OPEN_TASK:
        return None
    return role, assignee or NOBODY, NO_DUE_DAY if due_at is None else clock.local_day(due_at)


def _as_stored(step):
    """The key of the step as the database holds it, before this flush's changes (the columns
    keep their previous value: active_history on the model)."""
    state = inspect(step)

    def old(name):
        history = state.attrs[name].history
        return (history.deleted or history.unchanged or [getattr(step, name)])[0]
    return key(old("role"), old("assignee"), old("status"), old("due_at"))


def keep_on(sessions) -> None:
    """Keep the tally in every flush of the sessions this sessionmaker makes (workflows.platform.db's)."""
    event.listen(sessions, "before_flush", _count_changes)


def _count_changes(session, _context, _instances):
    changes: dict[tuple, int] = {}

    def add(k, n):
        if k is not None:
            changes[k] = changes.get(k, 0) + n
    for step in session.new:
        if isinstance(step, HumanTask):
            add(key(step.role, step.assignee, step.status, step.due_at), 1)
    for step in session.dirty:
        if isinstance(step, HumanTask):
            before, after = _as_stored(step), key(step.role, step.assignee, step.status, step.due_at)
            if before != after:
                add(before, -1)
                add(after, 1)
    for step in session.deleted:
        if isinstance(step, HumanTask):
            add(_as_stored(step), -1)
    for (role, assignee, day), n in sorted(changes.items()):
        if n:
            session.add(OpenStepChange(role=role, assignee=assignee, due_day=day, change=n))


def sums(db, *, due_before) -> dict[tuple, int]:
    """(role, assignee or None, due day) -> open steps, for the keys due before that day."""
    query = (select(OpenStepChange.role, OpenStepChange.assignee, OpenStepChange.due_day, func.sum(OpenStepChange.change))
             .where(OpenStepChange.due_day < due_before)
             .group_by(OpenStepChange.role, OpenStepChange.assignee, OpenStepChange.due_day))
    return {(role, assignee or None, day): int(n) for role, assignee, day, n in db.execute(query) if n}


def unclaimed(roles):
    """A statement of one row: (the open steps of these roles nobody has claimed, those of them due
    before the day given as the parameter `today`), summed over the roles' keys: a few hundred rows
    (one a due day) however many steps wait. An open step is unclaimed exactly when it has no
    assignee (claiming, handing on and nominating set both; giving back clears both). Steps that
    exclude someone, or are on records they may not see, are in it: the caller takes those off."""
    n = OpenStepChange.change
    return select(func.coalesce(func.sum(n), 0),
                  func.coalesce(func.sum(n).filter(OpenStepChange.due_day < bindparam("today", type_=Date)), 0)
                  ).where(OpenStepChange.role.in_(roles), OpenStepChange.assignee == NOBODY)


def compact(db) -> int:
    """Sum each key's changes into one row (a key that sums to nothing is dropped); the rows
    taken are exactly those deleted, so a step committing meanwhile keeps its own. Returns how
    many rows were taken."""
    taken = db.execute(delete(OpenStepChange).returning(OpenStepChange.role, OpenStepChange.assignee,
                                                        OpenStepChange.due_day, OpenStepChange.change)).all()
    totals: dict[tuple, int] = {}
    for role, assignee, day, n in taken:
        totals[(role, assignee, day)] = totals.get((role, assignee, day), 0) + n
    db.add_all([OpenStepChange(role=r, assignee=a, due_day=d, change=n) for (r, a, d), n in sorted(totals.items()) if n])
    return len(taken)


def rebuild(db) -> int:
    """The tally counted afresh from the steps themselves (for a database filled without the ORM,
    e.g. benchmarks/seed.py). Returns how many keys it holds."""
    db.execute(delete(OpenStepChange))
    totals: dict[tuple, int] = {}
    for role, assignee, status, due_at in db.execute(select(HumanTask.role, HumanTask.assignee, HumanTask.status,
                                                            HumanTask.due_at).where(HumanTask.status.in_(OPEN_TASK))):
        k = key(role, assignee, status, due_at)
        totals[k] = totals.get(k, 0) + 1
    db.add_all([OpenStepChange(role=r, assignee=a, due_day=d, change=n) for (r, a, d), n in sorted(totals.items())])
    return len(totals)

"""The task inbox, the same on the web page and the command line: a person's own steps and their roles' unclaimed
steps, each sorted by due date, with the counts for the page header; and who a step may be
handed to (who may read a case's story is workflows/permissions.py). Restricted records are
filtered in the query, never after."""
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from workflows.platform import clock
from workflows.cases.assignment import Actor, roles_acting_for
from workflows.platform.models import (Alert, Case, Customer, HumanTask, HumanTaskExclusion, OPEN_TASK, Property, TaskStatus,
                                       User, UserRole)
from workflows.definitions.pack import Pack
from workflows.permissions import restrictions_admitting, visible


def not_excluded(username: str):
    """SQL condition: the step does not exclude this person (one primary-key probe per step)."""
    return ~exists().where(HumanTaskExclusion.task_id == HumanTask.id, HumanTaskExclusion.username == username)


@dataclass
class Inbox:
    mine: list  # rows: id, title, kind, role, assignee, status, due_at, alert_id, customer_name, customer_ref
    unclaimed: list
    mine_count: int
    unclaimed_count: int
    overdue_count: int


def _mine(actor: Actor):
    return and_(HumanTask.status == TaskStatus.CLAIMED, HumanTask.assignee == actor.username)


def _for_my_roles(actor: Actor):
    return and_(HumanTask.status == TaskStatus.READY, HumanTask.role.in_(actor.acting_roles))


def _unclaimed(pack: Pack, actor: Actor):
    return and_(_for_my_roles(actor), not_excluded(actor.username))


def _query(pack, actor, condition):
    return (select(HumanTask).join(Case, HumanTask.case_id == Case.id).join(Alert, Case.alert_id == Alert.id)
            .where(condition, visible(pack, actor)))


def _rows(pack, actor, condition):
    """Just what an inbox line shows, as plain rows: no ORM objects to build for a long list."""
    return (select(HumanTask.id, HumanTask.title, HumanTask.kind, HumanTask.role, HumanTask.assignee, HumanTask.status,
                   HumanTask.due_at, Case.alert_id,
                   # the marker's subject: a customer, or a property (by its address)
                   func.coalesce(Customer.name, Property.address).label("customer_name"),
                   func.coalesce(Customer.reference, Property.reference).label("customer_ref"))
            .join(Case, HumanTask.case_id == Case.id).join(Alert, Case.alert_id == Alert.id)
            .outerjoin(Customer, Alert.customer_id == Customer.id).outerjoin(Property, Alert.property_id == Property.id)
            .where(condition, visible(pack, actor)))


def sections(db: Session, *, pack: Pack, actor: Actor, limit: int = 50) -> Inbox:
    """Assigned to me, and my roles' unclaimed steps: due first (undated last), with counts."""
    # NULLS LAST is PostgreSQL's own order for an ascending index, so it can read the
    # (status, role, due_at) index in order and stop at the limit
    order = (HumanTask.due_at.asc().nulls_last(), HumanTask.id)
    mine = list(db.execute(_rows(pack, actor, _mine(actor)).order_by(*order).limit(limit)))
    unclaimed = list(db.execute(_rows(pack, actor, _unclaimed(pack, actor)).order_by(*order).limit(limit)))
    return Inbox(mine, unclaimed, *header_counts(db, pack=pack, actor=actor))


def header_counts(db: Session, *, pack: Pack, actor: Actor) -> tuple[int, int, int]:
    """(mine, my roles' unclaimed, overdue among both), counting only what the actor may see.

    Counted as every open step of theirs (the task indexes alone), less the steps that exclude
    them (few, found from their exclusions), less those on restricted records they may not see
    (few, found from the alert side): a join of every open step to its case and alert, or a probe
    of the exclusions for every open step, costs several times more on a large register."""
    overdue = and_(HumanTask.due_at.is_not(None), HumanTask.due_at < clock.overdue_before())
    for_role = _for_my_roles(actor)
    columns = (func.count().filter(_mine(actor)), func.count().filter(for_role), func.count().filter(overdue))
    everything = db.execute(select(*columns).select_from(HumanTask).where(or_(_mine(actor), for_role))).one()
    excluded = db.execute(select(*columns).select_from(HumanTaskExclusion)
                          .join(HumanTask, HumanTask.id == HumanTaskExclusion.task_id)
                          .where(HumanTaskExclusion.username == actor.username, for_role,
                                 ~_mine(actor))).one()
    allowed = restrictions_admitting(pack, actor)
    hidden = db.execute(select(*columns).select_from(Alert).join(Case, Case.alert_id == Alert.id)
                        .join(HumanTask, HumanTask.case_id == Case.id)
                        .where(Alert.restriction.is_not(None), Alert.restriction.not_in(allowed),
                               or_(_mine(actor), _unclaimed(pack, actor)))).one()
    mine, unclaimed, late = (a - b - c for a, b, c in zip(everything, excluded, hidden))
    return mine, unclaimed, late


def is_overdue(task) -> bool:
    """A task (or an inbox row) still open after its due day (due on a day, it is due all of it)."""
    return task.due_at is not None and task.status in OPEN_TASK and clock.is_past(task.due_at)


def open_steps(db: Session, *, pack: Pack, actor: Actor, alert_id: int) -> list[HumanTask]:
    """The steps now waiting on an alert the actor may see (what happens next, after a step)."""
    return list(db.scalars(_query(pack, actor, and_(Case.alert_id == alert_id,
                                                     HumanTask.status.in_(OPEN_TASK)))
                           .order_by(HumanTask.id)))


def reassign_candidates(db: Session, *, pack: Pack, task: HumanTask) -> list[User]:
    """Active users holding a role that may take this step (the engine re-checks seniority)."""
    roles = set(roles_acting_for(db, pack, task.role))
    if task.outrank_rank is not None:
        roles |= {r.key for r in pack.roles.values() if r.rank > (task.outrank_rank or 0)}
    allowed = pack.restrictions[task.case.alert.restriction].visible_to if task.case.alert.restriction else None
    if allowed is not None:
        roles &= set(allowed)
    excluded = set(task.excluded)
    users = db.scalars(select(User).join(UserRole).where(User.active.is_(True), UserRole.role.in_(roles))
                       .distinct().order_by(User.username))
    return [user for user in users if user.username not in excluded]


def is_open(task: HumanTask) -> bool:
    return task.status in OPEN_TASK

"""Who a user task goes to, and who may act on it.

A task's lane names a role of the pack. Extension properties on the task refine that:
  assigneeField = <data field>  the task goes to the user named in that field
                                (the Investigating Officer a Head of Service appointed)
  mustOutrank   = <data field>  the task must be done by someone more senior than the user
                                named in that field (and `<field>_role` names the role they
                                acted in); if the lane's role is not senior enough, the task
                                climbs the pack's `escalates_to` ladder until one is.
  dueIn         = <ISO 8601>    the task is due that long after it becomes ready
"""
from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from . import clock
from .errors import Conflict, NotAllowed, NotFound, StepFailed
from .models import HumanTask, User, UserRole
from .pack import Pack


@dataclass(frozen=True)
class Actor:
    username: str
    roles: frozenset[str]
    rank: int
    covering: frozenset[str] = field(default_factory=frozenset)  # roles deputised for, all holders away

    @property
    def acting_roles(self) -> frozenset[str]:
        """The roles whose steps this person may take now: their own, and those they cover."""
        return self.roles | self.covering


def covering(db: Session, pack: Pack, role_keys) -> frozenset[str]:
    """The roles these roles deputise for whose every active holder is away today (or that
    nobody holds): the deputy acts "in their absence", and only then."""
    deputised = pack.deputised_by(role_keys)
    if not deputised:
        return frozenset()
    today = clock.now().date()
    away = and_(User.away_from.is_not(None), User.away_from <= today, User.away_until >= today)
    present = db.scalars(select(UserRole.role).join(User, User.id == UserRole.user_id)
                         .where(UserRole.role.in_(deputised), User.active.is_(True), ~away))
    return frozenset(deputised - set(present))


def roles_acting_for(db: Session, pack: Pack, role_key: str) -> frozenset[str]:
    """The roles whose holders take this role's steps today: the role, and its deputies while
    every one of its holders is away."""
    deputies = pack.deputies_of(role_key)
    if deputies and role_key in covering(db, pack, deputies):
        return deputies | {role_key}
    return frozenset({role_key})


@dataclass(frozen=True)
class Routing:
    role: str
    assignee: str | None
    outrank_user: str | None
    outrank_rank: int | None
    due_at: object


def route(pack: Pack, task_spec, data: dict, ready_at) -> Routing:
    """Work out the role, assignee, seniority rule and due date of a newly ready user task."""
    ext = getattr(task_spec, "extensions", {}) or {}
    role = pack.role_for_lane(task_spec.lane)
    if role is None:
        raise StepFailed(f"user task '{task_spec.bpmn_id}' is in lane '{task_spec.lane}', "
                         f"which names no role of the {pack.name} pack")
    assignee = data.get(ext["assigneeField"]) if ext.get("assigneeField") else None
    outrank_user = outrank_rank = None
    if ext.get("mustOutrank"):
        field = ext["mustOutrank"]
        outrank_user = data.get(field)
        decided_role = pack.roles.get(data.get(f"{field}_role") or "")
        outrank_rank = decided_role.rank if decided_role else 0
        role = _climb(pack, role, outrank_rank, task_spec)
    due_at = clock.duration_after(ready_at, ext["dueIn"]) if ext.get("dueIn") else None
    return Routing(role.key, assignee, outrank_user, outrank_rank, due_at)


def _climb(pack, role, rank_to_beat, task_spec):
    seen = set()
    while role.rank <= rank_to_beat:
        if role.escalates_to is None or role.key in seen:
            raise StepFailed(f"task '{task_spec.bpmn_id}' must go to someone more senior than "
                             f"rank {rank_to_beat}, and no role above '{role.key}' is on the ladder")
        seen.add(role.key)
        role = pack.roles[role.escalates_to]
    return role


def check_may_act(pack: Pack, task: HumanTask, actor: Actor) -> None:
    """Raise unless this actor may claim or complete this task now."""
    if not pack.may_see(task.case.alert.restriction, actor.roles):
        raise NotFound(f"no task {task.id}")
    if task.status == "completed":
        raise Conflict(f"task {task.id} ('{task.title}') has already been completed by {task.completed_by}; "
                       f"nothing you entered was saved")
    if task.status not in ("ready", "claimed"):
        raise NotAllowed(f"task {task.id} ('{task.title}') is {task.status}, not waiting for anyone")
    if task.assignee and task.assignee != actor.username:
        raise NotAllowed(f"task {task.id} ('{task.title}') is assigned to {task.assignee}")
    if task.outrank_rank is not None:
        _check_outranks(pack, task, actor)
    elif not task.assignee and task.role not in actor.acting_roles:
        role = pack.roles[task.role].name if task.role in pack.roles else task.role
        raise NotAllowed(f"task {task.id} ('{task.title}') is for the {role} role, which {actor.username} does not hold")


def _check_outranks(pack, task, actor):
    if actor.username == task.outrank_user:
        raise NotAllowed(f"task {task.id} ('{task.title}') must be decided by a manager more senior "
                         f"than the one who made the original decision, and {actor.username} made it")
    if actor.rank <= task.outrank_rank:
        raise NotAllowed(f"task {task.id} ('{task.title}') must be decided by a manager more senior than "
                         f"the original decider (rank {task.outrank_rank}); {actor.username} is rank {actor.rank}")
    lane_role = pack.roles[task.role]
    if task.role not in actor.roles and actor.rank < lane_role.rank:
        raise NotAllowed(f"task {task.id} ('{task.title}') is for the {lane_role.name} role or someone more senior")


def open_for(actor: Actor, task: HumanTask, pack: Pack) -> bool:
    """Whether the task belongs in this actor's inbox (theirs, or their role's and unclaimed)."""
    try:
        check_may_act(pack, task, actor)
    except (NotAllowed, NotFound, Conflict):
        return False
    return True

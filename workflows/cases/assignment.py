"""Who a user task goes to, and who may act on it.

A task's lane names a role of the pack. Extension properties on the task refine that:
  assigneeField = <data field>  the task goes to the user named in that field
                                (the Investigating Officer a Head of Service appointed)
  mustOutrank   = <data field>  the task must be done by someone more senior than the user
                                named in that field (and `<field>_role` names the role they
                                acted in); if the lane's role is not senior enough, the task
                                climbs the pack's `escalates_to` ladder until one is.
  mustDiffer    = <data field>[,<field>...]  the task must be done by someone other than the user(s) named in
                                that field (a two-stage approval: nobody approves their own work)
  decision      = true          nobody decides on their own incident: the person who reported the
                                concern (`reported_by`) and the member of staff involved
                                (`staff_involved`) may not take it
People a task excludes never see it, cannot claim, complete or be given it; if only they hold
its role (deputies acting for it count), it climbs the `escalates_to` ladder.
  dueIn         = <ISO 8601>    the task is due that long after it becomes ready; or a case-data name
                                (a marker field) holding a duration or a date
"""
import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from workflows.platform import clock
from workflows.platform.errors import Conflict, NotAllowed, NotFound, StepFailed
from workflows.platform.models import HumanTask, OPEN_TASK, TaskStatus, User, UserRole
from workflows.definitions.pack import Pack

# the case variables (from the alert) naming the people nobody-decides-on-their-own-incident keeps off a decision
SEPARATED = ("reported_by", "staff_involved")


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


def actor_of(db: Session, pack: Pack, username: str, role_keys) -> Actor:
    """A person as the engine sees them: their roles, seniority and the roles they cover today.
    The one place an Actor is built, for every face (the command line, the web, the API)."""
    roles = frozenset(role_keys)
    return Actor(username, roles, pack.rank_of(roles), covering(db, pack, roles))


def covering(db: Session, pack: Pack, role_keys) -> frozenset[str]:
    """The roles these roles deputise for whose every active holder is away today (or that
    nobody holds): the deputy acts "in their absence", and only then."""
    deputised = pack.deputised_by(role_keys)
    if not deputised:
        return frozenset()
    today = clock.local_day(clock.now())
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
    excluded: dict = field(default_factory=dict)  # username -> the rule keeping them off it


def route(pack: Pack, task_spec, data: dict, ready_at) -> Routing:
    """Work out the role, assignee, seniority rule, excluded people and due date of a newly
    ready user task (who else holds the role is the engine's to check: route reads no database)."""
    ext = getattr(task_spec, "extensions", {}) or {}
    role = pack.role_for_lane(task_spec.lane)
    if role is None:
        raise StepFailed(f"user task '{task_spec.bpmn_id}' is in lane '{task_spec.lane}', "
                         f"which names no role of the {pack.name} pack")
    assignee = data.get(ext["assigneeField"]) if ext.get("assigneeField") else None
    outrank_user = outrank_rank = None
    if ext.get("mustOutrank"):
        name = ext["mustOutrank"]
        outrank_user = data.get(name)
        decided = data.get(f"{name}_role")
        if decided not in pack.roles:
            # ranking above "no role" would let anyone else decide: say so instead of guessing
            raise StepFailed(f"task '{task_spec.bpmn_id}' must go to someone more senior than the user in "
                             f"'{name}', but '{name}_role' is {decided!r}, which names no role of the "
                             f"{pack.name} pack (to require only a different person, use mustDiffer)")
        outrank_rank = pack.roles[decided].rank
        role = _climb(pack, role, outrank_rank, task_spec)
    due_at = due_date(pack, task_spec, ext.get("dueIn"), data, ready_at)
    return Routing(role.key, assignee, outrank_user, outrank_rank, due_at, excluded_people(ext, data))


DUE_NAME = re.compile(r"(?![pP]\d)[a-z_][A-Za-z0-9_]*")  # dueIn naming a case-data value, not a duration (P14D)


def due_date(pack: Pack, task_spec, due_in: str | None, data: dict, ready_at):
    """When a step is due: `dueIn` a duration after it is ready (P14D, P5WD), or naming a case-data
    value (a marker field, say) holding a duration or a date (due all that day)."""
    if not due_in:
        return None
    if not DUE_NAME.fullmatch(due_in):
        return clock.duration_after(ready_at, due_in, pack.calendar)
    value = data.get(due_in)
    if value in (None, ""):
        return None  # nothing set: the step has no due date
    try:
        return clock.start_of_day(date.fromisoformat(str(value)[:10])) if str(value)[:1].isdigit() \
            else clock.duration_after(ready_at, str(value), pack.calendar)
    except ValueError as err:
        raise StepFailed(f"user task '{task_spec.bpmn_id}': dueIn names '{due_in}', which holds {value!r}: "
                         f"neither a date nor a duration ({err})") from None


def excluded_people(ext: dict, data: dict) -> dict[str, str]:
    """Who may not do a task with these properties, each with the rule that says so (the most
    telling rule when one person falls under several)."""
    rules = []
    if ext.get("mustOutrank"):
        rules.append((data.get(ext["mustOutrank"]), "mustOutrank"))
    for name in reversed([n.strip() for n in (ext.get("mustDiffer") or "").split(",") if n.strip()]):
        rules.append((data.get(name), f"mustDiffer:{name}"))  # several fields: none of those people
    if ext.get("decision") == "true":
        rules += [(data.get(name), name) for name in reversed(SEPARATED)]
    return {username: reason for username, reason in rules if username}


def exclusion_rule(reason: str, username: str) -> str:
    """The rule, in words, that keeps this person off a step."""
    if reason == "reported_by":
        return f"{username} reported this concern, and nobody decides on their own report"
    if reason == "staff_involved":
        return f"{username} is the member of staff involved, and nobody decides on their own incident"
    if reason.startswith("mustDiffer:"):
        field = reason.split(":", 1)[1]
        if field == "reported_by":
            return f"it must be done by someone other than {username}, who reported this concern"
        if field == "staff_involved":
            return f"it must be done by someone other than {username}, the member of staff involved"
        return (f"it must be done by someone other than {username}, who is named in "
                f"'{field}' (nobody approves their own work)")
    return f"it must be decided by someone more senior than {username}, who made the original decision"


def refusal(pack: Pack, task: HumanTask, username: str, reason: str, doing: str = "be done by") -> str:
    """Why this person may not take this step, and who may instead."""
    role = pack.roles[task.role].name if task.role in pack.roles else task.role
    return (f"task {task.id} ('{task.title}') cannot {doing} {username}: {exclusion_rule(reason, username)}; "
            f"another {role} must take it (a manager above the role or an administrator may reassign it)")


def _holders(db: Session, roles) -> set[str]:
    return set(db.scalars(select(User.username).join(UserRole, UserRole.user_id == User.id)
                          .where(User.active.is_(True), UserRole.role.in_(roles))))


def _taken_by_others(db: Session, pack: Pack, role_key: str, excluded) -> bool:
    """Whether someone not excluded takes this role's steps today: a holder (who, if away, has
    deputies acting for them), else a deputy acting for the role. One query in the usual case."""
    if _holders(db, [role_key]) - set(excluded):
        return True
    return bool(_holders(db, roles_acting_for(db, pack, role_key)) - set(excluded))


def role_clear_of(db: Session, pack: Pack, role_key: str, excluded, restriction: str | None) -> str | None:
    """The first role from this one up the `escalates_to` ladder that someone not excluded takes
    (and that may see the record); None if there is none."""
    key, seen = role_key, set()
    with db.no_autoflush:  # the step's new rows go in its one flush
        while key and key not in seen:
            if restriction and key not in pack.restrictions[restriction].visible_to:
                return None
            if _taken_by_others(db, pack, key, excluded):
                return key
            seen.add(key)
            key = pack.roles[key].escalates_to if key in pack.roles else None
    return None


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
    if task.status == TaskStatus.COMPLETED:
        raise Conflict(f"task {task.id} ('{task.title}') has already been completed by {task.completed_by}; "
                       f"nothing you entered was saved")
    if task.status not in OPEN_TASK:
        raise NotAllowed(f"task {task.id} ('{task.title}') is {task.status}, not waiting for anyone")
    if task.assignee and task.assignee != actor.username:
        raise NotAllowed(f"task {task.id} ('{task.title}') is assigned to {task.assignee}")
    try:
        if task.outrank_rank is not None:
            _check_outranks(pack, task, actor)
        elif not task.assignee and task.role not in actor.acting_roles:
            role = pack.roles[task.role].name if task.role in pack.roles else task.role
            raise NotAllowed(f"task {task.id} ('{task.title}') is for the {role} role, which {actor.username} does not hold")
    except NotAllowed:
        if _climbed_past(pack, actor.acting_roles, task.role):  # it went up because of them: say why
            check_not_excluded(pack, task, actor.username)
        raise
    check_not_excluded(pack, task, actor.username)


def check_not_excluded(pack: Pack, task: HumanTask, username: str, doing: str = "be done by") -> None:
    """Raise if the step keeps this person off it. Asked after the role and seniority, so someone
    who could never take the step hears that first."""
    reason = task.excluded.get(username)
    if reason and reason != "mustOutrank":  # _check_outranks words that one
        raise NotAllowed(refusal(pack, task, username, reason, doing))


def _climbed_past(pack: Pack, role_keys, role_key: str) -> bool:
    """Whether one of these roles escalates, up the ladder, to this one."""
    for key in role_keys:
        seen = set()
        while key in pack.roles and key not in seen:
            seen.add(key)
            key = pack.roles[key].escalates_to
            if key == role_key:
                return True
    return False


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

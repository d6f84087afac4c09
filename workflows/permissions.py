"""Need to know: who may read an alert's story. One answer for the web, the CLI, the API,
exports and e-mails.

Telling people about a marker who have no contact with the tenant is itself a breach of
Article 8 (Clift v Slough BC [2010] EWCA Civ 1484), so the story of an alert (the reasons,
assessments, letters, steps and events) is worked out for that alert: the roles that have or
had a step on it (and the roles that stand in for them, and the people given such a step), the roles its restriction admits, and
the roles the pack names as readers ([registers] case_readers). Everyone else sees the
instruction to staff only. A decision not to tell the tenant, and its reason, is for the roles
the pack names for the non-disclosure register, even among the readers of the story.
"""
from sqlalchemy import and_, exists, false, not_, or_, select, true
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.cases.assignment import Actor
from workflows.platform import wording
from workflows.platform.errors import NotAllowed, NotFound
from workflows.platform.models import Alert, AlertStatus, Case, HumanTask
from workflows.definitions.pack import Pack


def restrictions_admitting(pack: Pack, actor: Actor) -> list[str]:
    """The restrictions whose records this actor may know exist."""
    return [key for key, rule in pack.restrictions.items() if rule.visible_to & actor.roles]


def visible(pack: Pack, actor: Actor, restriction=Alert.restriction):
    """SQL condition: alerts this actor may know exist (lists, counts, the instruction to staff).
    `restriction`: the column holding the alert's restriction (a step keeps a copy of its alert's)."""
    return or_(restriction.is_(None), restriction.in_(restrictions_admitting(pack, actor)))


def hidden(pack: Pack, actor: Actor, restriction=Alert.restriction):
    """SQL condition: the restricted alerts this actor may not know exist (exactly the alerts
    `visible` leaves out), written so that the restricted-alert index finds them: a count over
    every row less the same count over these is the count of what the actor may see, without
    joining every row to its alert. On a step's restriction: the open steps of those alerts, from
    their own small index."""
    return and_(restriction.is_not(None), not_(visible(pack, actor, restriction)))


def on_hidden_alert(pack: Pack, actor: Actor, alert_id):
    """SQL condition on a column holding an alert's id (a case's): the alert is one this actor may
    not know exists. Against the few such alerts, found by the restricted-alert index:
    `~on_hidden_alert(...)` keeps a list or count to what the actor may know exists without joining
    each candidate to its alert."""
    return alert_id.in_(select(Alert.id).where(hidden(pack, actor)).correlate(None))


def known_alert(db: Session, *, pack: Pack, actor: Actor, alert_id: int) -> Alert:
    """The alert, if this actor may know it exists; a restricted one answers as if missing."""
    alert = db.get(Alert, alert_id)
    if alert is None or not pack.may_see(alert.restriction, actor.roles):
        raise NotFound(f"there is no alert {alert_id}")
    return alert


def step_roles(pack: Pack, actor: Actor) -> frozenset[str]:
    """The roles whose steps count as this actor's own: theirs, and those they stand in for."""
    return actor.acting_roles | pack.deputised_by(actor.roles)


def story_readable(pack: Pack, actor: Actor):
    """SQL condition: alerts whose story this actor may read."""
    if pack.registers.case_readers & actor.roles:
        unrestricted = true()
    else:
        theirs = or_(HumanTask.role.in_(step_roles(pack, actor)), HumanTask.assignee == actor.username,
                     HumanTask.completed_by == actor.username)
        # keeping the housing system in step needs what to enter, which its step says, not the story
        unrestricted = exists(select(HumanTask.id).join(Case, HumanTask.case_id == Case.id)
                              .where(Case.alert_id == Alert.id, HumanTask.kind == "step", theirs))
    admitted = restrictions_admitting(pack, actor)
    return or_(Alert.restriction.in_(admitted) if admitted else false(),
               and_(Alert.restriction.is_(None), unrestricted))


def readable_alert_ids(db: Session, *, pack: Pack, actor: Actor, alert_ids) -> set[int]:
    """Which of these alerts' stories this actor may read (one query, for pages that link to them)."""
    ids = {i for i in alert_ids if i is not None}
    if not ids:
        return set()
    return set(db.scalars(select(Alert.id).where(Alert.id.in_(ids), story_readable(pack, actor))))


def may_read_story(db: Session, *, pack: Pack, actor: Actor, alert_id: int) -> bool:
    return alert_id in readable_alert_ids(db, pack=pack, actor=actor, alert_ids=[alert_id])


class NoNeedToKnow(NotAllowed):
    """The actor may know the alert exists, but not its story; `instruction` is what staff are shown."""

    def __init__(self, message: str, alert_id: int, instruction: dict | None):
        super().__init__(message)
        self.alert_id, self.instruction = alert_id, instruction


def require_story(db: Session, *, pack: Pack, actor: Actor, alert: Alert) -> None:
    """Refuse, with the instruction to staff, someone with no need to know this alert's story."""
    if may_read_story(db, pack=pack, actor=actor, alert_id=alert.id):
        return
    from workflows.register.markers import instruction_to_staff  # the one answer to "what are staff shown"
    shown = instruction_to_staff(pack, alert) if alert.status == AlertStatus.ACTIVE else None
    what = f"the instruction to staff is: {shown['instruction']}" if shown else "it carries no active marker"
    raise NoNeedToKnow(f"{actor.username} has no need to know the story of alert {alert.id}: it is read only by "
                       f"the roles with a step on it and those the policy names; {what}", alert.id, shown)


def is_administrator(pack: Pack, actor: Actor) -> bool:
    """Manages accounts, API tokens, reassignments and cases set aside in error."""
    return pack.administrator_role in actor.roles


def may_import_register(pack: Pack, actor: Actor) -> bool:
    """Imports the existing register from a CSV: the roles [pack] import_by names, or else the administrator."""
    return bool((pack.import_by or {pack.administrator_role}) & set(actor.roles))


def needs_second_factor(pack: Pack, role_keys) -> bool:
    """Whether someone holding these roles must pass two-step sign-in with a local account: the
    roles [pack] mfa_required_for names (the administrator, process owner and compliance roles
    unless it says otherwise)."""
    return bool(pack.mfa_required_for & set(role_keys))


def may_reset_second_factor(pack: Pack, actor: Actor) -> bool:
    """Clears someone's two-step sign-in (a lost phone): the administrator."""
    return is_administrator(pack, actor)


def is_process_owner(pack: Pack, actor: Actor) -> bool:
    """Changes the policy: checks, deploys and migrates the diagrams."""
    return pack.process_owner_role in actor.roles


def may_read_policy(pack: Pack, actor: Actor) -> bool:
    """Reads the deployed diagrams and their versions: the process owner, the administrator and
    the compliance role."""
    return bool({pack.process_owner_role, pack.administrator_role, pack.compliance_role} & actor.roles)


def may_read_registers(pack: Pack, actor: Actor) -> bool:
    """The compliance views: the dashboard, the register of active markers, dossiers."""
    return bool(pack.registers.readers & actor.roles)


def may_export_subject_access(pack: Pack, actor: Actor) -> bool:
    return bool(pack.registers.subject_access & actor.roles)


def require(allowed: bool, what: str, roles, *, pack: Pack) -> None:
    """Refuse, naming who may by the roles' names ("the Compliance Officer"), not their keys."""
    if not allowed:
        names = sorted(wording.labelled(pack.roles, r) for r in roles)
        raise NotAllowed(f"{what} is open only to the {wording.and_list(names, conjunction='or')} role"
                         f"{'s' if len(names) > 1 else ''}" if names else f"{what} is open to nobody in this pack")


def may_reassign(pack: Pack, actor: Actor, task) -> bool:
    """A manager ranked above the task's role, or an administrator (engine.reassign_task decides)."""
    role = pack.roles.get(task.role)
    return is_administrator(pack, actor) or (role is not None and actor.rank > role.rank)


def managed_roles(pack: Pack, actor: Actor) -> frozenset[str]:
    """The roles on the management ladder ranked below this actor: the team whose steps they may
    see together, hand out and take (engine.reassign_task and claim_task still decide each step)."""
    return frozenset(key for key, role in pack.roles.items() if 0 < role.rank < actor.rank)


def oversight_roles(pack: Pack) -> frozenset[str]:
    """Roles that watch or run the system rather than work cases: the administrator, the process
    owner, and the compliance roles off the management ladder that the pack names in [registers].
    A case step in their lane would give them a story they have no need to know."""
    regs = pack.registers
    named = regs.readers | regs.case_readers | regs.subject_access | regs.non_disclosure_visible_to
    compliance = {key for key in named if key in pack.roles and pack.roles[key].rank == 0}
    return frozenset({pack.administrator_role, pack.process_owner_role} | compliance) & frozenset(pack.roles)


RECORD_VIEWED = "restricted_record_viewed"  # the audit event of each view of a restricted record


def open_story(db: Session, *, pack: Pack, actor: Actor, alert: Alert, **what) -> None:
    """Let someone read (part of) an alert's story, or refuse them; each view of a restricted
    record is audited, with `what` was read (a letter, a case's diagram)."""
    require_story(db, pack=pack, actor=actor, alert=alert)
    if alert.restriction:
        audit.record(db, actor=actor.username, action=RECORD_VIEWED, alert_id=alert.id,
                     restriction=alert.restriction, **what)


def may_read_non_disclosures(pack: Pack, actor: Actor) -> bool:
    """Whether this actor may read decisions not to tell a tenant, and their reasons."""
    return bool(pack.registers.non_disclosure_visible_to & actor.roles)


def is_non_disclosure_field(name: str, reason_fields: frozenset[str]) -> bool:
    """A form answer that gives or explains a decision not to tell the tenant."""
    return name.startswith("non_disclosure") or name in reason_fields


def withhold_non_disclosure(values, reason_fields: frozenset[str]):
    """A step's answers (or an event's detail) with the reasons for not telling the tenant taken out."""
    if not isinstance(values, dict):
        return values
    out = {}
    for key, value in values.items():
        if is_non_disclosure_field(key, reason_fields):
            out[key] = "(withheld: only the roles of the non-disclosure register may read this)"
        else:
            out[key] = withhold_non_disclosure(value, reason_fields)
    return out


def email_recipients(pack: Pack, restriction: str | None, people_roles: dict[str, frozenset[str]]) -> list[str]:
    """Of these people (username -> roles), those an e-mail naming a record with this restriction may reach."""
    return sorted(u for u, roles in people_roles.items() if pack.may_see(restriction, roles))

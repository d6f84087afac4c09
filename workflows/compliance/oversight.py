"""What compliance staff watch: the overdue dashboard, the register of active markers, the
non-disclosure register, and what housing systems ask through the API (markers for a customer
or an address, marker changes since a moment).

Who may read each view is the pack's `[registers]` setting; restricted records are filtered in
the query (`register.visible`), so they never reach a row, a count or a chart.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows.register import feed, letters
from workflows.register import tenancy as tenancies
from workflows.cases.assignment import Actor
from workflows.platform.errors import WorkflowError
from workflows.platform.models import (Alert, AlertStatus, AuditEvent, Case, CaseStatus, Customer, HumanTask, Property, Letter, NonDisclosure, OPEN_TASK)
from workflows.definitions.pack import Pack
from workflows.permissions import may_read_non_disclosures, may_read_registers, require, visible
from workflows.register.markers import instruction_to_staff, next_review_date, shown_by_customer

AGE_BANDS = (("up to 7 days", 7), ("8 to 30 days", 30), ("over 30 days", None))


def _require_reader(pack, actor):
    require(may_read_registers(pack, actor), "the compliance register", pack.registers.readers, pack=pack)


def _iso(moment):
    return clock.as_utc(moment).isoformat() if moment else None


def _iso_day(day):
    return day.isoformat() if day else None


def _day(moment):
    return clock.local_day(moment).isoformat() if moment else None


# --- the register of active markers -------------------------------------------------------

@dataclass
class RegisterFilter:
    category: str | None = None
    level: str | None = None
    placed_by: str | None = None
    customer: str | None = None  # reference, name or address, in part
    review_before: datetime | None = None


def active_register(db: Session, *, pack: Pack, actor: Actor, filters: RegisterFilter | None = None,
                    purpose: str = "viewed") -> list[dict]:
    """Active markers the actor may see: category, level, instruction, who placed it and when, next review."""
    _require_reader(pack, actor)
    f = filters or RegisterFilter()
    if f.category:
        pack.require_category(f.category)
    query = (select(Alert).outerjoin(Customer, Alert.customer_id == Customer.id)
             .outerjoin(Property, Alert.property_id == Property.id)
             .where(Alert.status == AlertStatus.ACTIVE, visible(pack, actor))
             .order_by(func.coalesce(Customer.name, Property.address), Alert.id))
    if f.category:
        query = query.where(Alert.category == f.category)
    if f.level:
        query = query.where(Alert.level == f.level)
    if f.placed_by:
        query = query.where(or_(Alert.placed_by == f.placed_by, Alert.decided_by == f.placed_by))
    if f.customer:
        query = query.where(or_(tenancies.customers_matching(f.customer),
                                Alert.property_id.in_(tenancies.properties_matching(f.customer))))
    if f.review_before:
        query = query.where(Alert.next_review_at < f.review_before)
    rows = []
    for alert in db.scalars(query):
        category = pack.categories.get(alert.category)
        rule = pack.restrictions.get(alert.restriction or "")
        rows.append({
            "alert": alert.id, "customer": alert.subject.reference, "name": alert.subject.name,
            "address": alert.subject.address, "postcode": alert.subject.postcode,
            "category": alert.category, "category_label": category.label if category else alert.category,
            "restriction": rule.label if rule else None, "level": alert.level, "code": alert.marker_code,
            "instruction": alert.marker_text, "control_measures": list(alert.control_measures or []),
            "placed_by": alert.placed_by, "placed_at": _iso(alert.placed_at),
            "decided_by": alert.decided_by, "decided_role": alert.decided_role,
            "next_review": _iso_day(next_review_date(alert)),
        })
    restricted = [r["alert"] for r in rows if r["restriction"]]
    audit.record(db, actor=actor.username, action=f"register_{purpose}", markers=len(rows),
                 restricted_alerts=restricted, filters={k: v for k, v in f.__dict__.items() if v})
    return rows


def non_disclosure_register(db: Session, *, pack: Pack, actor: Actor, purpose: str = "viewed") -> list[dict]:
    """Every decision not to tell a tenant, with its reason and who made it (restricted by the pack)."""
    require(may_read_non_disclosures(pack, actor), "the non-disclosure register",
            pack.registers.non_disclosure_visible_to, pack=pack)
    query = (select(NonDisclosure, Alert, Case.kind).join(Alert, NonDisclosure.alert_id == Alert.id)
             .join(Case, NonDisclosure.case_id == Case.id)
             .where(visible(pack, actor)).order_by(NonDisclosure.decided_at, NonDisclosure.id))
    rows = [{
        "id": nd.id, "alert": alert.id, "customer": alert.subject.reference, "name": alert.subject.name,
        "category": alert.category, "alert_status": alert.status, "stage": kind, "reason": nd.reason,
        "consulted": nd.consulted, "decided_by": nd.decided_by, "decided_at": _iso(nd.decided_at),
    } for nd, alert, kind in db.execute(query)]
    audit.record(db, actor=actor.username, action=f"non_disclosure_register_{purpose}", entries=len(rows),
                 alerts=sorted({r["alert"] for r in rows}))
    return rows


# --- the overdue dashboard ----------------------------------------------------------------

def _tasks_query(pack, actor):
    return (select(HumanTask, Case, Alert).join(Case, HumanTask.case_id == Case.id)
            .join(Alert, Case.alert_id == Alert.id).where(visible(pack, actor)))


def age_band(days: int) -> str:
    for label, limit in AGE_BANDS:
        if limit is None or days <= limit:
            return label
    return AGE_BANDS[-1][0]


def overdue_steps(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """Every open human step past its due day, most overdue first (a step due today is not overdue)."""
    query = _tasks_query(pack, actor).where(HumanTask.status.in_(OPEN_TASK), HumanTask.due_at.is_not(None),
                                            HumanTask.due_at < clock.overdue_before()
                                            ).order_by(HumanTask.due_at, HumanTask.id)
    rows = []
    for task, case, alert in db.execute(query):
        days = clock.days_late(task.due_at)
        role = pack.roles.get(task.role)
        rows.append({"task": task.id, "title": task.title, "role": task.role,
                     "role_name": role.name if role else task.role, "assignee": task.assignee,
                     "alert": alert.id, "customer": alert.subject.reference, "stage": case.kind,
                     "due": _day(task.due_at), "days_overdue": days, "age": age_band(days)})
    return rows


def count_by(rows: list[dict], key) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        k = key(row)
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def reviews(db: Session, *, pack: Pack, actor: Actor, within_days: int = 30) -> dict[str, list[dict]]:
    """Active markers whose review is overdue (its day has passed), and those due today or in the
    next `within_days` days; `days` counts whole days between the review's day and today."""
    today = clock.local_day(clock.now())
    query = (select(Alert).where(Alert.status == AlertStatus.ACTIVE, Alert.next_review_at.is_not(None),
                                 Alert.next_review_at < clock.start_of_day(today + timedelta(days=within_days + 1)),
                                 visible(pack, actor))
             .order_by(Alert.next_review_at, Alert.id))
    out = {"overdue": [], "due_soon": []}
    for alert in db.scalars(query):
        late = clock.days_late(alert.next_review_at)
        row = {"alert": alert.id, "customer": alert.subject.reference, "category": alert.category,
               "due": _day(alert.next_review_at), "days": abs(late)}
        out["overdue" if late > 0 else "due_soon"].append(row)
    return out


def appeals_past_deadline(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """Appeals still open after the day their hearing was due."""
    query = _tasks_query(pack, actor).where(Case.kind == "appeal", Case.status == CaseStatus.RUNNING,
                                            HumanTask.kind == "step", HumanTask.status.in_(OPEN_TASK),
                                            HumanTask.due_at < clock.overdue_before()
                                            ).order_by(HumanTask.due_at)
    return [{"alert": alert.id, "customer": alert.subject.reference, "case": case.id, "task": task.id,
             "title": task.title, "role": task.role, "assignee": task.assignee, "due": _day(task.due_at),
             "days_overdue": clock.days_late(task.due_at),
             "lodged": _day(case.created_at)} for task, case, alert in db.execute(query)]


def tenants_not_told(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """Active markers whose latest decision is older than the pack's `tell_tenant_within` while
    the tenant has not been told: the deciding case has no letter recorded as delivered, and no
    reason for not telling recorded. A letter issued but not delivered has not told anyone: the
    deadline runs until its delivery is recorded (for a posted letter, its posting)."""
    within = pack.registers.tell_tenant_within
    if not within:
        return []
    latest = (select(AuditEvent.alert_id, func.max(AuditEvent.id).label("event_id"))
              .where(AuditEvent.action == "decision").group_by(AuditEvent.alert_id).subquery())
    decision = aliased(AuditEvent)
    to_tenant = letters.to_tenant(pack)
    letter_sent = exists().where(Letter.alert_id == Alert.id, Letter.case_id == decision.case_id,
                                 Letter.delivered_at.is_not(None), to_tenant)
    first_issued = (select(func.min(Letter.issued_at)).where(Letter.alert_id == Alert.id,
                                                             Letter.case_id == decision.case_id, to_tenant)
                    .correlate(Alert, decision).scalar_subquery())
    reason_kept = exists().where(NonDisclosure.alert_id == Alert.id, NonDisclosure.case_id == decision.case_id)
    query = (select(Alert, decision.case_id, first_issued).join(latest, latest.c.alert_id == Alert.id)
             .join(decision, decision.id == latest.c.event_id)
             .where(Alert.status == AlertStatus.ACTIVE, Alert.decided_at.is_not(None), ~letter_sent, ~reason_kept,
                    visible(pack, actor)).order_by(Alert.decided_at, Alert.id))
    now, rows = clock.now(), []
    for alert, case_id, issued in db.execute(query):
        deadline = clock.duration_after(clock.as_utc(alert.decided_at), within, pack.calendar)
        if clock.is_past(deadline, now):
            rows.append({"alert": alert.id, "customer": alert.subject.reference, "case": case_id,
                         "letter": f"letter issued {wording.day(issued)}, not yet delivered" if issued
                         else "no letter issued, and no reason for not telling recorded",
                         "issued": _day(issued), "decided_by": alert.decided_by, "decided": _day(alert.decided_at),
                         "deadline": _day(deadline), "days_late": clock.days_late(deadline, now)})
    return rows


def interim_without_assessment(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """Urgent interim markers (shown to staff at once) whose full assessment has not yet decided."""
    now = clock.now()
    query = (select(Alert).where(Alert.status == AlertStatus.ACTIVE, Alert.decision_no == 0, visible(pack, actor))
             .order_by(Alert.placed_at, Alert.id))
    return [{"alert": a.id, "customer": a.subject.reference, "category": a.category,
             "placed_by": a.placed_by, "placed": _day(a.placed_at),
             "days": clock.days_late(a.placed_at, now) if a.placed_at else None} for a in db.scalars(query)]


def weekly_steps(db: Session, *, pack: Pack, actor: Actor, weeks: int = 12) -> list[dict]:
    """Open and overdue human steps at the end of each of the last `weeks` weeks (the last is now)."""
    now = clock.now()
    ends = [now - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    start = ends[0]
    closed_at = func.coalesce(HumanTask.completed_at, Case.updated_at)
    query = (select(HumanTask.created_at, HumanTask.due_at, HumanTask.status, HumanTask.completed_at,
                    Case.updated_at)
             .join(Case, HumanTask.case_id == Case.id).join(Alert, Case.alert_id == Alert.id)
             .where(visible(pack, actor), HumanTask.created_at <= now,
                    or_(HumanTask.status.in_(OPEN_TASK), closed_at >= start)))
    spans = []
    for created, due, status, completed, case_updated in db.execute(query):
        closed = None if status in OPEN_TASK else (completed or case_updated)
        spans.append((clock.as_utc(created), clock.as_utc(due) if due else None,
                      clock.as_utc(closed) if closed else None))
    out = []
    for end in ends:
        open_ = [s for s in spans if s[0] <= end and (s[2] is None or s[2] > end)]
        out.append({"week_ending": _day(end), "open": len(open_),  # overdue as the dashboard counts it
                    "overdue": sum(1 for s in open_ if s[1] is not None and clock.is_past(s[1], end))})
    return out


def markers_by_category_and_level(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """How many active markers there are of each category and level."""
    query = (select(Alert.category, Alert.level, func.count())
             .where(Alert.status == AlertStatus.ACTIVE, visible(pack, actor))
             .group_by(Alert.category, Alert.level).order_by(Alert.category, Alert.level))
    return [{"category": c, "category_label": pack.categories[c].label if c in pack.categories else c,
             "level": level or "no level", "count": n} for c, level, n in db.execute(query)]


def past_retention(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """Closed records (marker removed, or no marker placed) kept longer than the pack's
    `retain_closed_for` since they closed: for compliance staff to act on. Nothing is deleted here."""
    period = pack.registers.retain_closed_for
    if not period:
        return []
    closed_at = func.coalesce(Alert.removed_at, Alert.decided_at, Alert.reported_at)
    query = (select(Alert, closed_at)
             .where(Alert.status.in_((AlertStatus.REMOVED, AlertStatus.NOT_PLACED)), visible(pack, actor))
             .order_by(closed_at, Alert.id))
    now, rows = clock.now(), []
    for alert, closed in db.execute(query):
        closed = clock.as_utc(closed)
        until = clock.duration_after(closed, period, pack.calendar)
        if until >= now:
            break  # ordered by closing: the rest are younger
        rows.append({"alert": alert.id, "customer": alert.subject.reference, "status": alert.status,
                     "closed": _day(closed), "keep_until": _day(until), "days_past": (now - until).days})
    return rows


@dataclass
class Dashboard:
    overdue: list[dict]
    by_role: dict[str, int]
    by_person: dict[str, int]
    by_age: dict[str, int]
    reviews_overdue: list[dict]
    reviews_due_soon: list[dict]
    appeals_late: list[dict]
    not_told: list[dict]
    interim: list[dict]
    weeks: list[dict]
    markers: list[dict]
    tell_tenant_within: str | None = None
    past_retention: list[dict] = field(default_factory=list)
    retain_closed_for: str | None = None
    # housing system feed events still undelivered after [feed] failing_after attempts
    feed_failing: list[dict] = field(default_factory=list)
    feed_name: str | None = None
    generated_at: str = field(default_factory=lambda: clock.now().isoformat())


def dashboard(db: Session, *, pack: Pack, actor: Actor) -> Dashboard:
    """Everything on the overdue dashboard, as this actor may see it."""
    _require_reader(pack, actor)
    overdue = overdue_steps(db, pack=pack, actor=actor)
    due = reviews(db, pack=pack, actor=actor)
    bands = {label: 0 for label, _ in AGE_BANDS}
    bands.update(count_by(overdue, lambda r: r["age"]))
    return Dashboard(
        overdue=overdue, by_role=count_by(overdue, lambda r: r["role_name"]),
        by_person=count_by(overdue, lambda r: r["assignee"] or "(not yet claimed)"),
        by_age={label: bands[label] for label, _ in AGE_BANDS},
        reviews_overdue=due["overdue"], reviews_due_soon=due["due_soon"],
        appeals_late=appeals_past_deadline(db, pack=pack, actor=actor),
        not_told=tenants_not_told(db, pack=pack, actor=actor),
        interim=interim_without_assessment(db, pack=pack, actor=actor),
        weeks=weekly_steps(db, pack=pack, actor=actor),
        markers=markers_by_category_and_level(db, pack=pack, actor=actor),
        tell_tenant_within=pack.registers.tell_tenant_within,
        past_retention=past_retention(db, pack=pack, actor=actor),
        retain_closed_for=pack.registers.retain_closed_for,
        feed_failing=feed.failing(db, pack=pack, visible=visible(pack, actor)),
        feed_name=pack.feed.name if pack.feed else None,
    )


# --- what housing systems ask (the JSON API) ----------------------------------------------

def markers_for(db: Session, *, pack: Pack, actor: Actor, customer_ref: str | None = None,
                address: str | None = None, limit: int = 50) -> list[dict]:
    """Customers matching a reference (exactly) or an address or postcode (in part), with their active markers."""
    if not (customer_ref or "").strip() and not (address or "").strip():
        raise WorkflowError("give a customer reference or an address")
    query = select(Customer).order_by(Customer.reference).limit(limit)
    if (customer_ref or "").strip():
        query = query.where(Customer.reference == customer_ref.strip())
    if (address or "").strip():
        query = query.where(Customer.id.in_(tenancies.living_at(tenancies.properties_matching(address))))
    customers = list(db.scalars(query))
    active = shown_by_customer(db, pack, [c.id for c in customers])
    audit.record(db, actor=actor.username, action="markers_looked_up", customer=customer_ref, address=address,
                 customers=len(customers))
    return [{"customer": c.reference, "name": c.name, "address": c.address, "postcode": c.postcode,
             "markers": active.get(c.id, [])} for c in customers]


CHANGES = {"marker placed": "placed", "marker kept": "kept", "marker amended": "amended",
           "marker removed": "removed"}


def marker_changes(db: Session, *, pack: Pack, actor: Actor, since: datetime, limit: int = 500) -> dict:
    """Markers placed, kept, amended or removed after `since`, oldest first: no reasons, ever."""
    since = clock.as_utc(since)
    query = (select(AuditEvent, Alert).join(Alert, AuditEvent.alert_id == Alert.id)
             .where(AuditEvent.at > since,
                    AuditEvent.action.in_(("decision", "interim_marker_placed", "marker_removed")))
             .order_by(AuditEvent.at, AuditEvent.id).limit(limit + 1))
    rows = list(db.execute(query))
    more = len(rows) > limit
    changes = []
    for event_, alert in rows[:limit]:
        if event_.action == "decision":
            change = CHANGES.get((event_.detail or {}).get("outcome"))
        else:
            change = {"interim_marker_placed": "interim placed", "marker_removed": "removed"}[event_.action]
        if change is None:
            continue
        changes.append({"at": _iso(event_.at), "change": change, "alert": alert.id,
                        "customer": alert.subject.reference, "status": alert.status,
                        "marker": instruction_to_staff(pack, alert) if alert.status == AlertStatus.ACTIVE else None})
    until = _iso(rows[limit - 1][0].at) if more else clock.now().isoformat()
    audit.record(db, actor=actor.username, action="marker_changes_listed", since=since.isoformat(),
                 changes=len(changes))
    return {"since": since.isoformat(), "until": until, "more": more, "changes": changes}

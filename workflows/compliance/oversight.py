"""What compliance staff watch: the overdue dashboard, the register of active markers, the
non-disclosure register, and what housing systems ask through the API (markers for a customer
or an address, marker changes since a moment).

Who may read each view is the pack's `[registers]` setting; restricted records are filtered in
the query (`register.visible`), so they never reach a row, a count or a chart.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows.register import feed, letters
from workflows.tasks import open_step_tally
from workflows.register import tenancy as tenancies
from workflows.cases.assignment import Actor, actor_of
from workflows.platform.errors import WorkflowError
from workflows.platform.models import (Alert, AlertStatus, AuditEvent, Case, CaseStatus, Customer, DashboardSummary, HumanTask,
                                       Property, Letter, NonDisclosure, OPEN_TASK, Tenancy, User, UserRole)
from workflows.definitions.pack import Pack
from workflows.permissions import (hidden, may_read_non_disclosures, may_read_registers, on_hidden_alert, require,
                                   restrictions_admitting, visible)
from workflows.register.markers import instruction_to_staff, next_review_date, shown_by_customer

AGE_BANDS = (("up to 7 days", 7), ("8 to 30 days", 30), ("over 30 days", None))
PAGE_SIZE = 50  # rows to a page on the compliance pages
EXPORT_BATCH = 500  # rows a streamed export reads at a time


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


@dataclass
class Page:
    """One page of a list, with the whole list's count: "1-50 of 4,210"."""
    rows: list[dict]
    total: int
    start: int = 0  # the offset of the first row
    size: int | None = None  # rows to a page (None: the whole list)

    @property
    def next_start(self) -> int | None:
        end = self.start + len(self.rows)
        return end if end < self.total else None

    @property
    def previous_start(self) -> int | None:
        return max(0, self.start - (self.size or 0)) if self.start > 0 else None


def _page(db, query, count, *, start: int, size: int | None, row, total: int | None = None) -> Page:
    """The rows of `query` from `start` (at most `size`), made by `row`, and how many there are in
    all (`count`, a query of the same rows' number, unless the caller counted them: `total`)."""
    total = db.scalar(count) if total is None else total
    if size is not None:
        query = query.offset(max(0, start)).limit(size)
    return Page([row(r) for r in db.execute(query)], total, max(0, start) if size is not None else 0, size)


def _register_conditions(pack, actor, f: RegisterFilter) -> list:
    """The active markers matching the filters that this actor may see (with the customer joined)."""
    return [visible(pack, actor), *_register_filtered(f)]


def _register_filtered(f: RegisterFilter) -> list:
    """The active markers matching the filters, whoever is asking (with the customer joined)."""
    conditions = [Alert.status == AlertStatus.ACTIVE]
    if f.category:
        conditions.append(Alert.category == f.category)
    if f.level:
        conditions.append(Alert.level == f.level)
    if f.placed_by:
        conditions.append(or_(Alert.placed_by == f.placed_by, Alert.decided_by == f.placed_by))
    if f.customer:  # a customer by name, reference or where they live now, or a property with a marker
        conditions.append(or_(tenancies.customers_matching(f.customer),
                              Alert.property_id.in_(tenancies.properties_matching(f.customer))))
    if f.review_before:
        conditions.append(Alert.next_review_at < f.review_before)
    return conditions


# a marker's subject: its customer (living now at Home), or the property it is on
Home = aliased(Property)
SUBJECT_REFERENCE = func.coalesce(Customer.reference, Property.reference).label("reference")
SUBJECT_NAME = func.coalesce(Customer.name, Property.address).label("name")
REGISTER_FIELDS = (Alert.id, Alert.category, Alert.restriction, Alert.level, Alert.marker_code, Alert.marker_text,
                   Alert.control_measures, Alert.placed_by, Alert.placed_at, Alert.decided_by, Alert.decided_role,
                   Alert.next_review_at, SUBJECT_REFERENCE, SUBJECT_NAME,
                   func.coalesce(Home.address, Property.address).label("address"),
                   func.coalesce(Home.postcode, Property.postcode).label("postcode"))


def _with_subject(query):
    """The alert's customer or property joined once (the models' lazy="joined" relationships would
    join them again)."""
    return (query.outerjoin(Customer, Alert.customer_id == Customer.id)
            .outerjoin(Property, Alert.property_id == Property.id))


def _register_query(pack, actor, f: RegisterFilter):
    """The register by customer name, as the columns a row shows, with the customer's home now; no
    object built."""
    living = (select(Tenancy.customer_id, Tenancy.property_id).where(tenancies.current()).subquery())
    query = _with_subject(select(*REGISTER_FIELDS).select_from(Alert))
    return (query.outerjoin(living, living.c.customer_id == Customer.id).outerjoin(Home, Home.id == living.c.property_id)
            .where(*_register_conditions(pack, actor, f)).order_by(SUBJECT_NAME, Alert.id))


def _register_row(pack: Pack, r) -> dict:
    category = pack.categories.get(r.category)
    rule = pack.restrictions.get(r.restriction or "")
    return {
        "alert": r.id, "customer": r.reference, "name": r.name, "address": r.address, "postcode": r.postcode,
        "category": r.category, "category_label": category.label if category else r.category,
        "restriction": rule.label if rule else None, "level": r.level, "code": r.marker_code,
        "instruction": r.marker_text, "control_measures": list(r.control_measures or []),
        "placed_by": r.placed_by, "placed_at": _iso(r.placed_at),
        "decided_by": r.decided_by, "decided_role": r.decided_role,
        "next_review": _iso_day(next_review_date(r)),
    }


def _register_filters(pack, f: RegisterFilter | None) -> RegisterFilter:
    f = f or RegisterFilter()
    if f.category:
        pack.require_category(f.category)
    return f


def _restricted_in(db, pack, actor, f: RegisterFilter) -> list[int]:
    """The restricted alerts among the register's rows, read from the restricted-alert index (few rows)."""
    return list(db.scalars(_with_subject(select(Alert.id).select_from(Alert))
                           .where(Alert.restriction.is_not(None), *_register_conditions(pack, actor, f))
                           .order_by(Alert.id)))


def _register_page_ids(pack, actor, f: RegisterFilter, start: int, size: int):
    """The ids of one page of the register, in its order (by name: the customer's, or for a marker
    on a property its address). Each kind of subject is read in that order from the index on
    customers' names (or properties' addresses) and stops at the page's end, instead of every
    active marker being joined and sorted to show fifty."""
    conditions = _register_conditions(pack, actor, f)
    # (an inner join: the planner walks the customers by name only through one)
    on_customers = (select(Alert.id, Customer.name.label("name")).select_from(Alert)
                    .join(Customer, Alert.customer_id == Customer.id).where(*conditions))
    on_properties = (select(Alert.id, Property.address.label("name")).select_from(Alert)
                     .join(Property, Alert.property_id == Property.id).outerjoin(Customer, Alert.customer_id == Customer.id)
                     .where(Alert.customer_id.is_(None), *conditions))
    both = union_all(*[select(q.order_by(q.selected_columns.name, Alert.id).limit(start + size).subquery())
                       for q in (on_customers, on_properties)]).subquery()
    return select(both.c.id).order_by(both.c.name, both.c.id).offset(start).limit(size)


def _register_count(db, pack, actor, f: RegisterFilter) -> int:
    """How many markers the register lists: those matching the filters less those among them
    hidden from the actor (through the restricted-alert index), so that the larger count needs
    only the status index, not every active marker read for its restriction. With the rows' own
    joins: a marker on a property has no customer (an inner join to the customer left it out)."""
    # count(*) on the alert alone, unless a filter names the customer: the status index alone
    # answers it then (PostgreSQL drops unused outer joins, but reads the table once they are there)
    count = select(func.count()).select_from(Alert)
    count = (_with_subject(count) if f.customer else count).where(*_register_filtered(f))
    return db.scalar(count) - db.scalar(count.where(hidden(pack, actor)))


def _audit_register(db, actor, purpose, f, *, markers: int, restricted: list[int], **more):
    audit.record(db, actor=actor.username, action=f"register_{purpose}", markers=markers,
                 restricted_alerts=restricted, filters={k: v for k, v in f.__dict__.items() if v}, **more)


def active_register(db: Session, *, pack: Pack, actor: Actor, filters: RegisterFilter | None = None,
                    purpose: str = "viewed") -> list[dict]:
    """Active markers the actor may see: category, level, instruction, who placed it and when, next review."""
    _require_reader(pack, actor)
    f = _register_filters(pack, filters)
    rows = [_register_row(pack, r) for r in db.execute(_register_query(pack, actor, f))]
    _audit_register(db, actor, purpose, f, markers=len(rows), restricted=[r["alert"] for r in rows if r["restriction"]])
    return rows


def register_page(db: Session, *, pack: Pack, actor: Actor, filters: RegisterFilter | None = None,
                  start: int = 0, size: int = PAGE_SIZE) -> Page:
    """One page of the register (as active_register has it), with how many markers match in all."""
    _require_reader(pack, actor)
    f = _register_filters(pack, filters)
    start = max(0, start)
    ids = list(db.scalars(_register_page_ids(pack, actor, f, start, size)))
    rows = db.execute(_register_query(pack, actor, f).where(Alert.id.in_(ids))) if ids else []
    page = Page([_register_row(pack, r) for r in rows], _register_count(db, pack, actor, f), start, size)
    _audit_register(db, actor, "viewed", f, markers=len(page.rows),
                    restricted=[r["alert"] for r in page.rows if r["restriction"]], of=page.total, start=page.start)
    return page


def register_export(db: Session, *, pack: Pack, actor: Actor, filters: RegisterFilter | None = None) -> RegisterFilter:
    """Record the export of the whole register (how many markers, which restricted ones: from the
    index, without reading the rows); the rows are then read by `register_rows`."""
    _require_reader(pack, actor)
    f = _register_filters(pack, filters)
    total = _register_count(db, pack, actor, f)
    _audit_register(db, actor, "exported", f, markers=total, restricted=_restricted_in(db, pack, actor, f))
    return f


def register_rows(db: Session, *, pack: Pack, actor: Actor, filters: RegisterFilter, batch: int | None = None):
    """The register's rows one by one, fetched `batch` at a time (a streamed export holds one
    batch in memory, whatever the register's size); record the export first (register_export)."""
    _require_reader(pack, actor)
    query = _register_query(pack, actor, filters).execution_options(yield_per=batch or EXPORT_BATCH)
    for partition in db.execute(query).partitions():
        for r in partition:
            yield _register_row(pack, r)


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

def _tasks_query(pack, actor, *columns):
    """Human steps with their case, alert and customer, as columns: each table joined once (the
    models' lazy="joined" relationships would join them again)."""
    return _with_subject(select(HumanTask.id, HumanTask.title, HumanTask.role, HumanTask.assignee, HumanTask.due_at,
                                Case.id.label("case_id"), Case.kind, Case.created_at.label("case_created_at"),
                                Alert.id.label("alert_id"), SUBJECT_REFERENCE, *columns)
                         .select_from(HumanTask).join(Case, HumanTask.case_id == Case.id)
                         .join(Alert, Case.alert_id == Alert.id)).where(visible(pack, actor))


def _count_tasks(pack, actor, *conditions):
    return (select(func.count(HumanTask.id)).select_from(HumanTask).join(Case, HumanTask.case_id == Case.id)
            .join(Alert, Case.alert_id == Alert.id).where(visible(pack, actor), *conditions))


def age_band(days: int) -> str:
    for label, limit in AGE_BANDS:
        if limit is None or days <= limit:
            return label
    return AGE_BANDS[-1][0]


def _overdue_conditions():
    return (HumanTask.status.in_(OPEN_TASK), HumanTask.due_at.is_not(None), HumanTask.due_at < clock.overdue_before())


def overdue_steps(db: Session, *, pack: Pack, actor: Actor, start: int = 0, size: int | None = None,
                  total: int | None = None) -> Page:
    """Open human steps past their due day, most overdue first (a step due today is not overdue)."""
    query = _tasks_query(pack, actor).where(*_overdue_conditions()).order_by(HumanTask.due_at, HumanTask.id)

    def row(t):
        days = clock.days_late(t.due_at)
        return {"task": t.id, "title": t.title, "role": t.role, "role_name": wording.labelled(pack.roles, t.role),
                "assignee": t.assignee, "alert": t.alert_id, "customer": t.reference, "stage": t.kind,
                "due": _day(t.due_at), "days_overdue": days, "age": age_band(days)}
    return _page(db, query, _count_tasks(pack, actor, *_overdue_conditions()), start=start, size=size, row=row,
                 total=total)


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def count_by(rows: list[dict], key) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        k = key(row)
        out[k] = out.get(k, 0) + 1
    return _ranked(out)


def _counts_seen(db, every, of_hidden, keys: int = 0) -> dict[tuple, list[int]]:
    """A count of human steps as an actor may see them, by its first `keys` columns (the rest are
    counts): `every`, the count over every step, which needs no join to the alert (every step has
    one case and every case one alert), less `of_hidden`, the same count over the steps hidden from
    the actor (permissions.hidden on the step's copy of its alert's restriction). Joining each of
    tens of thousands of steps to its alert only to drop the 2% that are restricted cost most of the
    dashboard."""
    counts = {tuple(r[:keys]): list(r[keys:]) for r in db.execute(every)}
    for r in db.execute(of_hidden):
        counts[tuple(r[:keys])] = [n - m for n, m in zip(counts[tuple(r[:keys])], r[keys:])]
    return counts


def overdue_counts(db: Session, *, pack: Pack, actor: Actor) -> dict:
    """The overdue steps counted by role (its name), by person and by how long overdue, and in
    all: the open steps' tally (open_step_tally, kept by each flush that changes a step) summed
    over the days before today, less the overdue steps hidden from the actor, counted from the
    restricted records' open steps (few). Counting every overdue step (24,000 at 100,000 alerts) grew
    with the register; the tally has a row for each role, person and due day."""
    today = clock.local_day(clock.now())
    counts: dict[tuple, int] = {}
    for (role, who, due_day), n in open_step_tally.sums(db, due_before=today).items():
        k = (role, who, age_band((today - due_day).days))
        counts[k] = counts.get(k, 0) + n
    # a band's days late, as moments: due on or after the start of (today - limit) is at most `limit` days late
    band = case(*[(HumanTask.due_at >= clock.start_of_day(today - timedelta(days=limit)), label)
                  for label, limit in AGE_BANDS if limit is not None], else_=AGE_BANDS[-1][0])
    hidden_steps = (select(HumanTask.role, HumanTask.assignee, band, func.count(HumanTask.id))
                    .where(*_overdue_conditions(), hidden(pack, actor, HumanTask.restriction))
                    .group_by(HumanTask.role, HumanTask.assignee, band))
    for role, who, label, n in db.execute(hidden_steps):
        counts[(role, who, label)] = counts.get((role, who, label), 0) - n
    by_role: dict[str, int] = {}
    by_person: dict[str, int] = {}
    by_age = {label: 0 for label, _ in AGE_BANDS}
    total = 0
    for (role, who, label), n in counts.items():
        if not n:
            continue
        name, who = wording.labelled(pack.roles, role), who or "(not yet claimed)"
        by_role[name] = by_role.get(name, 0) + n
        by_person[who] = by_person.get(who, 0) + n
        by_age[label] += n
        total += n
    return {"by_role": _ranked(by_role), "by_person": _ranked(by_person), "by_age": by_age, "total": total}


def _review_conditions(pack, actor, overdue: bool, within_days: int):
    today = clock.local_day(clock.now())
    soon = clock.start_of_day(today + timedelta(days=within_days + 1))
    due_now = clock.overdue_before()  # due before today: overdue (days_late > 0)
    window = Alert.next_review_at < due_now if overdue else and_(Alert.next_review_at >= due_now,
                                                                     Alert.next_review_at < soon)
    return (Alert.status == AlertStatus.ACTIVE, Alert.next_review_at.is_not(None), window, visible(pack, actor))


def _alert_columns(*more):
    return _with_subject(select(Alert.id, Alert.category, SUBJECT_REFERENCE, *more).select_from(Alert))


def reviews_page(db: Session, *, pack: Pack, actor: Actor, overdue: bool, within_days: int = 30,
                 start: int = 0, size: int | None = None) -> Page:
    """Active markers whose review is overdue (its day has passed), or else due today or in the
    next `within_days` days; `days` counts whole days between the review's day and today."""
    conditions = _review_conditions(pack, actor, overdue, within_days)
    query = _alert_columns(Alert.next_review_at).where(*conditions).order_by(Alert.next_review_at, Alert.id)
    return _page(db, query, select(func.count(Alert.id)).where(*conditions), start=start, size=size,
                 row=lambda a: {"alert": a.id, "customer": a.reference, "category": a.category,
                                "due": _day(a.next_review_at), "days": abs(clock.days_late(a.next_review_at))})


def reviews(db: Session, *, pack: Pack, actor: Actor, within_days: int = 30) -> dict[str, list[dict]]:
    """Both lists of reviews_page, whole."""
    return {name: reviews_page(db, pack=pack, actor=actor, overdue=overdue, within_days=within_days).rows
            for name, overdue in (("overdue", True), ("due_soon", False))}


def _late_appeal_conditions():
    return (Case.kind == "appeal", Case.status == CaseStatus.RUNNING, HumanTask.kind == "step",
            HumanTask.status.in_(OPEN_TASK), HumanTask.due_at < clock.overdue_before())


def appeals_past_deadline(db: Session, *, pack: Pack, actor: Actor, start: int = 0, size: int | None = None) -> Page:
    """Appeals still open after the day their hearing was due. Counted over every late appeal
    less those hidden from the actor, and paged by the ids of one page first, each from the
    indexes of open steps by due date and of running cases by kind alone (0028b): joining each
    open step's row to its case and alert to show fifty cost more than the rest of the dashboard."""
    conditions = _late_appeal_conditions()
    late = select(func.count(HumanTask.id)).select_from(HumanTask).join(Case, HumanTask.case_id == Case.id).where(*conditions)
    (every,), (of_hidden,) = (db.execute(late).one(), db.execute(late.where(on_hidden_alert(pack, actor, Case.alert_id))).one())
    ids = (select(HumanTask.id).select_from(HumanTask).join(Case, HumanTask.case_id == Case.id)
           .join(Alert, Case.alert_id == Alert.id).where(visible(pack, actor), *conditions)
           .order_by(HumanTask.due_at, HumanTask.id))
    if size is not None:
        ids = list(db.scalars(ids.offset(max(0, start)).limit(size)))
    query = _tasks_query(pack, actor).where(HumanTask.id.in_(ids)).order_by(HumanTask.due_at, HumanTask.id)
    rows = [{"alert": t.alert_id, "customer": t.reference, "case": t.case_id, "task": t.id, "title": t.title,
             "role": t.role, "assignee": t.assignee, "due": _day(t.due_at), "days_overdue": clock.days_late(t.due_at),
             "lodged": _day(t.case_created_at)} for t in (db.execute(query) if size is None or ids else ())]
    return Page(rows, every - of_hidden, max(0, start) if size is not None else 0, size)


def _last_start_before(late, now) -> datetime:
    """The latest moment at or before now for which `late(moment)` holds, for a test that holds
    for every earlier moment once it holds (a deadline counted from the moment has passed):
    whatever started at or before it is late. Found by halving (to the microsecond), so such a
    list can be counted and paged in SQL on a plain date column."""
    hi = now
    if late(hi):
        return hi
    step = timedelta(days=1)
    lo = now - step
    while not late(lo):
        hi, step = lo, step * 2
        lo = now - step
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) / 2
        lo, hi = (mid, hi) if late(mid) else (lo, mid)
    return lo


def tenants_not_told(db: Session, *, pack: Pack, actor: Actor, start: int = 0, size: int | None = None) -> Page:
    """Active markers whose latest decision is older than the pack's `tell_tenant_within` while
    the tenant has not been told: the deciding case has no letter recorded as delivered, and no
    reason for not telling recorded. A letter issued but not delivered has not told anyone: the
    deadline runs until its delivery is recorded (for a posted letter, its posting). Read from the
    alert's projections (`decision_case_id`, `tenant_told`, kept by the engine), not the audit log."""
    within = pack.registers.tell_tenant_within
    if not within:
        return Page([], 0)
    now = clock.now()
    deadline = lambda decided: clock.duration_after(clock.as_utc(decided), within, pack.calendar)  # noqa: E731
    conditions = (Alert.status == AlertStatus.ACTIVE, Alert.tenant_told.is_(None), Alert.decision_case_id.is_not(None),
                  Alert.decided_at.is_not(None), Alert.decided_at <= _last_start_before(lambda t: clock.is_past(deadline(t), now), now),
                  visible(pack, actor))
    first_issued = (select(func.min(Letter.issued_at)).where(Letter.alert_id == Alert.id,
                                                             Letter.case_id == Alert.decision_case_id,
                                                             letters.to_tenant(pack))
                    .correlate(Alert).scalar_subquery())
    query = (_alert_columns(Alert.decision_case_id, Alert.decided_by, Alert.decided_at, first_issued.label("issued"))
             .where(*conditions).order_by(Alert.decided_at, Alert.id))

    def row(a):
        due = deadline(a.decided_at)
        return {"alert": a.id, "customer": a.reference, "case": a.decision_case_id,
                "letter": f"letter issued {wording.day(a.issued)}, not yet delivered" if a.issued
                else "no letter issued, and no reason for not telling recorded",
                "issued": _day(a.issued), "decided_by": a.decided_by, "decided": _day(a.decided_at),
                "deadline": _day(due), "days_late": clock.days_late(due, now)}
    return _page(db, query, select(func.count(Alert.id)).where(*conditions), start=start, size=size, row=row)


def interim_without_assessment(db: Session, *, pack: Pack, actor: Actor, start: int = 0,
                               size: int | None = None) -> Page:
    """Urgent interim markers (shown to staff at once) whose full assessment has not yet decided."""
    now = clock.now()
    conditions = (Alert.status == AlertStatus.ACTIVE, Alert.decision_no == 0, visible(pack, actor))
    query = _alert_columns(Alert.placed_by, Alert.placed_at).where(*conditions).order_by(Alert.placed_at, Alert.id)
    return _page(db, query, select(func.count(Alert.id)).where(*conditions), start=start, size=size,
                 row=lambda a: {"alert": a.id, "customer": a.reference, "category": a.category,
                                "placed_by": a.placed_by, "placed": _day(a.placed_at),
                                "days": clock.days_late(a.placed_at, now) if a.placed_at else None})


def _first_end(moment, ends, test):
    """SQL: the index of the first of `ends` for which `test(moment, end)` holds (len(ends) if none)."""
    return case(*[(test(moment, end), i) for i, end in enumerate(ends)], else_=len(ends))


def weekly_steps(db: Session, *, pack: Pack, actor: Actor, weeks: int = 12) -> list[dict]:
    """Open and overdue human steps at the end of each of the last `weeks` weeks (the last is now):
    a step is open at a moment from its creation until it is completed (or its case closed), and
    overdue then as the dashboard counts it (its due day past).

    Each step of these weeks is put in SQL in the week it was created, the week it closed and the
    week it fell overdue (a few hundred groups, counted as the actor may see them); a step is open
    at the ends from its creation's to before its closing's, and overdue from the later of its
    creation's and its due day's. Counting 24 conditions on every step of ten years, each joined to
    its case and alert, cost more than the rest of the dashboard. (Reading a cancelled step's case
    in a subquery instead of the union made PostgreSQL cost the statement so high that it compiled
    it (JIT) at each request: 4 s.)"""
    now = clock.now()
    ends = [now - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    still_open = HumanTask.status.in_(OPEN_TASK)

    def counted(*among):
        # the steps open at some moment of these weeks: open now, or closed since the first end
        # (the index of closed steps by completed_at finds them among ten years of steps): completed,
        # or ended with their case (cancelled: no completed_at; closed when the case last changed)
        recent = (select(HumanTask.case_id, HumanTask.created_at, HumanTask.due_at,
                         case((still_open, None), else_=HumanTask.completed_at).label("closed_at"))
                  .where(or_(still_open, and_(~still_open, HumanTask.completed_at >= ends[0])), *among))
        cancelled = (select(HumanTask.case_id, HumanTask.created_at, HumanTask.due_at, Case.updated_at)
                     .join(Case, HumanTask.case_id == Case.id)
                     .where(~still_open, HumanTask.completed_at.is_(None), Case.updated_at >= ends[0], *among))
        steps = recent.union_all(cancelled).subquery()
        created = _first_end(steps.c.created_at, ends, lambda at, end: at <= end)
        closed = case((steps.c.closed_at.is_(None), weeks),
                      else_=_first_end(steps.c.closed_at, ends, lambda at, end: at <= end))
        late = case((steps.c.due_at.is_(None), weeks),
                    else_=_first_end(steps.c.due_at, ends, lambda at, end: at < clock.overdue_before(end)))
        return (select(created, closed, late, func.count()).select_from(steps).where(steps.c.created_at <= now)
                .group_by(created, closed, late))
    groups = _counts_seen(db, counted(), counted(hidden(pack, actor, HumanTask.restriction)), keys=3)
    opened, overdue = [0] * weeks, [0] * weeks
    for (first, last, due), (n,) in groups.items():
        for i in range(first, last):
            opened[i] += n
        for i in range(max(first, due), last):
            overdue[i] += n
    return [{"week_ending": _day(end), "open": opened[i], "overdue": overdue[i]} for i, end in enumerate(ends)]


# how long the background round's count of the charts is shown; older (a round missed, or the
# clock moved back), they are counted at the request instead
CHARTS_SHOWN_FOR = timedelta(minutes=10)


def _seen(pack: Pack, actor: Actor) -> str:
    """Which restricted records this actor may see, as a summary's key: readers with the same key
    see the same steps and markers, so the same charts."""
    return ",".join(sorted(restrictions_admitting(pack, actor)))


def charts_as_counted(db: Session, *, pack: Pack, actor: Actor) -> tuple[list[dict], list[dict], datetime | None]:
    """The dashboard's charts (weekly_steps, markers_by_category_and_level) as the background
    round last counted them (count_charts) for readers who see what this actor sees, and when:
    exactly what those give at that moment. Without such a count from the last CHARTS_SHOWN_FOR,
    counted now (and None for when)."""
    summary = db.get(DashboardSummary, (pack.key, _seen(pack, actor)))
    if summary is not None and timedelta(0) <= clock.now() - clock.as_utc(summary.counted_at) <= CHARTS_SHOWN_FOR:
        return summary.weeks, summary.markers, clock.as_utc(summary.counted_at)
    return weekly_steps(db, pack=pack, actor=actor), markers_by_category_and_level(db, pack=pack, actor=actor), None


def count_charts(db: Session, *, pack: Pack) -> int:
    """The background round's count of the dashboard's charts, once for each set of restricted
    records that some active reader of the registers may see; a set no reader has any more is
    dropped. Returns how many sets were counted."""
    roles: dict[str, set[str]] = {}
    for username, role in db.execute(select(User.username, UserRole.role).join(UserRole, UserRole.user_id == User.id)
                                     .where(User.active.is_(True))):
        roles.setdefault(username, set()).add(role)
    readers: dict[str, Actor] = {}
    one_of_each = {frozenset(held): username for username, held in sorted(roles.items(), reverse=True)}
    for held, username in one_of_each.items():  # what a reader sees follows from their roles alone
        reader = actor_of(db, pack, username, held)
        if may_read_registers(pack, reader):
            readers.setdefault(_seen(pack, reader), reader)
    now = clock.now()
    for seen, reader in readers.items():
        weeks = weekly_steps(db, pack=pack, actor=reader)
        markers = markers_by_category_and_level(db, pack=pack, actor=reader)
        summary = db.get(DashboardSummary, (pack.key, seen))
        if summary is None:
            db.add(DashboardSummary(pack=pack.key, seen=seen, counted_at=now, weeks=weeks, markers=markers))
        else:
            summary.counted_at, summary.weeks, summary.markers = now, weeks, markers
    db.execute(delete(DashboardSummary).where(DashboardSummary.pack == pack.key,
                                              DashboardSummary.seen.not_in(list(readers))))
    return len(readers)


def markers_by_category_and_level(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """How many active markers there are of each category and level."""
    query = (select(Alert.category, Alert.level, func.count())
             .where(Alert.status == AlertStatus.ACTIVE, visible(pack, actor))
             .group_by(Alert.category, Alert.level).order_by(Alert.category, Alert.level))
    return [{"category": c, "category_label": pack.categories[c].label if c in pack.categories else c,
             "level": level or "no level", "count": n} for c, level, n in db.execute(query)]


def past_retention(db: Session, *, pack: Pack, actor: Actor, start: int = 0, size: int | None = None) -> Page:
    """Closed records (marker removed, or no marker placed) kept longer than the pack's
    `retain_closed_for` since they closed: for compliance staff to act on. Nothing is deleted here."""
    period = pack.registers.retain_closed_for
    if not period:
        return Page([], 0)
    now = clock.now()
    until = lambda closed: clock.duration_after(clock.as_utc(closed), period, pack.calendar)  # noqa: E731
    last = _last_start_before(lambda closed: until(closed) < now, now)  # kept past its time
    closed_at = func.coalesce(Alert.removed_at, Alert.decided_at, Alert.reported_at)
    conditions = (Alert.status.in_((AlertStatus.REMOVED, AlertStatus.NOT_PLACED)), visible(pack, actor),
                  closed_at <= last)
    query = _alert_columns(Alert.status, closed_at.label("closed")).where(*conditions).order_by(closed_at, Alert.id)

    def row(a):
        closed = clock.as_utc(a.closed)
        keep = until(closed)
        return {"alert": a.id, "customer": a.reference, "status": a.status,
                "closed": _day(closed), "keep_until": _day(keep), "days_past": (now - keep).days}
    return _page(db, query, select(func.count(Alert.id)).where(*conditions), start=start, size=size, row=row)


TABLES = ("overdue", "reviews_overdue", "reviews_due_soon", "appeals_late", "not_told", "interim", "past_retention")


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
    # when the background round counted the charts shown (None: counted at this request)
    charts_counted_at: str | None = None
    tell_tenant_within: str | None = None
    past_retention: list[dict] = field(default_factory=list)
    retain_closed_for: str | None = None
    # housing system feed events still undelivered after [feed] failing_after attempts
    feed_failing: list[dict] = field(default_factory=list)
    feed_name: str | None = None
    # each table's whole count and the offset of the page shown (a table is paged on the web page)
    totals: dict[str, int] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)
    page_size: int | None = None
    generated_at: str = field(default_factory=lambda: clock.now().isoformat())


def dashboard(db: Session, *, pack: Pack, actor: Actor, size: int | None = None,
              starts: dict[str, int] | None = None) -> Dashboard:
    """Everything on the overdue dashboard, as this actor may see it: each table whole, or with a
    page `size`, the page of each from its offset in `starts` (table name -> offset), with its count."""
    _require_reader(pack, actor)
    starts = starts or {}
    paged = lambda fn, name, **kw: fn(db, pack=pack, actor=actor, start=starts.get(name, 0), size=size, **kw)  # noqa: E731
    counts = overdue_counts(db, pack=pack, actor=actor)
    pages = {
        "overdue": paged(overdue_steps, "overdue", total=counts.pop("total")),
        "reviews_overdue": paged(reviews_page, "reviews_overdue", overdue=True),
        "reviews_due_soon": paged(reviews_page, "reviews_due_soon", overdue=False),
        "appeals_late": paged(appeals_past_deadline, "appeals_late"),
        "not_told": paged(tenants_not_told, "not_told"),
        "interim": paged(interim_without_assessment, "interim"),
        "past_retention": paged(past_retention, "past_retention"),
    }
    weeks, markers, counted_at = charts_as_counted(db, pack=pack, actor=actor)
    return Dashboard(
        **{name: page.rows for name, page in pages.items()},
        **counts,
        weeks=weeks, markers=markers, charts_counted_at=counted_at.isoformat() if counted_at else None,
        tell_tenant_within=pack.registers.tell_tenant_within,
        retain_closed_for=pack.registers.retain_closed_for,
        feed_failing=feed.failing(db, pack=pack, visible=visible(pack, actor)),
        feed_name=pack.feed.name if pack.feed else None,
        totals={name: page.total for name, page in pages.items()},
        starts={name: page.start for name, page in pages.items()}, page_size=size,
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

"""The task inbox, the same on the web page and the command line: a person's own steps and their roles' unclaimed
steps, each sorted by due date, with the counts for the page header; and who a step may be
handed to (who may read a case's story is workflows/permissions.py). Restricted records are
filtered in the query, never after."""
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select, true
from sqlalchemy.orm import Session

from workflows.platform import clock, paging, wording
from workflows.platform.errors import FormInvalid, NotFound, WorkflowError
from workflows.cases.assignment import Actor, roles_acting_for
from workflows.tasks import open_step_tally
from workflows.platform.models import (Alert, Customer, HumanTask, HumanTaskExclusion, OPEN_TASK, Property,
                                       SavedFilter, TaskStatus, User, UserRole)
from workflows.definitions.pack import Pack
from workflows.permissions import hidden as hidden_from, managed_roles, restrictions_admitting, visible


def not_excluded(username: str):
    """SQL condition: the step does not exclude this person (one primary-key probe per step)."""
    return ~exists().where(HumanTaskExclusion.task_id == HumanTask.id, HumanTaskExclusion.username == username)


WHOSE = {"all": "Everything waiting for me", "mine": "Assigned to me", "roles": "My roles, unclaimed"}
SORTS = {"due": "Due date, soonest first", "age": "Age, oldest first"}


@dataclass(frozen=True)
class Filters:
    """What a person narrows their inbox to, the same from the page's form and the command line."""
    whose: str = "all"  # all | mine | roles
    overdue: bool = False
    due_this_week: bool = False
    category: str = ""  # a category key of the pack
    customer: str = ""  # a customer's reference
    search: str = ""  # words in the step's title, or the customer's name or reference
    sort: str = "due"
    page: int = 1
    per_page: int = paging.PER_PAGE

    @classmethod
    def read(cls, pack: Pack, values) -> "Filters":
        """From a mapping of text (request.args, the CLI's options); a value that makes no sense is
        refused by name, in words (WorkflowError), rather than quietly ignored."""
        def text(key):
            return str(values.get(key) or "").strip()

        def flag(key):
            return text(key).lower() in ("1", "yes", "true", "on")

        whose, sort, category = text("whose") or "all", text("sort") or "due", text("category")
        if whose not in WHOSE:
            raise WorkflowError(f"show must be one of {wording.and_list(WHOSE, conjunction='or')}, not '{whose}'")
        if sort not in SORTS:
            raise WorkflowError(f"sort by must be one of {wording.and_list(SORTS, conjunction='or')}, not '{sort}'")
        if category and category not in pack.categories:
            known = wording.and_list([f"{c.key} ({c.label})" for c in pack.categories.values()], conjunction="or")
            raise WorkflowError(f"there is no kind of concern '{category}' in this policy; choose {known}")
        per_page = paging.page_number(text("per_page") or paging.PER_PAGE, what="number of rows a page")
        return cls(whose=whose, overdue=flag("overdue"), due_this_week=flag("due_this_week"), category=category,
                   customer=text("customer"), search=text("q")[:200], sort=sort,
                   page=paging.page_number(text("page")), per_page=min(per_page, paging.MOST_PER_PAGE))

    def as_args(self, **changes) -> dict:
        """The filters as a page's query string (only what differs from the default), for links."""
        chosen = {"whose": self.whose, "overdue": self.overdue, "due_this_week": self.due_this_week,
                  "category": self.category, "customer": self.customer, "q": self.search, "sort": self.sort,
                  "page": self.page, "per_page": self.per_page, **changes}
        default = {"whose": "all", "sort": "due", "page": 1, "per_page": paging.PER_PAGE}
        return {k: ("1" if v is True else v) for k, v in chosen.items() if v and default.get(k) != v}


@dataclass
class Inbox:
    mine: paging.Page | None  # rows: id, title, kind, role, assignee, status, due_at, created_at, alert_id,
    unclaimed: paging.Page | None  # category, level, customer_name, customer_ref
    mine_count: int
    unclaimed_count: int
    overdue_count: int
    filters: Filters


def _mine(actor: Actor):
    return and_(HumanTask.status == TaskStatus.CLAIMED, HumanTask.assignee == actor.username)


def _for_my_roles(actor: Actor):
    return and_(HumanTask.status == TaskStatus.READY, HumanTask.role.in_(actor.acting_roles))


def _unclaimed(pack: Pack, actor: Actor):
    return and_(_for_my_roles(actor), not_excluded(actor.username))


def _known(pack, actor):
    """SQL condition: the step is on an alert this actor may know exists, judged on the step's own
    copy of its alert's restriction: a list or count of steps joins no step to its alert to apply
    need to know (the alert's own columns are read for a page's rows only, and judged again there)."""
    return visible(pack, actor, HumanTask.restriction)


def _query(pack, actor, condition):
    return select(HumanTask).where(condition, _known(pack, actor))


def _rows(pack, actor, condition):
    """Just what an inbox line shows, as plain rows: no ORM objects to build for a long list."""
    return (select(HumanTask.id, HumanTask.title, HumanTask.kind, HumanTask.role, HumanTask.assignee, HumanTask.status,
                   HumanTask.due_at, HumanTask.created_at, HumanTask.alert_id, Alert.category, Alert.level,
                   # the marker's subject: a customer, or a property (by its address)
                   func.coalesce(Customer.name, Property.address).label("customer_name"),
                   func.coalesce(Customer.reference, Property.reference).label("customer_ref"))
            .join(Alert, HumanTask.alert_id == Alert.id)
            .outerjoin(Customer, Alert.customer_id == Customer.id).outerjoin(Property, Alert.property_id == Property.id)
            .where(condition, visible(pack, actor)))


def _narrowed(filters: Filters):
    """SQL conditions for the filters (beside whose steps they are)."""
    return _step_narrowed(filters) + _alert_narrowed(filters)


def _step_narrowed(filters: Filters):
    """The filters on the step's own columns: counted from the task indexes alone (_totals)."""
    conditions = []
    today = clock.overdue_before()
    if filters.overdue:
        conditions.append(and_(HumanTask.due_at.is_not(None), HumanTask.due_at < today))
    if filters.due_this_week:
        # from today to the end of Sunday, on the organisation's calendar
        day = clock.local_day(clock.now())
        conditions.append(and_(HumanTask.due_at >= today,
                               HumanTask.due_at < clock.start_of_day(day + timedelta(days=7 - day.weekday()))))
    return conditions


def _alert_narrowed(filters: Filters):
    """The filters on the step's alert: its category, its customer, the search. Each is the set of
    the alerts it keeps, matched on the step's alert_id (a customer's by the ids of the customers
    found, through their trigram indexes on PostgreSQL), so neither a list nor a count joins each
    candidate step to its alert and customer to filter."""
    conditions = []
    if filters.category:
        conditions.append(_on_alerts(Alert.category == filters.category))
    if filters.customer:
        conditions.append(_on_alerts(Alert.customer_id.in_(select(Customer.id).where(
            func.lower(Customer.reference) == filters.customer.lower()))))
    if filters.search:
        like = f"%{filters.search}%"
        # the steps by their title's trigram index (0028c), not by reading every candidate step's row
        titled = select(HumanTask.id).where(HumanTask.status.in_(OPEN_TASK), HumanTask.title.ilike(like))
        conditions.append(or_(HumanTask.id.in_(titled.correlate(None)), _on_alerts(Alert.customer_id.in_(
            select(Customer.id).where(or_(Customer.name.ilike(like), Customer.reference.ilike(like)))))))
    return conditions


def _on_alerts(condition):
    """SQL condition: the step is on one of the alerts meeting `condition`."""
    return HumanTask.alert_id.in_(select(Alert.id).where(condition).correlate(None))


def _order(filters: Filters):
    # NULLS LAST is PostgreSQL's own order for an ascending index, so it can read the
    # (status, role, due_at) index in order and stop at the limit
    if filters.sort == "age":
        return (HumanTask.created_at.asc(), HumanTask.id)
    return (HumanTask.due_at.asc().nulls_last(), HumanTask.id)


def page_of(db: Session, *, pack: Pack, actor: Actor, filters: Filters, whose: str,
            total: int | None = None) -> paging.Page:
    """One section ("mine" or "roles") of the inbox, narrowed, sorted and paged in SQL, with its total
    (`total`: given when the caller counted it, as sections() does for both sections at once)."""
    condition = _mine(actor) if whose == "mine" else _unclaimed(pack, actor)
    if total is None and not filters.search:  # a search is counted as its page is found (_paged)
        total = _totals(db, pack, actor, [condition], filters)[0]
    return _paged(db, pack, actor, condition, filters, total)


def _paged(db, pack, actor, condition, filters, total) -> paging.Page:
    """The page of the open steps meeting `condition` and the filters, as a deferred join: the page's
    step ids first, in order, from the task indexes alone (need to know and the filters on the
    alert judged on each step's alert_id: _known, _alert_narrowed; a deep page skips its steps
    there, without building their rows or joining their alerts and customers), then the page's rows
    alone. `total` None (a search): counted with the ids, since the few steps a search finds lie
    scattered among the candidates: a walk to the page would read about as many as the count did.
    The first page of a counted list is read in one statement, its rows directly: it skips nothing,
    so the deferred join would only add a round trip to the page every list opens on."""
    if total is not None and filters.page <= 1:
        rows = _rows(pack, actor, and_(condition, *_narrowed(filters))).order_by(*_order(filters))
        return paging.fetch(db, rows, number=1, per_page=filters.per_page, total=total)
    keys = select(HumanTask.id).where(condition, _known(pack, actor), *_narrowed(filters))
    return paging.fetch(db, keys.order_by(*_order(filters)), number=filters.page, per_page=filters.per_page,
                        total=total, rows_of=lambda ids: _rows(pack, actor, HumanTask.id.in_(ids)),
                        count_with_keys=True)


def _hidden(pack: Pack, actor: Actor, columns, *conditions):
    """A query of the counts (`columns`) of the open steps meeting `conditions` on restricted records
    this actor may not know exist, from the small index of open steps on restricted records (0030).
    Subtracted from a count of the steps alone, it gives what they may see."""
    return select(*columns).where(hidden_from(pack, actor, HumanTask.restriction), HumanTask.status.in_(OPEN_TASK),
                                  *conditions)


def _totals(db, pack, actor, sections, filters) -> list[int]:
    """The rows each of these sections (their SQL conditions) holds once narrowed, counted together
    in one statement, need to know applied as in the lists: filters on the step alone count the
    steps from the task indexes less those on restricted records the actor may not see (_hidden);
    filters on the alert keep the candidate steps on the alerts they match and the actor may know
    exist (_known), each judged on the step's alert_id. Each section is counted on its own (its own
    index, no OR of the sections and no FILTER repeating a section's exclusion probe for every step
    counted), the few hidden steps of all of them together."""
    if _alert_narrowed(filters):
        counts = [select(func.count()).select_from(HumanTask).where(section, _known(pack, actor), *_narrowed(filters))
                  .scalar_subquery() for section in sections]
        return list(db.execute(select(*counts)).one())
    steps = _step_narrowed(filters)
    counts = [select(func.count()).select_from(HumanTask).where(section, *steps).scalar_subquery()
              for section in sections]
    hidden = _hidden(pack, actor, [func.count().filter(section) for section in sections],
                     or_(*sections), *steps).subquery()
    row = db.execute(select(*counts, hidden)).one()
    return [row[i] - row[len(sections) + i] for i in range(len(sections))]


def sections(db: Session, *, pack: Pack, actor: Actor, filters: Filters | None = None) -> Inbox:
    """Assigned to me, and my roles' unclaimed steps, as the filters choose: each a page, with the
    header's counts (which ignore the filters: they say what is waiting in all)."""
    filters = filters or Filters()
    counts = header_counts(db, pack=pack, actor=actor)  # the totals too, when no filter narrows a list
    shown = {"mine": _mine(actor), "roles": _unclaimed(pack, actor)}
    if filters.whose != "all":
        shown = {filters.whose: shown[filters.whose]}
    if filters.search:  # each section counted as its page is found (_paged)
        totals = {"mine": None, "roles": None}
    elif _narrowed(filters):  # the sections shown counted in one statement
        totals = dict(zip(shown, _totals(db, pack, actor, list(shown.values()), filters)))
    else:
        totals = {"mine": counts[0], "roles": counts[1]}
    mine = (page_of(db, pack=pack, actor=actor, filters=filters, whose="mine", total=totals["mine"])
            if "mine" in shown else None)
    unclaimed = (page_of(db, pack=pack, actor=actor, filters=filters, whose="roles", total=totals["roles"])
                 if "roles" in shown else None)
    return Inbox(mine, unclaimed, *counts, filters=filters)


def header_counts(db: Session, *, pack: Pack, actor: Actor) -> tuple[int, int, int]:
    """(mine, my roles' unclaimed, overdue among both), counting only what the actor may see.

    Counted as every open step of theirs (their own from the task index; their roles' unclaimed
    from the open steps' tally, a sum over the roles' due days however many steps wait), less the
    steps that exclude them (few, found from their exclusions), less those on restricted records
    they may not see (few, found from the alert side: _hidden), the three in one statement (one
    round trip in every page's header): a join of every open step to its alert, or a probe of the
    exclusions for every open step, costs several times more on a large register."""
    key = (actor.acting_roles, tuple(restrictions_admitting(pack, actor)))
    statement = _HEADER_COUNTS.get(key)
    if statement is None:
        if len(_HEADER_COUNTS) > 1000:  # more sets of roles than a landlord has: start again
            _HEADER_COUNTS.clear()
        # built for a stand-in whose username is a parameter, so any holder of these roles can run it
        statement = _HEADER_COUNTS[key] = _header_counts_query(pack, replace(actor, username=bindparam("username")))
    overdue_before = clock.overdue_before()  # one answer: the steps compare it as a moment, the tally as a day
    row = db.execute(statement, {"username": actor.username, "overdue_before": overdue_before,
                                 "today": clock.local_day(overdue_before)}).one()
    everything = (row[0], row[2], row[1] + row[3])
    return tuple(everything[i] - row[4 + i] - row[7 + i] for i in range(3))


# The header's statement for each set of acting roles and restrictions admitted (all it depends on
# besides the person, a parameter), built once: on every page, building it cost more Python
# (about 0.9 ms) than the database took to run it.
_HEADER_COUNTS: dict = {}


def _header_counts_query(pack: Pack, actor: Actor):
    overdue = and_(HumanTask.due_at.is_not(None),
                   HumanTask.due_at < bindparam("overdue_before", type_=HumanTask.due_at.type))
    for_role = _for_my_roles(actor)
    columns = (func.count().filter(_mine(actor)), func.count().filter(for_role), func.count().filter(overdue))
    # mine (claimed) from its index (status, assignee, due_at); my roles' (ready) from the tally,
    # whose rows are a role's due days: not both from one scan of every open step
    mine = select(func.count(), func.count().filter(overdue)).where(_mine(actor)).subquery()
    for_roles = open_step_tally.unclaimed(actor.acting_roles).subquery()
    excluded = (select(*columns).select_from(HumanTaskExclusion)
                .join(HumanTask, HumanTask.id == HumanTaskExclusion.task_id)
                .where(HumanTaskExclusion.username == actor.username, for_role, ~_mine(actor))).subquery()
    hidden = _hidden(pack, actor, columns, or_(_mine(actor), _unclaimed(pack, actor))).subquery()
    return select(mine, for_roles, excluded, hidden).select_from(
        mine.join(for_roles, true()).join(excluded, true()).join(hidden, true()))


def team_page(db: Session, *, pack: Pack, actor: Actor, filters: Filters) -> paging.Page:
    """For a role's manager: the open steps, claimed or not, of the roles ranked below them
    (permissions.managed_roles), narrowed, sorted and paged like the inbox; need to know applies."""
    roles = managed_roles(pack, actor)
    condition = and_(HumanTask.status.in_(OPEN_TASK), HumanTask.role.in_(roles))
    total = None if filters.search else _totals(db, pack, actor, [condition], filters)[0]
    return _paged(db, pack, actor, condition, filters, total)


def team_members(db: Session, *, pack: Pack, actor: Actor) -> list[User]:
    """Active people holding a role this manager manages: whom the team view offers to hand steps to."""
    roles = managed_roles(pack, actor)
    return list(db.scalars(select(User).join(UserRole).where(User.active.is_(True), UserRole.role.in_(roles))
                           .distinct().order_by(User.username)))


def saved_filters(db: Session, *, actor: Actor) -> list[SavedFilter]:
    """The person's own saved filters and those shared with a role they hold, by name."""
    return list(db.scalars(select(SavedFilter).where(or_(
        and_(SavedFilter.role.is_(None), SavedFilter.owner == actor.username),
        SavedFilter.role.in_(actor.roles))).order_by(SavedFilter.name, SavedFilter.id)))


def save_filter(db: Session, *, pack: Pack, actor: Actor, name: str, role: str | None, filters: Filters) -> SavedFilter:
    """Keep the filters (not the page) under a name, for the person alone or shared with one of their
    roles; saving again under the same name and sharing replaces it."""
    name, role = (name or "").strip(), (role or None)
    if not name:
        raise FormInvalid({"name": "Give the saved filter a name, such as \"Overdue, partner information\""})
    if len(name) > 80:
        raise FormInvalid({"name": "Keep the name under 80 characters"})
    if role is not None and role not in actor.roles:
        raise FormInvalid({"role": "Share it with one of your own roles, or keep it to yourself"})
    args = filters.as_args(page=None)
    if not args:
        raise FormInvalid({"name": "Choose some filters first: with none, the saved filter would be the whole inbox"})
    same = db.scalar(select(SavedFilter).where(SavedFilter.name == name, SavedFilter.owner == actor.username,
                                               SavedFilter.role.is_(None) if role is None else SavedFilter.role == role))
    saved = same or SavedFilter(name=name, owner=actor.username, role=role)
    saved.args, saved.saved_at = args, clock.now()
    db.add(saved)
    return saved


def delete_saved_filter(db: Session, *, actor: Actor, filter_id: int) -> SavedFilter:
    """Whoever saved a filter may delete it (a shared one too, for everyone)."""
    saved = db.get(SavedFilter, filter_id)
    if saved is None or saved.owner != actor.username:
        raise NotFound(f"you have no saved filter {filter_id}")
    db.delete(saved)
    return saved


def landing_page(db: Session, *, pack: Pack, actor: Actor) -> str:
    """Where someone starts after signing in (a key of pack.LANDING_PAGES): their inbox when a step
    waits there for them, else the page [roles.X] lands_on names for the most senior of their roles
    (the first in the pack's order among equals), the inbox where it names none: an ASB manager who
    is also staff works from the inbox, not from check before visiting."""
    mine, unclaimed, _ = header_counts(db, pack=pack, actor=actor)
    held = [role for key, role in pack.roles.items() if key in actor.roles]
    if mine or unclaimed or not held:
        return "inbox"
    senior = max(held, key=lambda role: role.rank)  # max keeps the first of equals
    return senior.lands_on or "inbox"


def is_overdue(task) -> bool:
    """A task (or an inbox row) still open after its due day (due on a day, it is due all of it)."""
    return task.due_at is not None and task.status in OPEN_TASK and clock.is_past(task.due_at)


def open_steps(db: Session, *, pack: Pack, actor: Actor, alert_id: int) -> list[HumanTask]:
    """The steps now waiting on an alert the actor may see (what happens next, after a step)."""
    return list(db.scalars(_query(pack, actor, and_(HumanTask.alert_id == alert_id,
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

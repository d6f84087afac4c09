"""What staff are shown of a marker (the instruction, never the reasons): the register as an
actor needs to know it, the check before a visit and the visit list. Restricted records are
filtered in the query, so they never reach a list or a count."""
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, or_, select, text as sql_text, union
from sqlalchemy.orm import Session, lazyload

from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.compliance import audit
from workflows.definitions.pack import Pack
from workflows.platform import clock, paging, wording
from workflows.platform.errors import WorkflowError
from workflows.platform.models import Alert, AlertStatus, Customer, Property
from workflows.register import tenancy as tenancies


def _iso(day):
    return day.isoformat() if day else None


def _day(moment):
    return clock.local_day(moment).isoformat() if moment else None


def next_review_date(alert: Alert):
    """The day the marker's next review falls due: the one answer every page, list, letter and export
    gives. The register keeps it in step with the timer of the marker's one waiting review case
    (schedule_review, reschedule_review, start_review_now, a migration)."""
    return clock.local_day(alert.next_review_at) if alert.next_review_at else None


def instruction_to_staff(pack: Pack, alert: Alert) -> dict:
    """What staff, contractors and other systems are shown of an active marker: the instruction,
    never the reasons; a restricted marker shows only the pack's instruction for it."""
    rule = pack.restrictions.get(alert.restriction or "")
    return {
        "alert": alert.id, "category": None if rule else alert.category,
        "code": None if rule else alert.marker_code, "level": None if rule else alert.level,
        "instruction": rule.staff_instruction if rule else alert.marker_text,
        "control_measures": list(rule.control_measures) if rule else list(alert.control_measures or []),
        # the pack's [marker_fields] (e.g. contact restrictions), as staff read them
        "details": [] if rule else marker_details(pack, alert),
        "since": _day(alert.placed_at), "next_review": None if rule else _iso(next_review_date(alert)),
    }


CODES = (("code", "marker_code"), ("level", "level"))  # what instruction_to_staff calls them, and the register


def code_labels(db: Session, pack: Pack) -> dict[str, dict[str, str]]:
    """What the pack's forms call the register's codes ({"level": {"L2": "Level 2: medium risk"}, ...})."""
    from workflows.definitions import deployment  # deployment checks the actions, which read the register
    return {name: deployment.option_labels(db, pack=pack.key, field_id=name) for _, name in CODES}


def kind_in_words(shown: dict, labels: dict) -> str:
    """A marker's code and level as staff read them, by the labels the pack's forms give them ("VIP:
    visit in pairs; Level 2: medium risk"), a code no form labels as it is; empty when it has neither
    (a restricted marker shows neither). The words check before visiting gives on the web and the CLI."""
    return "; ".join(wording.labelled(labels.get(name) or {}, shown[key]) for key, name in CODES if shown.get(key))


def put_kind_in_words(db: Session, pack: Pack, shown: list[dict]) -> None:
    """Give each marker shown its code and level in words (`kind`); the pack's labels are read only
    when one of them has a code or a level (most checks show none, and cost no query for it)."""
    labels = code_labels(db, pack) if any(m.get("code") or m.get("level") for m in shown) else {}
    for m in shown:
        m["kind"] = kind_in_words(m, labels)


def marker_details(pack: Pack, alert: Alert, *, readers: bool = False) -> list[str]:
    """The pack's [marker_fields] on this marker, each by its label as people read it ("Contact
    restrictions: a; b", "Marker expires on: 1 June 2029"): those `visible_to = "staff"`, and with
    `readers` (a story, read only by those permissions.may_read_story admits) the readers-only ones too."""
    held, values = alert.marker_details or {}, alert.marker_values or {}
    shown = []
    for name, spec in pack.marker_fields.items():
        if spec.visible_to != "staff" and not readers:
            continue
        if held.get(name):  # an enum's options, by their labels
            shown.append(f"{spec.label}: {'; '.join(held[name])}")
        elif values.get(name) not in (None, "", []):
            shown.append(f"{spec.label}: {wording.value(values[name], field_type=spec.type)}")
    return shown


def alerts(db: Session, *, pack: Pack, actor: Actor, status: str | None = "active") -> list[Alert]:
    """The register as this actor needs to know it: the alerts whose stories they may read."""
    query = select(Alert).where(permissions.story_readable(pack, actor)).order_by(Alert.id)
    if status:
        query = query.where(Alert.status == status)
    return list(db.scalars(query))


STATUSES = {"active": "Active", "under_assessment": "Under assessment", "removed": "Removed",
            "not_placed": "Not placed", "all": "All"}


def status_label(status: str) -> str:
    """A marker's status as people read it ("Under assessment"), on the web and the command line alike."""
    return wording.labelled(STATUSES, status)

REGISTER_SORTS = {"review": "Next review, soonest first", "newest": "Newest reported first",
                  "oldest": "Oldest reported first", "customer": "Customer's name"}


@dataclass(frozen=True)
class RegisterFilters:
    """How a person narrows the register list (the web page's form)."""
    status: str = "active"
    category: str = ""
    review_before: date | None = None  # the next review falls due before this day
    search: str = ""  # the customer's name or reference, or the marker's words
    sort: str = "review"
    page: int = 1

    @classmethod
    def read(cls, pack: Pack, values) -> "RegisterFilters":
        """From a mapping of text; a value that makes no sense is refused by name (WorkflowError)."""
        def text(key):
            return str(values.get(key) or "").strip()

        status, sort, category, before = text("status") or "active", text("sort") or "review", text("category"), None
        if status not in STATUSES:
            raise WorkflowError(f"show must be one of {wording.and_list(STATUSES, conjunction='or')}, not '{status}'")
        if sort not in REGISTER_SORTS:
            raise WorkflowError(f"sort by must be one of {wording.and_list(REGISTER_SORTS, conjunction='or')}, "
                                f"not '{sort}'")
        if category and category not in pack.categories:
            known = wording.and_list([f"{c.key} ({c.label})" for c in pack.categories.values()], conjunction="or")
            raise WorkflowError(f"there is no kind of concern '{category}' in this policy; choose {known}")
        if text("review_before"):
            try:
                before = date.fromisoformat(text("review_before"))
            except ValueError:
                raise WorkflowError(f"give the review date as a date (for example 2027-06-01), "
                                    f"not '{text('review_before')}'") from None
        return cls(status=status, category=category, review_before=before, search=text("q")[:200], sort=sort,
                   page=paging.page_number(text("page")))

    def as_args(self, **changes) -> dict:
        chosen = {"status": self.status, "category": self.category, "q": self.search, "sort": self.sort,
                  "review_before": self.review_before.isoformat() if self.review_before else "",
                  "page": self.page, **changes}
        default = {"status": "active", "sort": "review", "page": 1}
        return {k: v for k, v in chosen.items() if v and default.get(k) != v}


def register_page(db: Session, *, pack: Pack, actor: Actor, filters: RegisterFilters) -> paging.Page:
    """One page of the register as this actor needs to know it (need to know applies to every row
    and to the total), narrowed, sorted and counted in SQL."""
    # the marker's subject: a customer, or a property (by its address)
    name = func.coalesce(Customer.name, Property.address)
    reference = func.coalesce(Customer.reference, Property.reference)
    conditions = [permissions.story_readable(pack, actor)]
    if filters.status != "all":
        conditions.append(Alert.status == filters.status)
    if filters.category:
        conditions.append(Alert.category == filters.category)
    if filters.review_before:
        conditions.append(Alert.next_review_at < clock.start_of_day(filters.review_before))
    total = None
    if filters.search:  # the alerts each way of matching finds, through its own index; counted once
        if db.get_bind().dialect.name == "postgresql":
            # the register is read from memory: at the default cost of a random page (4) the planner
            # reads all 100,000 alerts to join the 1,300 a search found, rather than fetch each by id
            # (81 ms to 28 ms); for this transaction only
            db.execute(sql_text("SET LOCAL random_page_cost = 1.1"))
        found = union(*(select(Alert.id).where(*conditions, part) for part in _matching(filters.search)))
        total = db.scalar(select(func.count()).select_from(found.subquery())) or 0
        conditions = [Alert.id.in_(found)]
    query = (select(Alert.id, Alert.status, Alert.category, Alert.level, Alert.next_review_at, Alert.reported_at,
                    Alert.marker_text, name.label("customer_name"), reference.label("customer_ref"))
             .outerjoin(Customer, Alert.customer_id == Customer.id)
             .outerjoin(Property, Alert.property_id == Property.id)
             .where(*conditions))
    order = {"review": (Alert.next_review_at.asc().nulls_last(), Alert.id),
             "newest": (Alert.reported_at.desc(), Alert.id.desc()),
             "oldest": (Alert.reported_at.asc(), Alert.id),
             "customer": (name, Alert.id)}[filters.sort]
    return paging.fetch(db, query.order_by(*order), number=filters.page, total=total)


def _matching(words: str) -> list:
    """The SQL conditions, any one of which an alert meets when the text is in its subject's name or
    reference (the customer's; a property's address or reference for a marker on a property) or in
    the marker's words: each finds the customers, properties or markers by their own (trigram)
    indexes on PostgreSQL and reaches their alerts by an index, where an OR across the joined
    tables would read every alert."""
    like = f"%{words}%"
    customers = select(Customer.id).where(or_(Customer.name.ilike(like), Customer.reference.ilike(like)))
    places = select(Property.id).where(or_(Property.address.ilike(like), Property.reference.ilike(like)))
    return [Alert.customer_id.in_(customers), and_(Alert.customer_id.is_(None), Alert.property_id.in_(places)),
            Alert.marker_text.ilike(like)]


def review_overdue(alert) -> bool:
    """An active marker whose review day has passed (an alert, or a register row)."""
    return alert.status == AlertStatus.ACTIVE and alert.next_review_at is not None and clock.is_past(alert.next_review_at)


@dataclass
class VisitCheck:
    customer: Customer | None  # None: a property with a marker, no one found living there
    markers: list[dict]
    # a member of a household: its lead tenant, and the markers on the lead tenant's record
    lead_tenant: Customer | None = None
    lead_tenant_markers: list[dict] = field(default_factory=list)
    # where they live now (or the property found), and the markers on it: for whoever lives there
    place: Property | None = None
    place_markers: list[dict] = field(default_factory=list)


# the instruction to staff reads the alert's own columns: its customer and property (joined by the
# model, with the customer's tenancies after them) would be a second query for what the caller holds
_INSTRUCTION_ONLY = (lazyload(Alert.customer), lazyload(Alert.property))


def shown_by_customer(db: Session, pack: Pack, customer_ids) -> dict[int, list[dict]]:
    """What staff are shown of each of these customers' active markers, in one query."""
    shown = {}
    if customer_ids:
        for alert in db.scalars(select(Alert).options(*_INSTRUCTION_ONLY).where(
                Alert.customer_id.in_(list(customer_ids)), Alert.status == AlertStatus.ACTIVE).order_by(Alert.id)):
            shown.setdefault(alert.customer_id, []).append(instruction_to_staff(pack, alert))
    return shown


CHECK_SHOWS = 20  # a phone screen's worth: more says "narrow your search"


def shown_by_property(db: Session, pack: Pack, property_ids) -> dict[int, list[dict]]:
    """What staff are shown of the active markers on each of these properties, in one query."""
    shown = {}
    if property_ids:
        for alert in db.scalars(select(Alert).options(*_INSTRUCTION_ONLY).where(
                Alert.property_id.in_(list(property_ids)), Alert.status == AlertStatus.ACTIVE).order_by(Alert.id)):
            shown.setdefault(alert.property_id, []).append(instruction_to_staff(pack, alert))
    return shown


class VisitChecks(list):
    """The checks shown (a list of VisitCheck), and `matched`: how many customers the text matches in
    all, shown or not (customers are not restricted records, so the count tells nothing a role may
    not know)."""
    matched: int = 0


def check_before_visit(db: Session, *, pack: Pack, actor: Actor, text: str) -> VisitChecks:
    """Any staff: does this customer, or the place they live, carry an active marker, and what must
    staff do?

    Shows the instruction to staff only, never the reasons; a restricted marker shows the
    pack's instruction for it (e.g. "contact the relevant manager") to everyone. A member of a
    household also gets the markers on its lead tenant's record, named as the lead tenant's. A
    marker on a property shows for everyone living there now, and for the property itself when
    its address, postcode or reference is asked for. The customers shown (the first CHECK_SHOWS by
    name) and how many match in all come from one query (a window count before the limit)."""
    found = db.execute(select(Customer, func.count().over()).where(tenancies.customers_matching(text))
                       .order_by(Customer.name, Customer.id).limit(CHECK_SHOWS)).all()
    customers = [customer for customer, _ in found]
    lead_ids = {c.household_of_id for c in customers if c.household_of_id is not None}
    leads = {c.id: c for c in db.scalars(select(Customer).where(Customer.id.in_(lead_ids)))} if lead_ids else {}
    shown = shown_by_customer(db, pack, [c.id for c in customers] + list(leads))  # their lead tenants' too
    homes = {c.id: c.home for c in customers}
    # properties asked for that carry a marker, whether or not anyone found lives there
    marked = list(db.scalars(select(Property).where(Property.id.in_(tenancies.properties_matching(text)),
                                                    Property.id.in_(select(Alert.property_id).where(  # markers on a place
                                                        Alert.property_id.is_not(None), Alert.status == AlertStatus.ACTIVE)))
                             .order_by(Property.postcode, Property.address).limit(20)))
    at = shown_by_property(db, pack, {p.id for p in homes.values() if p} | {p.id for p in marked})
    put_kind_in_words(db, pack, [m for found in (*shown.values(), *at.values()) for m in found])
    results = VisitChecks()
    results.matched = found[0][1] if found else 0
    for customer in customers:
        lead, home = leads.get(customer.household_of_id), homes[customer.id]
        results.append(VisitCheck(customer, shown.get(customer.id, []), lead, shown.get(lead.id, []) if lead else [],
                                  home, at.get(home.id, []) if home else []))
    lived_in = {p.id for p in homes.values() if p}
    results += [VisitCheck(None, [], place=p, place_markers=at.get(p.id, [])) for p in marked if p.id not in lived_in]
    return results


def visit_list(db: Session, *, pack: Pack, actor: Actor) -> list[dict]:
    """Every property where an active marker applies, and what staff must do there: the list handed
    to out-of-hours call handlers and contractors who cannot see the housing system. A person's
    marker applies where they live now; a property's to everyone living there. Instructions
    only, never reasons; a restricted marker shows the pack's instruction for it."""
    result = []
    active = [(alert, instruction_to_staff(pack, alert))
              for alert in db.scalars(select(Alert).where(Alert.status == AlertStatus.ACTIVE).order_by(Alert.id))]
    put_kind_in_words(db, pack, [shown for _, shown in active])  # the labels read once for the whole list
    for alert, shown in active:
        person = alert.customer
        place = person.home if person is not None else alert.property
        result.append({
            "property": place.reference if place else None, "address": place.address if place else "",
            "postcode": place.postcode if place else "",
            "applies_to": f"{person.name} ({person.reference})" if person else "everyone living there",
            "customer": person.reference if person else None, "name": person.name if person else None,
            "code": shown["code"], "kind": shown["kind"], "instruction": shown["instruction"],
            "control_measures": shown["control_measures"], "details": shown["details"],
            "next_review": shown["next_review"],
        })
    # by property: what applies at one address together (no fixed address last)
    result.sort(key=lambda r: (r["property"] is None, r["postcode"], r["address"], r["customer"] is not None,
                               r["name"] or ""))
    audit.record(db, actor=actor.username, action="visit_list_produced", markers=len(result))
    return result

"""Who lives where on a day: properties, and tenancies linking customers to them over time.

A customer's address is the property of their tenancy now; a move ends that tenancy the day the
new one starts, so a person's markers are found at the new address from that day and no longer at
the old one. A tenancy ending with no new one: where the pack says so (`tenancy_end_removes_markers`),
their markers come off the register at once and any assessment, review or appeal under way stops."""
from datetime import date, datetime

from sqlalchemy import and_, or_, select, union
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, text, wording
from workflows.cases.assignment import Actor
from workflows.platform.errors import FormInvalid, NotFound, WorkflowError
from workflows.platform.models import Alert, AlertStatus, Case, CaseStatus, Customer, Property, Tenancy
from workflows.definitions.pack import Pack

UPRN = 12


def current(moment: datetime | None = None):
    """The SQL condition for a tenancy under way at this moment (now, if none given)."""
    moment = moment or clock.now()
    return and_(or_(Tenancy.started_at.is_(None), Tenancy.started_at <= moment),
                or_(Tenancy.ended_at.is_(None), Tenancy.ended_at > moment))


def living_at(property_ids, moment: datetime | None = None):
    """A query for the ids of the customers living at these properties at this moment."""
    return select(Tenancy.customer_id).where(Tenancy.property_id.in_(property_ids), current(moment))


def properties_matching(words: str):
    """A query for the ids of the properties whose reference, address or postcode contains the text."""
    like = f"%{words.strip()}%"
    return select(Property.id).where(or_(Property.reference.ilike(like), Property.address.ilike(like),
                                         Property.postcode.ilike(like), Property.uprn == words.strip()))


def find_properties(db: Session, *, text: str, limit: int = 20) -> list[Property]:
    """Properties whose reference, address or postcode contains the text (a concern about a place)."""
    return list(db.scalars(select(Property).where(Property.id.in_(properties_matching(text)))
                           .order_by(Property.postcode, Property.address, Property.id).limit(limit)))


def property_named(db: Session, reference: str | None) -> Property | None:
    """The property with this reference (None: no such property, or no reference given)."""
    return db.scalar(select(Property).where(Property.reference == reference)) if reference else None


def customers_matching(words: str):
    """The SQL condition for customers whose name or reference contains the text, or who live now
    at a property whose address, postcode or reference contains it."""
    like = f"%{words.strip()}%"
    # a union, not an OR: each half uses its own (trigram) indexes on PostgreSQL
    by_name = select(Customer.id).where(or_(Customer.name.ilike(like), Customer.reference.ilike(like)))
    return Customer.id.in_(union(by_name, living_at(properties_matching(words))))


def _customer(db: Session, customer_ref: str) -> Customer:
    customer = db.scalar(select(Customer).where(Customer.reference == customer_ref))
    if customer is None:
        raise NotFound(f"there is no customer with reference '{customer_ref}'")
    return customer


def home(db: Session, *, address: str, postcode: str, uprn: str | None = None,
         reference: str | None = None) -> Property:
    """The property at this address (found by UPRN, reference, or address and postcode), made if new.
    An address needs a postcode; FormInvalid names the field otherwise."""
    address = text.clean_text(address, field="address", max_length=text.ADDRESS)
    postcode = text.clean_text(postcode, field="postcode", max_length=text.POSTCODE).upper()
    uprn = text.clean_text(uprn, field="uprn", max_length=UPRN, label="UPRN") or None
    reference = text.clean_text(reference, field="property", max_length=text.CUSTOMER_REFERENCE,
                                label="property reference") or None
    if reference and not (address or postcode):  # a property already on record, by its reference
        found = property_named(db, reference)
        if found is None:
            raise FormInvalid({"property": f"there is no property with reference '{reference}'"})
        return found
    if not address:
        raise FormInvalid({"address": "the address is missing: give the first line at least"})
    if not postcode:
        raise FormInvalid({"postcode": f"the postcode of {address.splitlines()[0]} is missing"})
    if uprn and not uprn.isdigit():
        raise FormInvalid({"uprn": f"a UPRN is a number of up to {UPRN} digits, not '{uprn}'"})
    found = None
    if uprn:
        found = db.scalar(select(Property).where(Property.uprn == uprn))
    if found is None:
        found = property_named(db, reference)
    if found is None:
        found = db.scalar(select(Property).where(Property.address == address, Property.postcode == postcode))
    if found is not None:
        if (found.address, found.postcode) != (address, postcode):
            raise FormInvalid({"address": f"property {found.reference} is at {found.address}, {found.postcode}, "
                                          f"not {address}, {postcode}"})
        if uprn and found.uprn is None:
            found.uprn = uprn
        return found
    found = Property(reference=reference or f"new-{clock.now().timestamp()}", address=address,
                     postcode=postcode, uprn=uprn)
    db.add(found)
    db.flush()
    if not reference:
        found.reference = f"P{found.id}"
    return found


def move_in(db: Session, *, actor: Actor | str, customer: Customer | str, address: str = "", postcode: str = "",
            uprn: str | None = None, property_ref: str | None = None, tenancy_ref: str | None = None,
            starts: date | None = None, since_unknown: bool = False) -> Tenancy:
    """Start a customer's tenancy at a property on a day (today if none given), ending the one
    they have on that day. Refused, naming the field, if the day is before their last tenancy
    ended or started. since_unknown: a customer first recorded where they already live (their
    first tenancy, started on a day the register does not know)."""
    by = actor if isinstance(actor, str) else actor.username
    if isinstance(customer, str):
        customer = _customer(db, customer)
    tenancy_ref = text.clean_text(tenancy_ref, field="tenancy_ref", max_length=text.CUSTOMER_REFERENCE,
                                  label="tenancy reference") or None
    day = starts or clock.local_day(clock.now())
    moment = clock.start_of_day(day)
    previous = customer.tenancies[-1] if customer.tenancies else None
    if previous is not None:
        if previous.ended_at is not None and clock.as_utc(previous.ended_at) > moment:
            raise FormInvalid({"start": f"the new tenancy cannot start on {wording.day(day)}: "
                                        f"{customer.name}'s tenancy at {previous.property.address} "
                                        f"ended on {wording.day(previous.ended_at)}"})
        if previous.started_at is not None and clock.as_utc(previous.started_at) >= moment:
            raise FormInvalid({"start": f"the new tenancy cannot start on {wording.day(day)}: "
                                        f"{customer.name}'s tenancy at {previous.property.address} "
                                        f"started on {wording.day(previous.started_at)}"})
    place = home(db, address=address, postcode=postcode, uprn=uprn, reference=property_ref)
    if previous is not None and previous.ended_at is None:
        if previous.property_id == place.id:
            raise FormInvalid({"address": f"{customer.name} already lives at {place.address}"})
        previous.ended_at = moment
        audit.record(db, actor=by, action="tenancy_ended", customer=customer.reference,
                     property=previous.property.reference, ended_at=moment, moved=True)
    tenancy = Tenancy(customer_id=customer.id, property_id=place.id, reference=tenancy_ref,
                      started_at=None if since_unknown and previous is None and starts is None else moment)
    tenancy.property = place
    db.add(tenancy)
    customer.tenancies.append(tenancy)
    db.flush()
    audit.record(db, actor=by, action="tenancy_started", customer=customer.reference,
                 property=place.reference, started_at=tenancy.started_at)
    return tenancy


def end_tenancy(db: Session, *, pack: Pack, actor: Actor, customer_ref: str,
                ended_at: datetime | None = None) -> list[Alert]:
    """Record that a customer's tenancy (or licence) has ended; returns the alerts removed."""
    customer = _customer(db, customer_ref)
    tenancy = customer.tenancies[-1] if customer.tenancies else None
    if tenancy is None:
        raise WorkflowError(f"{customer_ref} has no tenancy on record to end")
    if tenancy.ended_at is not None:
        raise WorkflowError(f"the tenancy of {customer_ref} was already recorded as ended "
                            f"on {wording.day(tenancy.ended_at)}")
    ended_at = ended_at or clock.now()
    if tenancy.started_at is not None and clock.as_utc(tenancy.started_at) > clock.as_utc(ended_at):
        raise FormInvalid({"end": f"the tenancy cannot end on {wording.day(ended_at)}: it started on "
                                  f"{wording.day(tenancy.started_at)}"})
    tenancy.ended_at = ended_at
    audit.record(db, actor=actor.username, action="tenancy_ended", customer=customer.reference,
                 property=tenancy.property.reference, ended_at=ended_at)
    if not pack.tenancy_end_removes_markers:
        return []
    # here only: who lives where is read by markers (check before visiting), which these import
    from workflows.cases import engine
    from workflows.register import housing_system
    removed = list(db.scalars(select(Alert).where(
        Alert.customer_id == customer.id, Alert.status.in_((AlertStatus.ACTIVE, AlertStatus.UNDER_ASSESSMENT)))))
    reason = "the customer no longer has a tenancy or licence"
    for alert in removed:
        was = alert.status
        alert.status, alert.removed_at, alert.removed_reason = AlertStatus.REMOVED, clock.now(), reason
        alert.next_review_at = None
        for case in list(db.scalars(select(Case).where(Case.alert_id == alert.id, Case.status == CaseStatus.RUNNING))):
            engine.cancel_case(db, case=case, actor=actor.username, reason=f"marker removed: {reason}")
        audit.record(db, actor=actor.username, action="marker_removed", alert_id=alert.id,
                     reason=reason, previous_status=was)
        if was == AlertStatus.ACTIVE:  # the housing system shows it until told otherwise
            latest = db.scalar(select(Case).where(Case.alert_id == alert.id).order_by(Case.id.desc()).limit(1))
            housing_system.marker_changed(db, pack=pack, case=latest, alert=alert, change="remove",
                                          actor=actor.username)
    return removed

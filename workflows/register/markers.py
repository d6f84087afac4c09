"""What staff are shown of a marker (the instruction, never the reasons): the register as an
actor needs to know it, the check before a visit and the visit list. Restricted records are
filtered in the query, so they never reach a list or a count."""
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.compliance import audit
from workflows.definitions.pack import Pack
from workflows.platform import clock
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


def marker_details(pack: Pack, alert: Alert) -> list[str]:
    """The pack's [marker_fields] on this marker, each as staff read it: "Contact restrictions: a; b"."""
    held = alert.marker_details or {}
    return [f"{label}: {'; '.join(held[name])}" for name, label in pack.marker_fields.items() if held.get(name)]


def alerts(db: Session, *, pack: Pack, actor: Actor, status: str | None = "active") -> list[Alert]:
    """The register as this actor needs to know it: the alerts whose stories they may read."""
    query = select(Alert).where(permissions.story_readable(pack, actor)).order_by(Alert.id)
    if status:
        query = query.where(Alert.status == status)
    return list(db.scalars(query))


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


def shown_by_customer(db: Session, pack: Pack, customer_ids) -> dict[int, list[dict]]:
    """What staff are shown of each of these customers' active markers, in one query."""
    shown = {}
    if customer_ids:
        for alert in db.scalars(select(Alert).where(Alert.customer_id.in_(list(customer_ids)),
                                                    Alert.status == AlertStatus.ACTIVE).order_by(Alert.id)):
            shown.setdefault(alert.customer_id, []).append(instruction_to_staff(pack, alert))
    return shown


def shown_by_property(db: Session, pack: Pack, property_ids) -> dict[int, list[dict]]:
    """What staff are shown of the active markers on each of these properties, in one query."""
    shown = {}
    if property_ids:
        for alert in db.scalars(select(Alert).where(Alert.property_id.in_(list(property_ids)),
                                                    Alert.status == AlertStatus.ACTIVE).order_by(Alert.id)):
            shown.setdefault(alert.property_id, []).append(instruction_to_staff(pack, alert))
    return shown


def check_before_visit(db: Session, *, pack: Pack, actor: Actor, text: str) -> list[VisitCheck]:
    """Any staff: does this customer, or the place they live, carry an active marker, and what must
    staff do?

    Shows the instruction to staff only, never the reasons; a restricted marker shows the
    pack's instruction for it (e.g. "contact the relevant manager") to everyone. A member of a
    household also gets the markers on its lead tenant's record, named as the lead tenant's. A
    marker on a property shows for everyone living there now, and for the property itself when
    its address, postcode or reference is asked for."""
    customers = list(db.scalars(select(Customer).where(tenancies.customers_matching(text))
                                .order_by(Customer.name).limit(20)))
    lead_ids = {c.household_of_id for c in customers if c.household_of_id is not None}
    leads = {c.id: c for c in db.scalars(select(Customer).where(Customer.id.in_(lead_ids)))} if lead_ids else {}
    shown = shown_by_customer(db, pack, [c.id for c in customers] + list(leads))  # their lead tenants' too
    homes = {c.id: c.home for c in customers}
    # properties asked for that carry a marker, whether or not anyone found lives there
    marked = list(db.scalars(select(Property).where(Property.id.in_(tenancies.properties_matching(text)),
                                                    Property.id.in_(select(Alert.property_id).where(
                                                        Alert.status == AlertStatus.ACTIVE)))
                             .order_by(Property.postcode, Property.address).limit(20)))
    at = shown_by_property(db, pack, {p.id for p in homes.values() if p} | {p.id for p in marked})
    results = []
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
    for alert in db.scalars(select(Alert).where(Alert.status == AlertStatus.ACTIVE).order_by(Alert.id)):
        shown = instruction_to_staff(pack, alert)
        person = alert.customer
        place = person.home if person is not None else alert.property
        result.append({
            "property": place.reference if place else None, "address": place.address if place else "",
            "postcode": place.postcode if place else "",
            "applies_to": f"{person.name} ({person.reference})" if person else "everyone living there",
            "customer": person.reference if person else None, "name": person.name if person else None,
            "code": shown["code"], "instruction": shown["instruction"],
            "control_measures": shown["control_measures"], "details": shown["details"],
            "next_review": shown["next_review"],
        })
    # by property: what applies at one address together (no fixed address last)
    result.sort(key=lambda r: (r["property"] is None, r["postcode"], r["address"], r["customer"] is not None,
                               r["name"] or ""))
    audit.record(db, actor=actor.username, action="visit_list_produced", markers=len(result))
    return result

"""What any member of staff does: report a concern (this starts a case) and check for a marker
before visiting a customer (the instruction to staff, never the reasons)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from workflows.cases import engine
from workflows.tasks import inbox as inboxes
from workflows.accounts import people
from workflows.register import incidents, markers
from workflows.register import tenancy as tenancies
from workflows.platform import clock, text
from workflows.platform.db import transaction
from workflows.platform import wording
from workflows.platform.errors import FormInvalid, NotFound, WorkflowError

from .auth import actor, any_staff, pack, requires

blueprint = Blueprint("staff", __name__)


class ReportForm(FlaskForm):
    customer = RadioField("Customer", validators=[Optional()], validate_choice=True)
    # offered when the pack puts some kinds of concern on properties (`on = "property"`: a hazard at an address)
    property = RadioField("Property", validators=[Optional()], validate_choice=True)
    category = SelectField("What kind of concern", validators=[DataRequired("Choose the kind of concern")])
    description = TextAreaField("What happened", validators=[
        DataRequired("Describe what happened"),
        Length(max=text.LONG_TEXT, message=f"Keep it under {text.LONG_TEXT:,} characters")])
    # offered when the customer already carries an active marker: link the concern to it, or not
    link_to = RadioField("They already have a marker. Is this concern about the same risk?", validate_choice=False)
    staff_involved = StringField("Member of staff it happened to, if not you (username; optional)",
                                 validators=[Optional(), Length(max=text.USERNAME, message=f"A username is at most "
                                                                                          f"{text.USERNAME} characters")])


ABOUT = {"person": "About a person", "property": "About a property"}  # what a category is on (Category.on)


def _category_choices(categories) -> list[SelectChoice]:
    """The kinds of concern; where the pack puts some on properties, grouped by what they are about,
    each saying (data-on) whether it is reported about a customer or a property (report.js offers
    only those that fit what is chosen; the engine refuses a mismatch, naming the field)."""
    grouped = any(c.on != "person" for c in categories)
    return [SelectChoice("", "Choose...")] + [
        SelectChoice(c.key, c.label, render_kw={"data-on": c.on}, optgroup=ABOUT.get(c.on, c.on) if grouped else None)
        for c in sorted(categories, key=lambda c: c.on != "person")]  # people first, each group together


def _validate_subject(form: ReportForm, places_offered: bool) -> bool:
    """One customer or one property: a concern is about one of them."""
    if form.customer.data and form.property.data:
        form.property.errors = list(form.property.errors) + ["Choose a customer or a property, not both"]
    elif not form.customer.data and not form.property.data:
        form.customer.errors = list(form.customer.errors) + [
            "Choose the customer or the property (search above to find them)" if places_offered
            else "Choose the customer (search above to find them)"]
    else:
        return True
    return False


@blueprint.route("/report", methods=["GET", "POST"])
@requires(any_staff)
def report():
    query = request.values.get("q", "").strip()
    # the search is a button of the report's own form, so what was typed so far stays on the page
    searching = request.method == "POST" and "find" in request.form
    form = ReportForm()
    categories = list(pack().categories.values())
    form.category.choices = _category_choices(categories)
    places_offered = any(c.on == "property" for c in categories)
    with transaction() as db:
        found = people.find_customers(db, text=query) if query else []
        chosen = request.form.get("customer") or request.args.get("customer")
        if chosen and chosen not in {c.reference for c in found}:
            found += people.find_customers(db, text=chosen)[:1]
        form.customer.choices = [(c.reference, f"{c.name}, {c.address} ({c.reference})") for c in found]
        places = tenancies.find_properties(db, text=query) if query and places_offered else []
        place = request.form.get("property") or request.args.get("property")
        if place and place not in {p.reference for p in places}:
            places += [p for p in [tenancies.property_named(db, place)] if p is not None]
        form.property.choices = [(p.reference, f"{p.address}, {p.postcode} (property {p.reference})") for p in places]
        if request.method == "GET" or searching:
            form.customer.data = chosen or None
            form.property.data = place or None
        customer = incidents.customer_named(db, chosen) if chosen else None
        offered = incidents.linkable_markers(db, pack=pack(), actor=actor(), customer=customer) if customer else []
    form.link_to.choices = [(str(m["alert"]), f"Yes: link it to the marker “{m['instruction']}” (alert {m['alert']})")
                            for m in offered] + ([("new", "No: report it as a separate concern")] if offered else [])
    if not offered:
        form.link_to.validators, form.link_to.data = [Optional()], None
    else:
        form.link_to.validators = [DataRequired("Choose whether to link this concern to the marker already on them"),
                                   AnyOf([c for c, _ in form.link_to.choices], message="Choose one of the answers offered")]
    sent = not searching and form.is_submitted()
    if sent and form.validate() & _validate_subject(form, places_offered):  # both judged: every error shown at once
        link_to = int(form.link_to.data) if offered and form.link_to.data != "new" else None
        try:
            with transaction() as db:
                case = engine.report_concern(db, pack=pack(), actor=actor(), customer_ref=form.customer.data,
                                             property_ref=form.property.data, category=form.category.data,
                                             description=form.description.data,
                                             staff_involved=form.staff_involved.data, link_to=link_to)
                steps = inboxes.open_steps(db, pack=pack(), actor=actor(), alert_id=case.alert_id)
                who = ", ".join(wording.labelled(pack().roles, t.role) for t in steps)
                what = (f"linked to the marker on alert {case.alert_id}" if link_to
                        else f"concern reported (alert {case.alert_id})")
                flash(f"Thank you: {what}." + (f" It is with the {who}." if who else ""))
            return redirect(url_for("staff.report"))
        except FormInvalid as err:
            for name, message in err.errors.items():
                field = getattr(form, name, form.description)
                field.errors = list(field.errors) + [message]
        except WorkflowError as err:
            form.description.errors = list(form.description.errors) + [str(err)]
    status = 422 if form.errors else 200
    return render_template("report.html", title="Report a concern", form=form, query=query, found=found,
                           offered=offered, places_offered=places_offered), status


@blueprint.route("/check")
@requires(any_staff)
def check():
    query = request.args.get("q", "").strip()
    results, total = [], 0
    with transaction() as db:
        if query:
            results = markers.check_before_visit(db, pack=pack(), actor=actor(), text=query)
            total = max(results.matched, len(results))
        return render_template("check.html", title="Check before visiting", query=query, results=results,
                               total=total)


class TenancyForm(FlaskForm):
    """A move: the new home and the day the tenancy there starts (the one they have ends that day);
    or the end of their tenancy with no new one."""
    address = TextAreaField("New address (its lines)", validators=[Optional(), Length(max=text.ADDRESS)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=text.POSTCODE)])
    uprn = StringField("UPRN, where known (optional)", validators=[Optional(), Length(max=tenancies.UPRN)])
    property = StringField("Or a property on record, by its reference (optional)",
                           validators=[Optional(), Length(max=text.CUSTOMER_REFERENCE)])
    tenancy_ref = StringField("Tenancy reference (optional)", validators=[Optional(), Length(max=text.CUSTOMER_REFERENCE)])
    start = DateField("First day of the new tenancy", validators=[Optional()],
                      format="%Y-%m-%d")
    end = DateField("Last tenancy ended on (when ending it with no new one)", validators=[Optional()], format="%Y-%m-%d")
    move = SubmitField("Start the new tenancy")
    finish = SubmitField("End the tenancy, with no new one")


@blueprint.route("/customers/<customer_ref>/tenancy", methods=["GET", "POST"])
@requires(any_staff)
def tenancy(customer_ref):
    form = TenancyForm()
    if form.validate_on_submit():
        try:
            with transaction() as db:
                if form.finish.data:
                    ended = form.end.data
                    removed = tenancies.end_tenancy(db, pack=pack(), actor=actor(), customer_ref=customer_ref,
                                                    ended_at=clock.start_of_day(ended) if ended else None)
                    flash(f"The tenancy of {customer_ref} is recorded as ended"
                          + (f"; {len(removed)} marker(s) came off the register." if removed else "."))
                else:
                    started = tenancies.move_in(db, actor=actor(), customer=customer_ref, address=form.address.data,
                                                postcode=form.postcode.data, uprn=form.uprn.data,
                                                property_ref=form.property.data, tenancy_ref=form.tenancy_ref.data,
                                                starts=form.start.data)
                    flash(f"{customer_ref} lives at {started.property.address}, {started.property.postcode} from "
                          f"{wording.day(started.started_at)}; their markers are found there from that day.")
            return redirect(url_for("staff.tenancy", customer_ref=customer_ref))
        except FormInvalid as err:
            for name, message in err.errors.items():
                field = getattr(form, name, None)
                field = field if field is not None and hasattr(field, "errors") else form.address
                field.errors = list(field.errors) + [message]
        except NotFound:
            raise
        except WorkflowError as err:
            form.end.errors = list(form.end.errors) + [str(err)]
    with transaction() as db:
        customer = incidents.customer_named(db, customer_ref)
        if customer is None:
            raise NotFound(f"there is no customer with reference '{customer_ref}'")
        history = [{"address": t.property.address, "postcode": t.property.postcode, "reference": t.property.reference,
                    "started": wording.day(t.started_at, blank="before records began"),
                    "ended": wording.day(t.ended_at, blank="")} for t in reversed(customer.tenancies)]
        name = customer.name
    status = 422 if form.errors else 200
    return render_template("tenancy.html", title=f"Where {name} lives", form=form, name=name,
                           customer_ref=customer_ref, history=history), status

"""A marker's life: report a concern, the inbox and its steps, appeals and requests, letters,
check before visiting, the register of alerts, cases in error."""
import json

import click

from workflows.tasks.task_view import task_view
from workflows.register.story import alert_story
from workflows.platform import clock, wording
from workflows.cases import engine
from workflows.tasks import inbox as inboxes
from workflows.register import markers
from workflows.register import circulation, customer_requests, incidents, tenancy as tenancies
from workflows.cases import timers as timer_sweep
from workflows.platform.errors import FormInvalid, WorkflowError
from workflows.definitions.pack import active_pack

from cli.app import actor_named, day, fail, in_transaction, iso_day, main


@main.command()
@click.option("--as", "username", required=True)
@click.option("--customer", "customer_ref", default=None, help="The customer's reference.")
@click.option("--property", "property_ref", default=None,
              help="The property's reference, for a category the pack puts on properties (a hazard at an address).")
@click.option("--category", required=True)
@click.option("--description", required=True, help="What happened, or why there is a concern.")
@click.option("--staff-involved", "staff_involved", default=None,
              help="Username of the member of staff it happened to, if not you (they never decide on it).")
@click.option("--link-to", "link_to", type=int, default=None, metavar="ALERT",
              help="Link the concern to the active marker already on the customer (its alert number) "
                   "instead of opening a second alert.")
@in_transaction
def report(db, username, customer_ref, property_ref, category, description, staff_involved, link_to):
    """Report a concern about a customer, or a hazard at a property (any staff); this starts a case."""
    pack, actor = active_pack(), actor_named(db, username)
    customer = incidents.customer_named(db, customer_ref) if link_to is None and customer_ref else None
    offered = incidents.linkable_markers(db, pack=pack, actor=actor, customer=customer) if customer else []
    case = engine.report_concern(db, pack=pack, actor=actor, customer_ref=customer_ref, category=category,
                                 description=description, staff_involved=staff_involved, link_to=link_to,
                                 property_ref=property_ref)
    if link_to is not None:
        click.echo(f"concern linked to the marker on alert {case.alert_id} (incident "
                   f"{len(incidents.linked(db, case.alert_id)) + 1} of this marker); case {case.id} started")
        print_open_steps(db, username, case.alert_id)
        return
    click.echo(f"alert {case.alert_id} reported; case {case.id} started")
    for m in offered:
        click.echo(f"note: {customer.reference} already has an active marker, alert {m['alert']} "
                   f"({m['instruction']}); a concern about them can be linked to it: report with --link-to {m['alert']}")
    alert = case.alert
    if alert.about_customer_id is not None:
        click.echo(f"the marker goes on the lead tenant {alert.subject.name} ({alert.subject.reference}); "
                   f"{alert.about_customer.reference}'s own record is linked to it, not flagged")
    print_open_steps(db, username, case.alert_id)


@main.command()
@click.option("--as", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--show", "whose", type=click.Choice(list(inboxes.WHOSE)), default="all",
              help="all: assigned to you and your roles' unclaimed steps; mine; roles.")
@click.option("--overdue", is_flag=True, help="Only steps past their due day.")
@click.option("--due-this-week", "due_this_week", is_flag=True, help="Only steps due from today to Sunday.")
@click.option("--category", default="", help="Only alerts of this kind of concern (its key in the pack).")
@click.option("--customer", default="", help="Only this customer's steps (their reference).")
@click.option("--search", "q", default="", help="Words in the step's title or the customer's name or reference.")
@click.option("--sort", type=click.Choice(list(inboxes.SORTS)), default="due",
              help="due: soonest first (undated last); age: oldest first.")
@click.option("--page", default=1, type=int, help="Which page of each list (from 1).")
@click.option("--per-page", "per_page", default=50, type=int, help="Rows on a page (at most 500).")
@in_transaction
def inbox(db, username, as_json, **chosen):
    """Your open steps: assigned to you, or waiting for one of your roles; filtered, sorted and paged
    as on the web page."""
    pack = active_pack()
    try:
        filters = inboxes.Filters.read(pack, {k: ("1" if v is True else v) for k, v in chosen.items()})
    except WorkflowError as err:
        fail(str(err))
    box = inboxes.sections(db, pack=pack, actor=actor_named(db, username), filters=filters)
    pages = [(caption, page) for caption, page in (("assigned to you", box.mine), ("your roles, unclaimed", box.unclaimed))
             if page is not None]
    tasks = [t for _, page in pages for t in page.rows]
    rows = [{"task": t.id, "title": t.title, "kind": t.kind, "role": t.role, "assignee": t.assignee, "status": t.status,
             "alert": t.alert_id, "customer": t.customer_ref, "category": t.category, "level": t.level,
             "due": iso_day(t.due_at), "overdue": inboxes.is_overdue(t)}
            for t in tasks]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    roles, categories = pack.roles, pack.categories
    by_id = {t.id: t for t in tasks}
    for caption, page in pages:
        click.echo(f"{caption}: {page.summary}" + (f" (page {page.number} of {page.pages})" if page.pages > 1 else ""))
        for t in page.rows:
            r = next(r for r in rows if r["task"] == t.id)
            flag = " OVERDUE" if r["overdue"] else ""
            role = wording.labelled(roles, t.role)
            state = f"claimed by {t.assignee}" if t.status == "claimed" else "waiting to be claimed"
            when = f"due {day(by_id[t.id].due_at)} ({wording.due(t.due_at)})" if t.due_at else "no due date"
            click.echo(f"task {t.id:>5}  {when}{flag}  {t.title}  [{role}]  "
                       f"{wording.labelled(categories, t.category)}  "
                       f"alert {t.alert_id} customer {t.customer_ref}  {state}")
    if not rows:
        click.echo("nothing waiting for you matches these filters" if filters.as_args() else "nothing waiting for you")


@main.group()
def task():
    """Look at, claim, release and complete a step."""


@task.command("show")
@click.argument("task_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def task_show(db, task_id, username, as_json):
    """A step with its form fields."""
    view = task_view(db, pack=active_pack(), actor=actor_named(db, username), task_id=task_id)
    t, marker = view["task"], view["linked_marker"]
    if as_json:
        shown = None
        if marker:
            shown = {**marker, "placed_at": _iso(marker["placed_at"]), "last_review_at": _iso(marker["last_review_at"]),
                     "next_review": _iso(marker["next_review"]),
                     "incidents": [{**i, "reported_at": i["reported_at"].isoformat()} for i in marker["incidents"]]}
        click.echo(json.dumps({"task": t.id, "title": t.title, "role": t.role, "status": t.status,
                               "role_name": wording.labelled(active_pack().roles, t.role),
                               "assignee": t.assignee, "due": iso_day(t.due_at), "kind": t.kind,
                               "instructions": view["instructions"], "linked_marker": shown,
                               "fields": [f.__dict__ for f in view["fields"]]}, indent=2, default=list))
        return
    click.echo(f"task {t.id}: {t.title}  [{wording.labelled(active_pack().roles, t.role)}]  {t.status}  "
               f"due {day(t.due_at)}")
    if marker:
        click.echo(f"  the marker this concern is linked to (alert {marker['alert']}): {marker['category']}, "
                   f"{marker['level_label'] or 'no level'}: {marker['marker_text']}"
                   + (f" ({wording.and_list(marker['control_measures'])})" if marker["control_measures"] else ""))
        click.echo(f"  last reviewed {day(marker['last_review_at'])}, next review {day(marker['next_review'])}")
        for i in marker["incidents"]:
            how = "linked" if i["linked"] else "first reported"
            click.echo(f"  incident {i['no']}: {day(i['reported_at'])}, {how} by {i['reported_by']}: "
                       f"{i['description']}")
    for line in (view["instructions"] or "").splitlines():
        click.echo(f"  {line}")
    for f in view["fields"]:
        need = required_in_words(f)
        # the command line types the option's id; its label says what it means
        options = (f"  one{' or more' if f.multiple else ''} of: {', '.join(f'{o} ({n})' for o, n in f.options)}"
                   if f.options else "")
        click.echo(f"  {f.id} ({f.type}, {need}): {f.label}{options}")


def required_in_words(f) -> str:
    """Whether a field must be answered, as the person reads it (the page's hint says the same)."""
    if f.required:
        return "required"
    if f.required_when_words:
        return f"required if {f.required_when_words}"
    return "required in some cases, depending on other answers" if f.required_when else "optional"


@task.command("claim")
@click.argument("task_id", type=int)
@click.option("--as", "username", required=True)
@in_transaction
def task_claim(db, task_id, username):
    """Take a step for yourself."""
    t = engine.claim_task(db, pack=active_pack(), actor=actor_named(db, username), task_id=task_id)
    click.echo(f"task {t.id} claimed by {t.assignee}")


@task.command("release")
@click.argument("task_id", type=int)
@click.option("--as", "username", required=True)
@in_transaction
def task_release(db, task_id, username):
    """Give a claimed step back to its role."""
    t = engine.release_task(db, pack=active_pack(), actor=actor_named(db, username), task_id=task_id)
    click.echo(f"task {t.id} released to the {wording.labelled(active_pack().roles, t.role)}")  # the role by its name


@task.command("nominate")
@click.argument("task_id", type=int)
@click.option("--to", "to_username", required=True, help="The person nominated (of the step's nominee role).")
@click.option("--as", "username", required=True)
@in_transaction
def task_nominate(db, task_id, to_username, username):
    """Hand a step of your role to the person you nominate for it (a step whose nominee property allows it)."""
    t = engine.nominate_task(db, pack=active_pack(), actor=actor_named(db, username), task_id=task_id,
                             to_username=to_username)
    click.echo(f"task {t.id} given to {t.assignee}, nominated by {username}")


@task.command("complete")
@click.argument("task_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--set", "pairs", multiple=True, metavar="FIELD=VALUE",
              help="A form value (repeatable); several values of a list field are comma-separated.")
@in_transaction
def task_complete(db, task_id, username, pairs):
    """Complete a step with its form values."""
    values = {}
    for pair in pairs:
        if "=" not in pair:
            raise WorkflowError(f"'{pair}' is not FIELD=VALUE")
        field, value = pair.split("=", 1)
        values[field.strip()] = value
    t = engine.complete_task(db, pack=active_pack(), actor=actor_named(db, username), task_id=task_id, values=values)
    click.echo(f"task {t.id} completed by {t.completed_by}")
    print_open_steps(db, username, t.case.alert_id)


@main.command()
@click.argument("alert_id", type=int)
@click.option("--as", "username", required=True, help="The member of staff recording the appeal.")
@click.option("--grounds", required=True, help="The tenant's grounds for appeal.")
@in_transaction
def appeal(db, alert_id, username, grounds):
    """Record a tenant's appeal against the latest decision on their marker."""
    case = engine.start_appeal(db, pack=active_pack(), actor=actor_named(db, username), alert_id=alert_id,
                                          grounds=grounds)
    click.echo(f"appeal case {case.id} started for alert {alert_id}")
    print_open_steps(db, username, alert_id)


@main.command()
@click.argument("alert_id", type=int)
@click.option("--as", "username", required=True, help="The member of staff recording the request.")
@click.option("--kind", required=True, help="A request the pack names, e.g. subject_access.")
@click.option("--details", required=True, help="What the customer asked for.")
@in_transaction
def request(db, alert_id, username, kind, details):
    """Record a customer's request about their alert (e.g. a subject access request); starts its case."""
    case = customer_requests.start_request(db, pack=active_pack(), actor=actor_named(db, username), alert_id=alert_id,
                                           kind=kind, details=details)
    click.echo(f"{kind} case {case.id} started for alert {alert_id}")
    print_open_steps(db, username, alert_id)


@main.group()
def letter():
    """The tenant's letters."""


@letter.command("show")
@click.argument("letter_id", type=int)
@click.option("--as", "username", required=True, help="Someone who needs to know the letter's alert.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the letter as the tenant gets it, a tagged PDF, to this file.")
@in_transaction
def letter_show(db, letter_id, username, pdf_path):
    """A letter as it is sent: letterhead, address, date, reference, body, how to appeal, signature."""
    from workflows.drawing import letter as drawing
    from workflows.register import letters
    pack = active_pack()
    one = letters.get_letter(db, pack=pack, actor=actor_named(db, username), letter_id=letter_id)
    view = letters.view(db, pack=pack, letter=one)
    if pdf_path:
        content = drawing.pdf(view)  # drawn first: a refusal (fonts missing) leaves no empty file
        with open(pdf_path, "wb") as out:
            out.write(content)
    click.echo(drawing.text(view), nl=False)


@letter.command("deliver")
@click.argument("letter_id", type=int)
@click.option("--as", "username", required=True, help="The member of staff recording the delivery.")
@click.option("--method", required=True, help="How it went, one of the pack's letter delivery methods.")
@click.option("--at", "delivered_at", required=True, metavar="ISO",
              help="When it was delivered (for a posted letter, when it was posted), e.g. 2027-03-05T11:30.")
@in_transaction
def letter_deliver(db, letter_id, username, method, delivered_at):
    """Record how and when a letter reached the tenant: the time to tell them runs until this is recorded."""
    from workflows.register import letters
    try:
        moment = clock.parse_moment(delivered_at)
    except ValueError as err:
        raise FormInvalid({"at": str(err)}) from None
    done = letters.record_delivery(db, pack=active_pack(), actor=actor_named(db, username), letter_id=letter_id,
                                   method=method, delivered_at=moment)
    click.echo(f"letter {done.id} ('{done.title}') recorded as delivered: {method}, {wording.moment(moment)}")


@main.group()
def tenancy():
    """Tenancies."""


@tenancy.command("end")
@click.argument("customer_ref")
@click.option("--as", "username", required=True)
@click.option("--on", "on", default=None, type=click.DateTime(["%Y-%m-%d"]),
              help="The day it ended (YYYY-MM-DD; today if not given).")
@in_transaction
def tenancy_end(db, customer_ref, username, on):
    """Record that a customer no longer has a tenancy or licence (their markers go, if the pack says so)."""
    removed = tenancies.end_tenancy(db, pack=active_pack(), actor=actor_named(db, username), customer_ref=customer_ref,
                                    ended_at=clock.start_of_day(on.date()) if on else None)
    click.echo(f"tenancy of {customer_ref} ended; {len(removed)} marker(s) removed")


@tenancy.command("start")
@click.argument("customer_ref")
@click.option("--as", "username", required=True)
@click.option("--address", default="", help="The new address, its lines separated by commas or newlines.")
@click.option("--postcode", default="")
@click.option("--uprn", default=None, help="The property's Unique Property Reference Number, where known.")
@click.option("--property", "property_ref", default=None, help="A property on record, by its reference.")
@click.option("--tenancy-ref", "tenancy_ref", default=None)
@click.option("--starts", default=None, type=click.DateTime(["%Y-%m-%d"]),
              help="The first day of the new tenancy (YYYY-MM-DD; today if not given).")
@in_transaction
def tenancy_start(db, customer_ref, username, address, postcode, uprn, property_ref, tenancy_ref, starts):
    """A customer moves: their tenancy now ends the day the new one starts, and their markers follow them."""
    started = tenancies.move_in(db, actor=actor_named(db, username), customer=customer_ref, address=address,
                                postcode=postcode, uprn=uprn, property_ref=property_ref, tenancy_ref=tenancy_ref,
                                starts=starts.date() if starts else None)
    click.echo(f"{customer_ref} lives at {started.property.address}, {started.property.postcode} "
               f"(property {started.property.reference}) from {wording.day(started.started_at)}")


@main.command("visit-list")
@click.option("--as", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def visit_list(db, username, as_json):
    """Every customer with a marker and what staff must do (for out-of-hours staff); no reasons."""
    rows = markers.visit_list(db, pack=active_pack(), actor=actor_named(db, username))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    place = object()
    for r in rows:  # by property: each address once, then what applies there and to whom
        if r["property"] != place:
            place = r["property"]
            click.echo(f"{r['address']} {r['postcode']} (property {place})" if place else "no address on record")
        kind = f"({r['kind']}) " if r["kind"] else ""
        click.echo(f"  {r['applies_to']}: {kind}{r['instruction']}")
        for detail in r.get("details") or []:
            click.echo(f"    {detail}")
    if not rows:
        click.echo("no customer or property has a marker")


@main.group()
def cases():
    """Cases set aside in error, and retrying them."""


@cases.command("errors")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def cases_errors(db, as_json):
    """Every case in error, with its message (a step that raised when its timer fired)."""
    rows = [{"case": c.id, "alert": c.alert_id, "process": c.definition.process_id, "version": c.definition.version,
             "since": c.updated_at.isoformat(), "error": c.error_message} for c in timer_sweep.errors(db)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"case {r['case']} (alert {r['alert']}, {r['process']} v{r['version']}): {r['error']}")
    if not rows:
        click.echo("no case is in error")


@cases.command("retry")
@click.argument("case_id", type=int)
@click.option("--as", "username", required=True, help="An administrator.")
@in_transaction
def cases_retry(db, case_id, username):
    """Retry a case in error once its cause is fixed: onto the newest version, timers fired now."""
    case = timer_sweep.retry_case(db, pack=active_pack(), case_id=case_id, actor=actor_named(db, username))
    click.echo(f"case {case.id} retried on version {case.definition.version}: {case.status}")


@main.group()
def alerts():
    """The register of markers."""


@alerts.command("list")
@click.option("--as", "username", required=True)
@click.option("--status", default="active", help="active, under_assessment, removed, not_placed, or all")
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def alerts_list(db, username, status, as_json):
    """The alerts you need to know about (a step on them, or your role reads them for the policy)."""
    rows = markers.alerts(db, pack=active_pack(), actor=actor_named(db, username),
                           status=None if status == "all" else status)
    if as_json:
        click.echo(json.dumps([{"alert": a.id, "status": a.status, "category": a.category,
                                "customer": a.subject.reference, "marker_text": a.marker_text,
                                "marker_code": a.marker_code, "level": a.level,
                                "placed_at": a.placed_at.isoformat() if a.placed_at else None,
                                "next_review_at": a.next_review_at.isoformat() if a.next_review_at else None}
                               for a in rows], indent=2))
        return
    categories = active_pack().categories
    for a in rows:  # in words: the status, the category's label, the day (--json keeps the codes)
        click.echo(f"alert {a.id:>5}  {markers.status_label(a.status):16} {wording.labelled(categories, a.category):24} "
                   f"{a.subject.reference:10} next review {day(markers.next_review_date(a))}  {a.marker_text or ''}")
    if not rows:
        click.echo("no alerts you need to know about (before a visit: alertflow check NAME)")


@alerts.command("show")
@click.argument("alert_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def alerts_show(db, alert_id, username, as_json):
    """The whole story of one alert."""
    pack = active_pack()
    story = alert_story(db, pack=pack, actor=actor_named(db, username), alert_id=alert_id)
    a = story["alert"]
    data = {
        "alert": a.id, "customer": a.subject.reference, "category": a.category, "status": a.status,
        "reported_by": a.reported_by, "staff_involved": a.staff_involved,
        "about_customer": a.about_customer.reference if a.about_customer_id else None,
        "restriction": a.restriction, "marker_text": a.marker_text, "control_measures": a.control_measures,
        "marker_details": markers.marker_details(active_pack(), a, readers=True),  # the story: need to know
        "marker_code": a.marker_code, "level": a.level, "removed_reason": a.removed_reason,
        "placed_at": a.placed_at.isoformat() if a.placed_at else None,
        "placed_on": iso_day(a.placed_at),  # the organisation's day (Europe/London)
        "decided_by": a.decided_by, "decided_role": a.decided_role, "decision_no": a.decision_no,
        "review_count": a.review_count, "next_review_at": a.next_review_at.isoformat() if a.next_review_at else None,
        "next_review": _iso(markers.next_review_date(a)),
        "incidents": [{"no": i["no"], "reported_at": i["reported_at"].isoformat(), "reported_by": i["reported_by"],
                       "staff_involved": i["staff_involved"], "category": i["category"], "linked": i["linked"],
                       "description": i["description"], "case": i["case"]} for i in story["incidents"]],
        "cases": [{"case": c.id, "kind": c.kind, "status": c.status, "version": c.definition.version,
                   "next_timer_at": c.next_timer_at.isoformat() if c.next_timer_at else None} for c in story["cases"]],
        "category_label": wording.labelled(pack.categories, a.category),
        "decided_role_name": wording.labelled(pack.roles, a.decided_role) or None,
        "tasks": [{"task": t.id, "case": t.case_id, "title": t.title, "role": t.role,
                   "role_name": wording.labelled(pack.roles, t.role), "status": t.status,
                   "assignee": t.assignee, "completed_by": t.completed_by,
                   "due": t.due_at.isoformat() if t.due_at else None,
                   "answers_in_words": [{"question": q, "answer": v} for q, v in story["answers"].get(t.id, [])]}
                  for t in story["tasks"]],
        "assessments": [{"by": r.assessed_by, "content": r.content} for r in story["assessments"]],
        "letters": [{"id": lt.id, "template": lt.template, "title": lt.title, "body": lt.body,
                     "issued_at": lt.issued_at.isoformat(), "decision_no": lt.decision_no,
                     "delivery_method": lt.delivery_method,
                     "delivered_at": lt.delivered_at.isoformat() if lt.delivered_at else None}
                    for lt in story["letters"]],
        "notes": [{"notebook": n.notebook, "text": n.text, "author": n.author} for n in story.get("notes", [])],
        "non_disclosures": [{"reason": n.reason, "consulted": n.consulted, "by": n.decided_by}
                            for n in story["non_disclosures"]],
        "events": [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "case": e.case_id,
                    "detail": e.detail} for e in story["events"]],
        "circulation": [circulation.described(pack, r) for r in story["circulation"]],
    }
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(f"alert {a.id}: {a.subject.name} ({a.subject.reference})  {data['category_label']}  "
               f"{markers.status_label(a.status)}")
    click.echo(f"  reported by {a.reported_by}  staff involved: {a.staff_involved or '-'}")
    click.echo(f"  marker: {a.marker_text or '-'}  measures: {wording.and_list(a.control_measures or []) or '-'}")
    for detail in data["marker_details"]:  # the pack's [marker_fields], the readers-only ones too
        click.echo(f"    {detail}")
    click.echo(f"  decided by {a.decided_by or '-'} ({data['decided_role_name'] or '-'})  "
               f"placed {day(a.placed_at)}  next review {day(markers.next_review_date(a))}")
    for i in story["incidents"]:
        how = "linked" if i["linked"] else "first reported"
        click.echo(f"  incident {i['no']}: {day(i['reported_at'])}, {how} by {i['reported_by']}: {i['description']}")
    for r in story["circulation"]:
        click.echo(f"  {r.recipient_name} {circulation.NOTICE_WORDS.get(r.notice, r.notice)}: {wording.moment(r.told_at)}, "
                   f"by {r.element}" + (f"; justified: {r.justification}" if r.justification else ""))
    for t in story["tasks"]:
        if t.status != "completed":
            continue
        click.echo(f"  {t.title}: {t.completed_by}, {wording.day(t.completed_at)}")
        for question, answer in story["answers"].get(t.id, []):
            click.echo(f"      {question}: {answer}")
    for e in story["events"]:
        click.echo(f"  {wording.moment(e.at)}  {e.actor:20} {e.action.replace('_', ' ')}")


def _iso(value):
    return value.isoformat() if value else None


def _marker_line(m: dict) -> str:
    """One marker as check before visiting shows it: its code and level in words (markers.kind_in_words,
    as the web page says them), the instruction, the measures and the pack's [marker_fields] beneath."""
    measures = f" ({', '.join(m['control_measures'])})" if m["control_measures"] else ""
    kind = f" ({m['kind']})" if m.get("kind") else ""
    details = "".join(f"\n    {d}" for d in m.get("details") or [])  # the pack's [marker_fields], beneath
    return f"MARKER{kind}: {m['instruction']}{measures}{details}"


@main.command()
@click.argument("text")
@click.option("--as", "username", required=True)
@in_transaction
def check(db, text, username):
    """Before a visit: does this customer (name, reference, address) carry a marker?"""
    results = markers.check_before_visit(db, pack=active_pack(), actor=actor_named(db, username), text=text)
    for r in results:
        c, place = r.customer, r.place
        if c is None:  # a property with a marker, no one found living there
            for m in r.place_markers:
                click.echo(f"{place.reference}  {place.address} {place.postcode}: {_marker_line(m)} (at this address)")
            continue
        if not r.markers:
            click.echo(f"{c.reference}  {c.name}, {c.address}: no marker" + (" of their own" if r.lead_tenant else ""))
        for m in r.markers:
            click.echo(f"{c.reference}  {c.name}, {c.address}: {_marker_line(m)}")
        for m in r.lead_tenant_markers:
            lead = r.lead_tenant
            click.echo(f"{c.reference}  {c.name}, of the household of the lead tenant {lead.name} ({lead.reference}): "
                       f"{_marker_line(m)}")
        for m in r.place_markers:
            click.echo(f"{c.reference}  {c.name}, at {place.address} {place.postcode} (property {place.reference}): "
                       f"{_marker_line(m)} (at this address)")
    if not results:
        click.echo(f"no customer matches '{text}', nor any property with a marker")
    elif results.matched > len(results):
        click.echo(f"showing {len(results)} of {results.matched}, narrow your search")


def print_open_steps(db, username, alert_id):
    """What happens next on the alert, as far as this person may know (the web's answer too)."""
    pack = active_pack()
    for t in inboxes.open_steps(db, pack=pack, actor=actor_named(db, username), alert_id=alert_id):
        who = t.assignee or wording.labelled(pack.roles, t.role)
        click.echo(f"next: task {t.id} '{t.title}' for {who}, due {day(t.due_at)}")

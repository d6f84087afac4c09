"""`alertflow`: the command line. Each command is one transaction; errors print one clear
line and exit with status 1, with nothing saved."""
import json
import sys
import time
from functools import wraps

import click

from workflows.tasks.task_view import task_view
from workflows.register.story import alert_story
from workflows.accounts import credentials, people
from workflows.platform import clock, db as database
from workflows.definitions import deployment, policy_changes, versions
from workflows.cases import engine
from workflows.tasks import inbox as inboxes
from workflows.register import markers
from workflows import background
from workflows.register import customer_requests, tenancy as tenancies
from workflows.cases import timers as timer_sweep
from workflows.platform.errors import FormInvalid, WorkflowError
from workflows.definitions.pack import active_pack, load_pack


def _fail(message: str):
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def in_transaction(func):
    """Run the command in one transaction, turning expected failures into a clear message."""
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with database.transaction() as db:
                return func(db, *args, **kwargs)
        except FormInvalid as err:
            for field, message in err.errors.items():
                click.echo(f"error: {field}: {message}", err=True)
            sys.exit(1)
        except deployment.DefinitionRefused as err:
            for finding in err.findings:
                click.echo(f"error: {finding}", err=True)
            sys.exit(1)
        except WorkflowError as err:
            _fail(str(err))
    return wrapper


def _actor(db, username):
    return engine.actor_for(db, active_pack(), username)


def _date(value):
    return value.date().isoformat() if value else "-"


@click.group()
@click.option("--now", "now", metavar="ISO", help="Run as if it were this moment (moves the clock).")
def main(now):
    """Alertflow: customer risk alerts run as BPMN."""
    try:
        clock.set_now(clock.parse_moment(now) if now else None)
    except ValueError as err:
        _fail(str(err))


@main.group()
def db():
    """The database schema."""


@db.command("upgrade")
def db_upgrade():
    """Create or upgrade the schema (Alembic migrations)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(database.config.PROJECT_ROOT / "alembic.ini"))
    command.upgrade(cfg, "head")
    click.echo("schema is up to date")


@main.group()
def pack():
    """The active policy pack and its diagrams."""


@pack.command("deploy")
@click.option("--as", "username", default="system", help="Who is deploying.")
@in_transaction
def pack_deploy(db, username):
    """Check every diagram of the active pack and deploy the changed ones as new versions."""
    the_pack = active_pack()
    deployed = deployment.deploy_pack(db, pack=the_pack, deployed_by=username)
    for d in deployed:
        click.echo(f"deployed {d.process_id} version {d.version}")
    if not deployed:
        click.echo(f"{the_pack.name}: every process is already deployed")


@pack.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def pack_check(files):
    """Check BPMN files against the active pack without deploying them."""
    try:
        the_pack = active_pack()
    except WorkflowError as err:  # pack.toml itself is wrong: say so, as deploy does
        _fail(str(err))
    findings = []
    for path in files or [str(p) for p in the_pack.bpmn_files()]:
        with open(path, "rb") as fh:
            findings += deployment.check(fh.read(), path, the_pack)
    for finding in findings:
        click.echo(f"error: {finding}", err=True)
    if findings:
        sys.exit(1)
    click.echo("no problems found")


@pack.command("versions")
@in_transaction
def pack_versions(db):
    """Every deployed version, who deployed it, and how many cases run on it."""
    for d, running in deployment.versions(db, pack=active_pack().key):
        click.echo(f"{d.process_id} v{d.version}  deployed {d.deployed_at:%Y-%m-%d %H:%M} by {d.deployed_by}  "
                   f"running cases: {running}")


@pack.command("diff")
@click.argument("process_id")
@click.argument("from_version", type=int)
@click.argument("to_version", type=int)
@in_transaction
def pack_diff(db, process_id, from_version, to_version):
    """What changed between two versions of a process."""
    the_pack = active_pack()
    old = versions.version(db, pack=the_pack, process_id=process_id, number=from_version)
    new = versions.version(db, pack=the_pack, process_id=process_id, number=to_version)
    lines = versions.describe_changes(old.bpmn_xml, new.bpmn_xml)
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("no changes")


@pack.command("migrate")
@click.argument("process_id")
@click.option("--to", "to_version", type=int, help="Target version (default: the newest).")
@click.option("--as", "username", required=True, help="A process owner.")
@click.option("--dry-run", is_flag=True, help="Only list which cases can move, and why not.")
@in_transaction
def pack_migrate(db, process_id, to_version, username, dry_run):
    """Move running cases of a process onto a newer version."""
    the_pack = active_pack()
    actor = _actor(db, username)
    if dry_run:
        moves = policy_changes.plan_migration(db, pack=the_pack, actor=actor, process_id=process_id,
                                             to_version=to_version)
    else:
        moves = policy_changes.migrate(db, pack=the_pack, actor=actor, process_id=process_id, to_version=to_version)
    for m in moves:
        verdict = ("can move" if dry_run else "moved") if m.can_move else "cannot move"
        click.echo(f"case {m.case_id} (alert {m.alert_id}, version {m.from_version}): {verdict}: {m.reason}")
    if not moves:
        click.echo("no running cases on other versions")


@main.group()
def users():
    """Staff accounts and their roles."""


@users.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True)
@click.option("--role", "roles", multiple=True, help="A role key of the pack (repeatable; at least one).")
@click.option("--email")
@click.option("--password", help="Their first password, so they can sign in to the web app.")
@in_transaction
def users_add(db, username, full_name, roles, email, password):
    """Add a user with one or more roles."""
    user = people.add_user(db, pack=active_pack(), username=username, full_name=full_name,
                           roles=list(roles), email=email)
    if password:
        credentials.set_password(db, username=user.username, password=password, by="cli")
    click.echo(f"added {user.username} ({', '.join(sorted(user.role_keys))})")


@users.command("password")
@click.argument("username")
@click.password_option("--password", help="The new password (asked for when not given).")
@in_transaction
def users_password(db, username, password):
    """Set a user's password (clearing their failed sign-ins and ending their sessions)."""
    credentials.set_password(db, username=username, password=password, by="cli")
    click.echo(f"password set for {username}")


@users.command("roles")
@click.argument("username")
@click.option("--add", "add", multiple=True)
@click.option("--remove", "remove", multiple=True)
@in_transaction
def users_roles(db, username, add, remove):
    """Grant or withdraw roles (their sessions end, so they sign in again in the new roles)."""
    user = people.set_roles(db, pack=active_pack(), username=username, add=add, remove=remove, by="cli")
    click.echo(f"{user.username}: {', '.join(sorted(user.role_keys)) or 'no roles'}")


@users.command("deactivate")
@click.argument("username")
@in_transaction
def users_deactivate(db, username):
    """Switch an account off: it cannot sign in or be given steps, and its sessions end."""
    credentials.set_active(db, pack=active_pack(), username=username, active=False, by="cli")
    click.echo(f"{username} switched off")


@users.command("activate")
@click.argument("username")
@in_transaction
def users_activate(db, username):
    """Switch an account back on."""
    credentials.set_active(db, pack=active_pack(), username=username, active=True, by="cli")
    click.echo(f"{username} switched on")


@users.command("away")
@click.argument("username")
@click.option("--from", "away_from", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day away.")
@click.option("--until", "away_until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day away.")
@in_transaction
def users_away(db, username, away_from, away_until):
    """Record someone away (leave, sickness): their deputies may take their role's steps meanwhile."""
    people.set_away(db, username=username, away_from=away_from.date(), away_until=away_until.date(), by="cli")
    click.echo(f"{username} away from {away_from.date()} to {away_until.date()}")


@users.command("back")
@click.argument("username")
@in_transaction
def users_back(db, username):
    """Record someone back: their role's steps are theirs alone again."""
    people.set_away(db, username=username, away_from=None, away_until=None, by="cli")
    click.echo(f"{username} back")


@users.command("list")
@in_transaction
def users_list(db):
    """Every user and their roles."""
    for user in people.list_users(db):
        away = f"  (away {user.away_from} to {user.away_until})" if user.away_from else ""
        click.echo(f"{user.username:24} {user.full_name:30} {', '.join(sorted(user.role_keys))}{away}")


@main.group()
def customers():
    """Customers (tenants)."""


@customers.command("add")
@click.argument("reference")
@click.option("--name", required=True)
@click.option("--address", default="")
@click.option("--postcode", default="")
@click.option("--household-of", "household_of", default=None,
              help="The lead tenant (reference) whose household this person belongs to.")
@in_transaction
def customers_add(db, reference, name, address, postcode, household_of):
    """Add a customer."""
    customer = people.add_customer(db, reference=reference, name=name, address=address, postcode=postcode,
                                   household_of=household_of)
    click.echo(f"added customer {customer.reference}" + (f", of {household_of}'s household" if household_of else ""))


@main.group("import")
def import_group():
    """Bring in what the landlord already holds."""


def _progress(what):
    """A progress line on the terminal for a large file (every 1,000 rows; in place on a terminal)."""
    tty = sys.stderr.isatty()

    def show(done, total):
        if total < 1000 or (done % 1000 and done != total):
            return
        line = f"{what} {done:,} of {total:,} rows ({done * 100 // total}%)"
        click.echo(("\r" + line) if tty else line, err=True, nl=not tty or done == total)
    return show


@import_group.command("markers")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "username", required=True)
@click.option("--dry-run", "dry_run", is_flag=True, help="Check every row and report; import nothing.")
@click.option("--good-rows-only", "good_rows_only", is_flag=True,
              help="Import the rows without problems even though others have some.")
@click.option("--mapping", "mapping_file", type=click.Path(dir_okay=False),
              help="A TOML file naming, for another system's export, which of its columns is which of ours.")
@in_transaction
def import_markers(db, file, username, dry_run, good_rows_only, mapping_file):
    """Import the existing register from a CSV, one row a marker (docs/integration.md)."""
    from pathlib import Path

    from workflows import permissions
    from workflows.register import importing

    pack, actor = active_pack(), _actor(db, username)
    if not permissions.may_import_register(pack, actor):
        _fail(f"{username} may not import the register: it is for the roles [pack] import_by names "
              f"(by default the {pack.roles[pack.administrator_role].name})")
    path = Path(file)
    if not path.is_file():
        _fail(f"there is no file {file}")
    mapping = None
    if mapping_file:
        if not Path(mapping_file).is_file():
            _fail(f"there is no mapping file {mapping_file}")
        mapping = importing.load_mapping(Path(mapping_file).read_bytes(), mapping_file)
    parsed = importing.read_csv(path.read_bytes(), path.name, mapping)
    report = importing.check(db, pack, parsed, progress=_progress("checked"))
    for p in report.problems:
        click.echo(f"row {p.row}, column {p.column}: {p.reason}")
    t = report.totals()
    delimiter = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}[parsed.delimiter]
    click.echo(f"{path.name}: {t['rows']:,} rows (columns separated by {delimiter}): {t['good']:,} good, "
               f"{t['with_problems']:,} with problems ({t['problems']:,} problems)")
    if dry_run:
        click.echo("dry run: nothing imported" + ("" if report.bad else "; the file is clean, run again without --dry-run"))
        return
    count = importing.import_rows(db, pack=pack, actor=actor, report=report, good_rows_only=good_rows_only,
                                  progress=_progress("imported"))
    skipped = f"; {len(report.bad):,} row{'' if len(report.bad) == 1 else 's'} with problems left out" if report.bad else ""
    click.echo(f"imported {count:,} marker{'' if count == 1 else 's'} from {path.name}{skipped}")


@main.command()
@click.option("--as", "username", required=True)
@click.option("--customer", "customer_ref", required=True, help="The customer's reference.")
@click.option("--category", required=True)
@click.option("--description", required=True, help="What happened, or why there is a concern.")
@click.option("--staff-involved", "staff_involved", default=None,
              help="Username of the member of staff it happened to, if not you (they never decide on it).")
@in_transaction
def report(db, username, customer_ref, category, description, staff_involved):
    """Report a concern about a customer (any staff); this starts a case."""
    case = engine.report_concern(db, pack=active_pack(), actor=_actor(db, username),
                                 customer_ref=customer_ref, category=category, description=description,
                                 staff_involved=staff_involved)
    click.echo(f"alert {case.alert_id} reported; case {case.id} started")
    alert = case.alert
    if alert.about_customer_id is not None:
        click.echo(f"the marker goes on the lead tenant {alert.customer.name} ({alert.customer.reference}); "
                   f"{alert.about_customer.reference}'s own record is linked to it, not flagged")
    _print_open_steps(db, case.alert_id)


@main.command()
@click.option("--as", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def inbox(db, username, as_json):
    """Your open steps: assigned to you, or waiting for one of your roles."""
    box = inboxes.sections(db, pack=active_pack(), actor=_actor(db, username), limit=200)
    rows = [{"task": t.id, "title": t.title, "kind": t.kind, "role": t.role, "assignee": t.assignee, "status": t.status,
             "alert": t.alert_id, "customer": t.customer_ref, "due": _date(t.due_at), "overdue": inboxes.is_overdue(t)}
            for t in box.mine + box.unclaimed]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        flag = " OVERDUE" if r["overdue"] else ""
        click.echo(f"task {r['task']:>5}  due {r['due']}{flag}  {r['title']}  [{r['role']}]  "
                   f"alert {r['alert']} customer {r['customer']}  {r['status']}")
    if not rows:
        click.echo("nothing waiting for you")


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
    view = task_view(db, pack=active_pack(), actor=_actor(db, username), task_id=task_id)
    t = view["task"]
    if as_json:
        click.echo(json.dumps({"task": t.id, "title": t.title, "role": t.role, "status": t.status,
                               "assignee": t.assignee, "due": _date(t.due_at), "kind": t.kind,
                               "instructions": view["instructions"],
                               "fields": [f.__dict__ for f in view["fields"]]}, indent=2, default=list))
        return
    click.echo(f"task {t.id}: {t.title}  [{t.role}]  {t.status}  due {_date(t.due_at)}")
    for line in (view["instructions"] or "").splitlines():
        click.echo(f"  {line}")
    for f in view["fields"]:
        need = "required" if f.required else (f"required when {f.required_when}" if f.required_when else "optional")
        options = f"  one{' or more' if f.multiple else ''} of: {', '.join(o for o, _ in f.options)}" if f.options else ""
        click.echo(f"  {f.id} ({f.type}, {need}): {f.label}{options}")


@task.command("claim")
@click.argument("task_id", type=int)
@click.option("--as", "username", required=True)
@in_transaction
def task_claim(db, task_id, username):
    """Take a step for yourself."""
    t = engine.claim_task(db, pack=active_pack(), actor=_actor(db, username), task_id=task_id)
    click.echo(f"task {t.id} claimed by {t.assignee}")


@task.command("release")
@click.argument("task_id", type=int)
@click.option("--as", "username", required=True)
@in_transaction
def task_release(db, task_id, username):
    """Give a claimed step back to its role."""
    t = engine.release_task(db, pack=active_pack(), actor=_actor(db, username), task_id=task_id)
    click.echo(f"task {t.id} released to {t.role}")


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
    t = engine.complete_task(db, pack=active_pack(), actor=_actor(db, username), task_id=task_id, values=values)
    click.echo(f"task {t.id} completed by {t.completed_by}")
    _print_open_steps(db, t.case.alert_id)


@main.command()
@click.argument("alert_id", type=int)
@click.option("--as", "username", required=True, help="The member of staff recording the appeal.")
@click.option("--grounds", required=True, help="The tenant's grounds for appeal.")
@in_transaction
def appeal(db, alert_id, username, grounds):
    """Record a tenant's appeal against the latest decision on their marker."""
    case = engine.start_appeal(db, pack=active_pack(), actor=_actor(db, username), alert_id=alert_id,
                                          grounds=grounds)
    click.echo(f"appeal case {case.id} started for alert {alert_id}")
    _print_open_steps(db, alert_id)


@main.command()
@click.argument("alert_id", type=int)
@click.option("--as", "username", required=True, help="The member of staff recording the request.")
@click.option("--kind", required=True, help="A request the pack names, e.g. subject_access.")
@click.option("--details", required=True, help="What the customer asked for.")
@in_transaction
def request(db, alert_id, username, kind, details):
    """Record a customer's request about their alert (e.g. a subject access request); starts its case."""
    case = customer_requests.start_request(db, pack=active_pack(), actor=_actor(db, username), alert_id=alert_id,
                                           kind=kind, details=details)
    click.echo(f"{kind} case {case.id} started for alert {alert_id}")
    _print_open_steps(db, alert_id)


@main.group()
def letter():
    """The tenant's letters."""


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
    done = letters.record_delivery(db, pack=active_pack(), actor=_actor(db, username), letter_id=letter_id,
                                   method=method, delivered_at=moment)
    click.echo(f"letter {done.id} ('{done.title}') recorded as delivered: {method}, {moment:%Y-%m-%d %H:%M}")


@main.group()
def tenancy():
    """Tenancies."""


@tenancy.command("end")
@click.argument("customer_ref")
@click.option("--as", "username", required=True)
@in_transaction
def tenancy_end(db, customer_ref, username):
    """Record that a customer no longer has a tenancy or licence (their markers go, if the pack says so)."""
    removed = tenancies.end_tenancy(db, pack=active_pack(), actor=_actor(db, username), customer_ref=customer_ref)
    click.echo(f"tenancy of {customer_ref} ended; {len(removed)} marker(s) removed")


@main.command("visit-list")
@click.option("--as", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def visit_list(db, username, as_json):
    """Every customer with a marker and what staff must do (for out-of-hours staff); no reasons."""
    rows = markers.visit_list(db, pack=active_pack(), actor=_actor(db, username))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        code = f"[{r['code']}] " if r["code"] else ""
        click.echo(f"{r['customer']:10} {r['name']}, {r['address']} {r['postcode']}: {code}{r['instruction']}")
        for detail in r.get("details") or []:
            click.echo(f"    {detail}")
    if not rows:
        click.echo("no customer has a marker")


@main.group()
def timers():
    """Timers: reviews falling due, deadlines."""


@timers.command("fire")
def timers_fire():
    """Advance every case whose timer has passed (each in its own transaction)."""
    click.echo(f"{timer_sweep.sweep(active_pack())} case(s) advanced")


@timers.command("reminders")
def timers_reminders():
    """Send the reminders and escalations that have fallen due (e-mail over SMTP)."""
    from workflows.tasks import reminders
    sent = reminders.send_due(active_pack())
    click.echo(f"{sent['reminders']} reminder(s), {sent['escalations']} escalation(s) sent")


@main.group("clock")
def clock_group():
    """The shared clock of every process that reads ALERTFLOW_CLOCK_FILE (workers too): for demos and tests."""


def _clock_file():
    import os
    path = os.environ.get(clock.CLOCK_FILE_ENV)
    if not path:
        _fail(f"set {clock.CLOCK_FILE_ENV} to a file (the same for the web app and the workers) to move their clock")
    return path


@clock_group.command("set")
@click.argument("moment")
def clock_set(moment):
    """Every process reading the clock file now runs as if it were MOMENT (ISO 8601)."""
    path = _clock_file()
    try:
        clock.write_clock_file(path, clock.parse_moment(moment))
    except ValueError as err:
        _fail(str(err))
    click.echo(f"clock set to {clock.parse_moment(moment).isoformat()} for every process reading {path}")


@clock_group.command("reset")
def clock_reset():
    """Back to the wall clock."""
    clock.write_clock_file(_clock_file(), None)
    click.echo("clock back to the wall clock")


@clock_group.command("show")
def clock_show():
    click.echo(clock.now().isoformat())


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
    case = timer_sweep.retry_case(db, pack=active_pack(), case_id=case_id, actor=_actor(db, username))
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
    rows = markers.alerts(db, pack=active_pack(), actor=_actor(db, username),
                           status=None if status == "all" else status)
    if as_json:
        click.echo(json.dumps([{"alert": a.id, "status": a.status, "category": a.category,
                                "customer": a.customer.reference, "marker_text": a.marker_text,
                                "marker_code": a.marker_code, "level": a.level,
                                "placed_at": a.placed_at.isoformat() if a.placed_at else None,
                                "next_review_at": a.next_review_at.isoformat() if a.next_review_at else None}
                               for a in rows], indent=2))
        return
    for a in rows:
        click.echo(f"alert {a.id:>5}  {a.status:16} {a.category:14} {a.customer.reference:10} "
                   f"next review {_date(a.next_review_at)}  {a.marker_text or ''}")
    if not rows:
        click.echo("no alerts you need to know about (before a visit: alertflow check NAME)")


@alerts.command("show")
@click.argument("alert_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@in_transaction
def alerts_show(db, alert_id, username, as_json):
    """The whole story of one alert."""
    story = alert_story(db, pack=active_pack(), actor=_actor(db, username), alert_id=alert_id)
    a = story["alert"]
    data = {
        "alert": a.id, "customer": a.customer.reference, "category": a.category, "status": a.status,
        "reported_by": a.reported_by, "staff_involved": a.staff_involved,
        "about_customer": a.about_customer.reference if a.about_customer_id else None,
        "restriction": a.restriction, "marker_text": a.marker_text, "control_measures": a.control_measures,
        "marker_details": markers.marker_details(active_pack(), a),
        "marker_code": a.marker_code, "level": a.level, "removed_reason": a.removed_reason,
        "placed_at": a.placed_at.isoformat() if a.placed_at else None,
        "decided_by": a.decided_by, "decided_role": a.decided_role, "decision_no": a.decision_no,
        "review_count": a.review_count, "next_review_at": a.next_review_at.isoformat() if a.next_review_at else None,
        "cases": [{"case": c.id, "kind": c.kind, "status": c.status, "version": c.definition.version,
                   "next_timer_at": c.next_timer_at.isoformat() if c.next_timer_at else None} for c in story["cases"]],
        "tasks": [{"task": t.id, "case": t.case_id, "title": t.title, "role": t.role, "status": t.status,
                   "assignee": t.assignee, "completed_by": t.completed_by,
                   "due": t.due_at.isoformat() if t.due_at else None} for t in story["tasks"]],
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
    }
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    click.echo(f"alert {a.id}: {a.customer.name} ({a.customer.reference})  {a.category}  {a.status}")
    click.echo(f"  reported by {a.reported_by}  staff involved: {a.staff_involved or '-'}")
    click.echo(f"  marker: {a.marker_text or '-'}  measures: {', '.join(a.control_measures or []) or '-'}")
    click.echo(f"  decided by {a.decided_by or '-'} ({a.decided_role or '-'})  next review {_date(a.next_review_at)}")
    for e in data["events"]:
        click.echo(f"  {e['at'][:16]}  {e['actor']:20} {e['action']}")


def _marker_line(m: dict) -> str:
    measures = f" ({', '.join(m['control_measures'])})" if m["control_measures"] else ""
    code = f" [{m['code']}]" if m.get("code") else ""
    level = f" [{m['level']}]" if m.get("level") else ""
    details = "".join(f"\n    {d}" for d in m.get("details") or [])  # the pack's [marker_fields], beneath
    return f"MARKER{code}{level}: {m['instruction']}{measures}{details}"


@main.command()
@click.argument("text")
@click.option("--as", "username", required=True)
@in_transaction
def check(db, text, username):
    """Before a visit: does this customer (name, reference, address) carry a marker?"""
    results = markers.check_before_visit(db, pack=active_pack(), actor=_actor(db, username), text=text)
    for r in results:
        c = r.customer
        if not r.markers:
            click.echo(f"{c.reference}  {c.name}, {c.address}: no marker" + (" of their own" if r.lead_tenant else ""))
        for m in r.markers:
            click.echo(f"{c.reference}  {c.name}, {c.address}: {_marker_line(m)}")
        for m in r.lead_tenant_markers:
            lead = r.lead_tenant
            click.echo(f"{c.reference}  {c.name}, of the household of the lead tenant {lead.name} ({lead.reference}): "
                       f"{_marker_line(m)}")
    if not results:
        click.echo(f"no customer matches '{text}'")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--minutes", default=1.0, help="How often the background work (timer sweep) runs.")
@click.option("--once", is_flag=True, help="Run one round of background work and stop (no web app).")
def serve(host, port, threads, minutes, once):
    """The main job: the web app (waitress), and, when REDIS_URL is unset, the background work
    (the timer sweep) in a thread of the same process every minute."""
    import os
    import threading

    from waitress import serve as waitress_serve
    from webapp import create_app

    if once:
        try:
            click.echo(f"{background.tick(active_pack())}")
        except WorkflowError as err:  # e.g. an audit log that does not verify is not checkpointed
            _fail(str(err))
        return
    if not os.environ.get("REDIS_URL"):
        def loop():
            while True:
                try:
                    done = background.tick(active_pack())
                    if any(done.values()):
                        click.echo(f"{clock.now():%Y-%m-%d %H:%M}  {done}")
                except Exception as err:  # keep sweeping: one bad case must not stop every timer
                    click.echo(f"background work failed: {err!r}", err=True)
                time.sleep(minutes * 60)
        threading.Thread(target=loop, name="alertflow-background", daemon=True).start()
        click.echo(f"background work every {minutes:g} minute(s) in this process (REDIS_URL is unset)")
    click.echo(f"alertflow: {active_pack().name} pack; web app on http://{host}:{port}/ ; Ctrl-C stops")
    waitress_serve(create_app(), host=host, port=port, threads=threads, ident="alertflow")


@main.command()
@click.option("--pack", "pack_key", default=None, help="Policy pack (default: ALERTFLOW_PACK or derby).")
def demo(pack_key):
    """Load demo users, customers and cases in several states (on an empty database)."""
    from workflows import demo as demo_data

    with database.transaction() as db:
        try:
            summary = demo_data.load(db, pack=load_pack(pack_key) if pack_key else active_pack())
        except WorkflowError as err:
            _fail(str(err))
    click.echo(summary)


@main.group()
def audit():
    """The audit log."""


@audit.command("verify")
@click.option("--since-checkpoint", is_flag=True,
              help="Walk only the events after the newest checkpoint the log agrees with (all checkpoints are still compared).")
def audit_verify(since_checkpoint):
    """Check the audit log's hash chain and its signed checkpoints: report any edited, inserted,
    reordered or deleted row (the newest ones too). Reads only."""
    from workflows.compliance import audit as audit_log

    try:
        with database.transaction() as db:
            result = audit_log.verify(db, since_checkpoint=since_checkpoint)
            db.rollback()  # verification writes nothing; make sure nothing could be committed
    except WorkflowError as err:
        _fail(str(err))
    for problem in result.problems:
        click.echo(f"error: {problem}", err=True)
    if result.problems:
        click.echo(f"audit log FAILED verification: {len(result.problems)} problem(s) in {result.checked} "
                   f"chained events", err=True)
        sys.exit(1)
    walked = f" after seq {result.walked_from}" if result.walked_from else ""
    mark = result.last_checkpoint
    anchored = (f"; {result.checkpoints_agreeing} checkpoint(s) agree, the newest at seq {mark.seq} ({mark.at})"
                if mark else "; no signed checkpoint yet (`alertflow audit checkpoint`)")
    click.echo(f"audit log intact: {result.checked} events{walked}, head {result.last[1]}{anchored}")


@audit.command("checkpoint")
def audit_checkpoint():
    """Sign the chain's newest event (ALERTFLOW_AUDIT_KEY) and append it to the checkpoint file
    (ALERTFLOW_AUDIT_CHECKPOINTS); refused if the log does not verify."""
    from workflows.compliance import audit as audit_log

    try:
        with database.transaction() as db:
            mark = audit_log.checkpoint(db)
    except WorkflowError as err:
        _fail(str(err))
    click.echo(f"checkpoint: seq {mark.seq}, hash {mark.hash}, at {mark.at}, in {audit_log.checkpoints_path()}")


@audit.command("repair-head")
def audit_repair_head():
    """Rebuild a missing audit chain head from the last event; refused unless the log verifies."""
    from workflows.compliance import audit as audit_log

    try:
        with database.transaction() as db:
            seq, digest = audit_log.repair_head(db)
    except WorkflowError as err:
        _fail(str(err))
    click.echo(f"audit chain head rebuilt: seq {seq}, hash {digest}")


@main.group()
def tokens():
    """API tokens for housing management systems and out-of-hours services."""


@tokens.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="markers:read, concerns:write or out_of_hours:read (repeatable).")
@click.option("--as", "username", required=True, help="An administrator.")
@in_transaction
def tokens_create(db, name, scopes, username):
    """Create a token; it is printed once, and only its hash is kept."""
    from workflows.accounts import api_tokens
    row, token = api_tokens.create(db, pack=active_pack(), actor=_actor(db, username), name=name, scopes=list(scopes))
    click.echo(f"token {row.name} ({', '.join(row.scopes)}): {token}")
    click.echo("keep it now: it is not shown again")


@tokens.command("list")
@in_transaction
def tokens_list(db):
    """Every token: name, scopes, when last used, whether revoked (never the token)."""
    from workflows.accounts import api_tokens
    for t in api_tokens.tokens(db):
        state = f"revoked {_date(t.revoked_at)}" if t.revoked_at else f"last used {_date(t.last_used_at)}"
        click.echo(f"{t.name:24} {t.prefix}...  {', '.join(t.scopes):40} {state}")


@tokens.command("revoke")
@click.argument("name")
@click.option("--as", "username", required=True, help="An administrator.")
@in_transaction
def tokens_revoke(db, name, username):
    """Revoke a token at once."""
    from workflows.accounts import api_tokens
    api_tokens.revoke(db, pack=active_pack(), actor=_actor(db, username), name=name)
    click.echo(f"token {name} revoked")


@main.group("export")
def export_group():
    """Registers, the out-of-hours list, dossiers and subject access exports."""


def _emit_rows(rows, columns, fmt, output):
    """Rows as CSV with these columns, or as JSON."""
    from workflows.compliance import exports
    _emit(exports.to_csv(rows, columns) if fmt == "csv" else json.dumps(rows, indent=2) + "\n", output)


def _emit(content, output):
    if output:
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(output, mode) as fh:
            fh.write(content)
        click.echo(f"written to {output}")
    elif isinstance(content, bytes):
        raise WorkflowError("a PDF needs --output FILE")
    else:
        click.echo(content, nl=False)


@export_group.command("register")
@click.option("--as", "username", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--category")
@click.option("--level")
@click.option("--placed-by")
@click.option("--customer", help="Reference, name or address, in part.")
@click.option("--output", type=click.Path(dir_okay=False))
@in_transaction
def export_register(db, username, fmt, category, level, placed_by, customer, output):
    """The register of active markers you may see."""
    from workflows.compliance import oversight, exports
    rows = oversight.active_register(db, pack=active_pack(), actor=_actor(db, username), purpose="exported",
                                      filters=oversight.RegisterFilter(category, level, placed_by, customer))
    _emit_rows(rows, exports.REGISTER_COLUMNS, fmt, output)


@export_group.command("non-disclosures")
@click.option("--as", "username", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False))
@in_transaction
def export_non_disclosures(db, username, fmt, output):
    """The register of decisions not to tell a tenant (only for the roles the pack names)."""
    from workflows.compliance import oversight, exports
    rows = oversight.non_disclosure_register(db, pack=active_pack(), actor=_actor(db, username), purpose="exported")
    _emit_rows(rows, exports.NON_DISCLOSURE_COLUMNS, fmt, output)


@export_group.command("out-of-hours")
@click.option("--as", "username", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False))
@in_transaction
def export_out_of_hours(db, username, fmt, output):
    """Addresses and instructions of active markers, never reasons (out-of-hours and contractors)."""
    from workflows.compliance import exports
    rows = exports.out_of_hours(db, pack=active_pack(), actor=_actor(db, username))
    _emit_rows(rows, exports.OUT_OF_HOURS_COLUMNS, fmt, output)


@export_group.command("subject-access")
@click.argument("customer_ref")
@click.option("--as", "username", required=True)
@click.option("--format", "fmt", type=click.Choice(["json", "pdf"]), default="json")
@click.option("--output", type=click.Path(dir_okay=False))
@in_transaction
def export_subject_access(db, customer_ref, username, fmt, output):
    """Everything held about one person; what a decision not to tell them covers is marked withheld."""
    from workflows.compliance import exports
    data = exports.subject_access(db, pack=active_pack(), actor=_actor(db, username), customer_ref=customer_ref)
    if data["restricted_records"]:
        click.echo(data["restricted_records"]["message"], err=True)
    _emit(exports.subject_access_pdf(data) if fmt == "pdf" else json.dumps(data, indent=2) + "\n", output)


@export_group.command("dossier")
@click.argument("alert_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--output", type=click.Path(dir_okay=False), required=True)
@in_transaction
def export_dossier(db, alert_id, username, output):
    """One marker's whole history as a printable PDF."""
    from workflows.compliance import exports
    _emit(exports.dossier_pdf(db, pack=active_pack(), actor=_actor(db, username), alert_id=alert_id), output)


@main.command("dashboard")
@click.option("--as", "username", required=True)
@in_transaction
def dashboard_command(db, username):
    """The overdue dashboard, as JSON."""
    from dataclasses import asdict
    from workflows.compliance import oversight
    board = oversight.dashboard(db, pack=active_pack(), actor=_actor(db, username))
    click.echo(json.dumps(asdict(board), indent=2))


def _print_open_steps(db, alert_id):
    from sqlalchemy import select
    from workflows.platform.models import OPEN_TASK, Case, HumanTask

    rows = db.scalars(select(HumanTask).join(Case).where(Case.alert_id == alert_id,
                                                         HumanTask.status.in_(OPEN_TASK)))
    for t in rows:
        who = t.assignee or t.role
        click.echo(f"next: task {t.id} '{t.title}' for {who}, due {_date(t.due_at)}")

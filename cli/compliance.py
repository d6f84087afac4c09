"""Oversight: the audit chain, exports (registers, out-of-hours list, subject access, dossier)
and the dashboard."""
import json
import sys

import click

from workflows.drawing import pdf, tables
from workflows.platform import db as database
from workflows.platform.errors import WorkflowError
from workflows.definitions.pack import active_pack

from cli.app import actor_named, fail, in_transaction, main


@main.group()
def audit():
    """The audit log."""


@audit.command("verify")
@click.option("--since-checkpoint", is_flag=True,
              help="Walk only the events after the newest checkpoint the log agrees with (all checkpoints are still compared).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes that walk the chain, each a stretch of it (default: one per core on PostgreSQL "
                   f"once more than {200_000:,} events are to be walked, else 1).")
def audit_verify(since_checkpoint, jobs):
    """Check the audit log's hash chain and its signed checkpoints: report any edited, inserted,
    reordered or deleted row (the newest ones too). Reads only."""
    from workflows.compliance import audit as audit_log

    try:
        with database.transaction() as db:
            result = audit_log.verify(db, since_checkpoint=since_checkpoint, jobs=jobs)
            db.rollback()  # verification writes nothing; make sure nothing could be committed
    except WorkflowError as err:
        fail(str(err))
    for problem in result.problems:
        click.echo(f"error: {problem}", err=True)
    if result.problems:
        click.echo(f"audit log FAILED verification: {len(result.problems)} problem(s) in {result.checked} "
                   f"chained events", err=True)
        sys.exit(1)
    walked = f" after seq {result.walked_from}" if result.walked_from else ""
    if result.processes > 1:
        walked += f" (walked by {result.processes} processes)"
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
        fail(str(err))
    click.echo(f"checkpoint: seq {mark.seq}, hash {mark.hash}, at {mark.at}, in {audit_log.checkpoints_path()}")


@audit.command("repair-head")
def audit_repair_head():
    """Rebuild a missing audit chain head from the last event; refused unless the log verifies."""
    from workflows.compliance import audit as audit_log

    try:
        with database.transaction() as db:
            seq, digest = audit_log.repair_head(db)
    except WorkflowError as err:
        fail(str(err))
    click.echo(f"audit chain head rebuilt: seq {seq}, hash {digest}")


@main.group("export")
def export_group():
    """Registers, the out-of-hours list, dossiers and subject access exports."""


def _emit_rows(rows, columns, fmt, output):
    """Rows as CSV with these columns, or as JSON."""
    _emit(tables.to_csv(rows, columns) if fmt == "csv" else json.dumps(rows, indent=2) + "\n", output)


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
    rows = oversight.active_register(db, pack=active_pack(), actor=actor_named(db, username), purpose="exported",
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
    rows = oversight.non_disclosure_register(db, pack=active_pack(), actor=actor_named(db, username), purpose="exported")
    _emit_rows(rows, exports.NON_DISCLOSURE_COLUMNS, fmt, output)


@export_group.command("out-of-hours")
@click.option("--as", "username", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False))
@in_transaction
def export_out_of_hours(db, username, fmt, output):
    """Addresses and instructions of active markers, never reasons (out-of-hours and contractors)."""
    from workflows.compliance import exports
    rows = exports.out_of_hours(db, pack=active_pack(), actor=actor_named(db, username))
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
    data = exports.subject_access(db, pack=active_pack(), actor=actor_named(db, username), customer_ref=customer_ref)
    if data["restricted_records"]:
        click.echo(data["restricted_records"]["message"], err=True)
    _emit(pdf.subject_access(data) if fmt == "pdf" else json.dumps(data, indent=2) + "\n", output)


@export_group.command("dossier")
@click.argument("alert_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--output", type=click.Path(dir_okay=False), required=True)
@in_transaction
def export_dossier(db, alert_id, username, output):
    """One marker's whole history as a printable PDF."""
    from workflows.compliance import exports
    _emit(exports.dossier_pdf(db, pack=active_pack(), actor=actor_named(db, username), alert_id=alert_id), output)


@main.command("dashboard")
@click.option("--as", "username", required=True)
@in_transaction
def dashboard_command(db, username):
    """The overdue dashboard, as JSON."""
    from dataclasses import asdict
    from workflows.compliance import oversight
    board = oversight.dashboard(db, pack=active_pack(), actor=actor_named(db, username))
    click.echo(json.dumps(asdict(board), indent=2))

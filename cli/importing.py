"""Bringing in what the landlord already holds: the existing register, from a CSV; and checking
the register against the housing system's own export (reconcile)."""
import sys

import click

from workflows.definitions.pack import active_pack

from cli.app import actor_named, fail, in_transaction, main


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
    from workflows.register import importing

    pack, actor = active_pack(), actor_named(db, username)
    path, mapping = _allowed_file(pack, actor, "import", file, mapping_file)
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


@main.command("reconcile")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "username", required=True)
@click.option("--mapping", "mapping_file", type=click.Path(dir_okay=False),
              help="A TOML file naming which of the export's columns is the customer reference and the instruction.")
@in_transaction
def reconcile_command(db, file, username, mapping_file):
    """Compare a housing system's export (customer reference, instruction) with the register:
    markers missing on either side or worded differently. Exit status 1 when they differ."""
    from workflows.register import reconcile

    pack, actor = active_pack(), actor_named(db, username)
    path, mapping = _allowed_file(pack, actor, "reconcile", file, mapping_file)
    result = reconcile.reconcile(db, pack=pack, actor=username, content=path.read_bytes(), filename=path.name,
                                 mapping=mapping)
    for p in result.problems:
        click.echo(f"row {p.row}, column {p.column}: {p.reason} (row left out)")
    for d in result.differences:
        where = f" (row {d.row})" if d.row else ""
        if d.kind == "different wording":
            click.echo(f"{d.customer}: different wording{where}: the register says '{d.register}'; "
                       f"the housing system says '{d.housing_system}'")
        elif d.kind == "missing on the housing system":
            click.echo(f"{d.customer}: missing on the housing system: the register says '{d.register}'")
        else:
            click.echo(f"{d.customer}: missing on the register{where}: the housing system says '{d.housing_system}'")
    click.echo(f"{path.name}: {result.rows:,} rows, {result.markers:,} active markers on the register: "
               f"{result.in_step:,} in step, {len(result.differences):,} "
               f"difference{'' if len(result.differences) == 1 else 's'}")
    if result.differences or result.problems:
        db.commit()  # the audit event of the reconciliation is kept, though the command reports a difference
        sys.exit(1)


def _allowed_file(pack, actor, doing: str, file: str, mapping_file: str | None):
    """The register file (and its column mapping) for someone the pack lets import or reconcile."""
    from pathlib import Path

    from workflows import permissions
    from workflows.register import importing

    if not permissions.may_import_register(pack, actor):
        fail(f"{actor.username} may not {doing} the register: it is for the roles [pack] import_by names "
             f"(by default the {pack.roles[pack.administrator_role].name})")
    path = Path(file)
    if not path.is_file():
        fail(f"there is no file {file}")
    mapping = None
    if mapping_file:
        if not Path(mapping_file).is_file():
            fail(f"there is no mapping file {mapping_file}")
        mapping = importing.load_mapping(Path(mapping_file).read_bytes(), mapping_file)
    return path, mapping

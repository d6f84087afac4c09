"""The policy as data: check, deploy, export, compare and migrate the pack's diagrams."""
import sys
from pathlib import Path

import click

from workflows.definitions import deployment, pack_choice, policy_changes, versions
from workflows.definitions import pack_versions as settings_versions
from workflows.platform import wording
from workflows.platform.errors import WorkflowError
from workflows.definitions.pack import active_pack, load_pack, read_settings_file

from cli.app import actor_named, fail, in_transaction, main


@main.group()
def pack():
    """The active policy pack and its diagrams."""


@pack.command("deploy")
@click.option("--as", "username", default=None,
              help="A process owner (not needed for the first deploy into an empty database).")
@click.option("--force", is_flag=True,
              help="Replace a newer version the pack's files do not hold (a web change); audited.")
@click.option("--note", "change_note", default=None,
              help="Why (shown in the versions list); default: \"from the pack's files\".")
@in_transaction
def pack_deploy(db, username, force, change_note):
    """Deploy the pack's diagrams, pack.toml and letters where they differ from the newest deployed
    version, showing what changes. The first deploy into an empty database installs the whole pack."""
    the_pack = active_pack()
    if username is None and not deployment.is_installed(db, pack=the_pack.key):
        for d in deployment.install_pack(db, pack=the_pack, installed_by="system"):
            click.echo(f"deployed {d.process_id} version {d.version}")
        click.echo(f"{the_pack.name}: installed from {the_pack.directory}; from now on a process owner "
                   f"deploys changes (--as USER)")
        return
    if username is None:
        fail(f"the {the_pack.name} pack is deployed already: only a process owner may deploy changes; "
             f"name one with --as USER")
    result = policy_changes.deploy_pack_files(db, pack=the_pack, actor=actor_named(db, username), force=force,
                                              change_note=change_note)
    if result.settings is not None:
        replaced = f" (replacing version {result.settings_replaced.version}, deployed by " \
                   f"{result.settings_replaced.deployed_by})" if result.settings_replaced else ""
        click.echo(f"deployed pack.toml and letters version {result.settings.version}{replaced}")
        for line in result.settings_changes:
            click.echo(f"  {line}")
    deployed = {d.process_id: d for d in result.deployed}
    for change in result.changes:
        d = deployed[change.process_id]
        replaced = f" (replacing version {change.newest.version}, deployed by {change.newest.deployed_by})" \
            if change.undoes_newer else ""
        click.echo(f"deployed {d.process_id} version {d.version} from {change.filename}{replaced}")
        for line in change.lines:
            click.echo(f"  {line}")
    if not result.changes and result.settings is None:
        click.echo(f"{the_pack.name}: every process is already deployed (the pack's files hold the newest versions)")
    for d in result.not_in_files:
        click.echo(f"note: {d.process_id} version {d.version} is deployed but has no diagram in the pack's files; "
                   f"alertflow pack export DIR writes it there")


@pack.command("list")
@in_transaction
def pack_list(db):
    """The packs this install holds (in the database, or as a folder), the active one first."""
    for entry in pack_choice.packs(db):
        held = f"pack.toml and letters v{entry.settings_version}" if entry.settings_version else "not deployed"
        folder = "a folder too" if entry.has_folder and entry.settings_version else \
            "its folder only" if entry.has_folder else "no folder: in the database only"
        click.echo(f"{entry.key}  {entry.name}  {'(active)  ' if entry.active else ''}{held}; {folder}")


@pack.command("new")
@click.argument("key")
@click.option("--from", "template", required=True,
              help="The pack to copy: one this install holds (as deployed), or a pack folder.")
@click.option("--name", default=None,
              help="The new pack's name, as people read it (default: the key in words: riverside_homes, \"Riverside Homes\").")
@click.option("--as", "username", required=True, help="A process owner.")
@click.option("--note", "change_note", required=True, help="Why (shown in the versions list, audited).")
@in_transaction
def pack_new(db, key, template, name, username, change_note):
    """Make a new pack KEY from a template: its pack.toml, letters and every diagram, checked as a deploy
    checks them and deployed as version 1 under KEY, in the database only (no files written). It runs
    once it is made the active pack (pack use)."""
    name = name if name is not None else key.replace("_", " ").strip().title()
    created = pack_choice.create(db, pack=active_pack(), actor=actor_named(db, username), key=key, name=name,
                                 template=template, change_note=change_note)
    click.echo(f"made the {created.pack.name} pack ({key}) from {template} ({created.template_read_from}): "
               f"pack.toml and letters version {created.settings.version}")
    for d in created.deployed:
        click.echo(f"deployed {d.process_id} version {d.version}")
    click.echo(f"nothing was written to disk; make it the active pack with: alertflow pack use {key} --as {username}")


@pack.command("use")
@click.argument("key")
@click.option("--as", "username", required=True, help="A process owner (of this pack and of KEY).")
@in_transaction
def pack_use(db, key, username):
    """Make KEY the active pack: the web, the command line and the workers run it from their next
    request or task, with no restart. Refused while cases of the active pack are not finished."""
    chosen = pack_choice.use(db, pack=active_pack(), actor=actor_named(db, username), key=key)
    click.echo(f"the {chosen.name} pack ({key}) is the active pack now")


@pack.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="A process owner.")
@in_transaction
def pack_export(db, directory, username):
    """Write the deployed pack to DIRECTORY: the newest version of each diagram, pack.toml and the
    letters, and demo.toml from the pack's folder, to keep in version control or deploy from."""
    the_pack = active_pack()
    exported = policy_changes.export_pack(db, pack=the_pack, actor=actor_named(db, username), directory=directory)
    for path in exported.written:
        click.echo(f"wrote {path}")
    for path in exported.removed:
        click.echo(f"removed {path}: it held a deployed process, which is now in the file written for it")
    for path in exported.kept:
        click.echo(f"note: {path} holds no deployed process; pack deploy would deploy it as a new one")
    click.echo(f"{the_pack.name}: the deployed pack is in {directory}")


@pack.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def pack_check(files):
    """Check the pack's folder (pack.toml, the letters, the diagrams), or the BPMN files named,
    without deploying them."""
    try:
        the_pack = load_pack()  # read afresh: the folder as it is now
    except WorkflowError as err:  # pack.toml itself is wrong: say so, as deploy does
        fail(str(err))
    findings, warnings = [], []
    for path in files or [str(p) for p in the_pack.bpmn_files()]:  # the files, before they are deployed
        with open(path, "rb") as fh:
            content = fh.read()
        findings += deployment.check(content, path, the_pack)
        warnings += deployment.warnings(content, path)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    for finding in dict.fromkeys(findings):  # a pack.toml finding comes with every file checked
        click.echo(f"error: {finding}", err=True)
    if findings:
        sys.exit(1)
    click.echo("no problems found")


@pack.command("versions")
@in_transaction
def pack_versions(db):
    """Every deployed version, who deployed it, why, and how many cases run on it."""
    for d, running in deployment.versions(db, pack=active_pack().key):
        note = f"  \"{d.change_note}\"" if d.change_note else ""
        click.echo(f"{d.process_id} v{d.version}  deployed {wording.moment(d.deployed_at)} by {d.deployed_by}  "
                   f"running cases: {running}{note}")
    for s in reversed(settings_versions.all_versions(db, pack=active_pack().key)):
        click.echo(f"pack.toml and letters v{s.version}  deployed {wording.moment(s.deployed_at)} by {s.deployed_by}  "
                   f"\"{s.change_note}\"")


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
    actor = actor_named(db, username)
    if dry_run:
        moves = policy_changes.plan_migration(db, pack=the_pack, actor=actor, process_id=process_id,
                                             to_version=to_version)
    else:
        moves = policy_changes.migrate(db, pack=the_pack, actor=actor, process_id=process_id, to_version=to_version)
    for m in moves:
        verdict = ("can move" if dry_run else "moved") if m.can_move else "cannot move"
        said = f" ({'; '.join(m.changes)})" if dry_run and m.changes else ""
        click.echo(f"case {m.case_id} (alert {m.alert_id}, version {m.from_version}): {verdict}: {m.reason}{said}")
    if not moves:
        click.echo("no running cases on other versions")


@pack.command("impact")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "username", required=True, help="A process owner.")
@in_transaction
def pack_impact(db, file, username):
    """What deploying FILE (a diagram, or a pack.toml) would change for the cases running now: for
    each waiting case of each process a diagram changes, whether it could move to the new version
    and what would move for it; for a pack.toml (with the letters beside it, or else the deployed
    ones), each running case something changes for, whether it could go on and what changes.
    Nothing is deployed or moved."""
    the_pack = active_pack()
    actor = actor_named(db, username)
    if file.endswith(".toml"):
        return _settings_impact(db, the_pack, actor, Path(file))
    with open(file, "rb") as fh:
        content = fh.read()
    checked = policy_changes.check_file(db, pack=the_pack, content=content, filename=Path(file).name)
    for finding in checked.findings:
        click.echo(f"error: {finding}", err=True)
    for warning in checked.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not checked.ok:
        fail(f"{file} has problems, so it cannot be deployed; fix them first")
    impact = policy_changes.impact(db, pack=the_pack, actor=actor, checked=checked, content=content)
    for process_id, (number, lines) in checked.changes.items():
        if number is None:
            click.echo(f"{process_id}: a new process; no case runs on it yet")
            continue
        if not lines:
            click.echo(f"{process_id}: the same as version {number}; deploying would change nothing")
            continue
        rows = impact.get(process_id, [])
        click.echo(f"{process_id}: version {number + 1} would change {len(lines)} thing"
                   f"{'s' if len(lines) != 1 else ''}; {len(rows)} running case{'s' if len(rows) != 1 else ''}")
        for row in rows:
            verdict = "can move" if row.can_move else f"cannot move: {row.reason}"
            said = "; ".join(row.changes) if row.changes else "nothing changes for it"
            click.echo(f"  case {row.case_id} of alert A{row.alert_id:06d} (on version {row.from_version}): {verdict}"
                       + (f": {said}" if row.can_move else ""))


def _settings_impact(db, the_pack, actor, path: Path):
    """`pack impact pack.toml`: the settings checked as deploying them would check them, then each
    case they would change something for (policy_changes.impact_of_settings)."""
    newest = settings_versions.newest(db, pack=the_pack.key)
    deployed_letters = settings_versions.source_of(newest).letters if newest else {}
    source = read_settings_file(path, deployed_letters)
    checked = policy_changes.check_settings(db, pack=the_pack, source=source)
    for finding in checked.findings:
        click.echo(f"error: {finding}", err=True)
    if not checked.ok:
        fail(f"{path} has problems, so it cannot be deployed; fix them first")
    if checked.newest is not None and not checked.changes:
        click.echo(f"pack.toml and letters: the same as version {checked.newest}; deploying would change nothing")
        return
    rows = policy_changes.impact_of_settings(db, pack=the_pack, actor=actor, checked=checked)
    number = (checked.newest or 0) + 1
    click.echo(f"pack.toml and letters: version {number} would change {len(checked.changes)} thing"
               f"{'s' if len(checked.changes) != 1 else ''}; {len(rows)} running case{'s' if len(rows) != 1 else ''} "
               f"or marker{'s' if len(rows) != 1 else ''} something changes for (deploying reaches them all at once)")
    for line in checked.changes:
        click.echo(f"  {line}")
    for row in rows:
        where = f"case {row.case_id} of alert A{row.alert_id:06d} ({row.process_id} version {row.from_version})" \
            if row.case_id else f"alert A{row.alert_id:06d} (no case running)"
        verdict = "can go on" if row.can_move else f"cannot go on: {row.reason}"
        said = "; ".join(row.changes)
        click.echo(f"  {where}: {verdict}" + (f": {said}" if said else ""))

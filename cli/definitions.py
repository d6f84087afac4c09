"""The policy as data: check, deploy, compare and migrate the pack's diagrams."""
import sys

import click

from workflows.definitions import deployment, policy_changes, versions
from workflows.platform import wording
from workflows.platform.errors import WorkflowError
from workflows.definitions.pack import active_pack

from cli.app import actor_named, fail, in_transaction, main


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
        fail(str(err))
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
        click.echo(f"{d.process_id} v{d.version}  deployed {wording.moment(d.deployed_at)} by {d.deployed_by}  "
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
    actor = actor_named(db, username)
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

"""The `alertflow` group and what every command shares: one transaction a command, and the
engine's refusals printed as one clear line with exit status 1, nothing saved."""
import sys
from functools import wraps

import click

from workflows.platform import clock, db as database, wording
from workflows.definitions import deployment
from workflows.cases import engine
from workflows.platform.errors import FormInvalid, WorkflowError
from workflows.definitions.pack import active_pack


def fail(message: str):
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
            click.echo("refused: nothing changed", err=True)  # a refusal is whole: say so, as the web does
            sys.exit(1)
        except WorkflowError as err:
            fail(str(err))
    return wrapper


def actor_named(db, username):
    return engine.actor_for(db, active_pack(), username)


def day(value):
    """A date as people read it (1 June 2027); `--json` output keeps ISO."""
    return wording.day(value, blank="-")


def iso_day(value):
    """A date for `--json` output: machines read ISO."""
    return clock.local_day(value).isoformat() if value else None


@click.group()
@click.option("--now", "now", metavar="ISO", help="Run as if it were this moment (moves the clock).")
def main(now):
    """Alertflow: customer risk alerts run as BPMN."""
    try:
        clock.set_now(clock.parse_moment(now) if now else None)
    except ValueError as err:
        fail(str(err))

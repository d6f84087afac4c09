"""Running the product: the database schema, the clock, timers, the web server, demo data."""
import time

import click

from workflows.platform import clock, config, db as database
from workflows import background
from workflows.cases import timers as timer_sweep
from workflows.platform.errors import WorkflowError
from workflows.definitions.pack import active_pack, load_pack

from cli.app import fail, main


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
    click.echo(f"{sent['reminders']} reminder(s), {sent['escalations']} escalation(s), "
               f"{sent['announcements']} new step announcement(s) sent")


@main.group("clock")
def clock_group():
    """The shared clock of every process that reads ALERTFLOW_CLOCK_FILE (workers too): for demos and tests."""


def _clock_file():
    import os
    path = os.environ.get(clock.CLOCK_FILE_ENV)
    if not path:
        fail(f"set {clock.CLOCK_FILE_ENV} to a file (the same for the web app and the workers) to move their clock")
    return path


@clock_group.command("set")
@click.argument("moment")
def clock_set(moment):
    """Every process reading the clock file now runs as if it were MOMENT (ISO 8601)."""
    path = _clock_file()
    try:
        clock.write_clock_file(path, clock.parse_moment(moment))
    except ValueError as err:
        fail(str(err))
    click.echo(f"clock set to {clock.parse_moment(moment).isoformat()} for every process reading {path}")


@clock_group.command("reset")
def clock_reset():
    """Back to the wall clock."""
    clock.write_clock_file(_clock_file(), None)
    click.echo("clock back to the wall clock")


@clock_group.command("show")
def clock_show():
    click.echo(clock.now().isoformat())


def _background_loop(minutes: float):
    """The periodic work (timer sweep, reminders, checkpoints) every `minutes`, for ever."""
    while True:
        try:
            done = background.tick(active_pack())
            if any(done.values()):
                click.echo(f"{clock.now():%Y-%m-%d %H:%M}  {done}")
        except Exception as err:  # keep sweeping: one bad case must not stop every timer
            click.echo(f"background work failed: {err!r}", err=True)
        time.sleep(minutes * 60)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web server processes: 1 serves from this process (waitress); more (one per core "
                   "in production) run gunicorn with that many worker processes.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per web server process.")
@click.option("--minutes", default=1.0, help="How often the background work (timer sweep) runs.")
@click.option("--once", is_flag=True, help="Run one round of background work and stop (no web app).")
@click.option("--background-only", is_flag=True, hidden=True,
              help="The background work alone, for ever: what --workers starts beside the web server.")
def serve(host, port, workers, threads, minutes, once, background_only):
    """The main job: the web app, and, when REDIS_URL is unset, the background work (the timer
    sweep) every minute: a thread of this process, or with --workers, a process of its own."""
    import os

    if once:
        try:
            click.echo(f"{background.tick(active_pack())}")
        except WorkflowError as err:  # e.g. an audit log that does not verify is not checkpointed
            fail(str(err))
        return
    if background_only:
        import signal
        import sys
        for stop in (signal.SIGTERM, signal.SIGINT):  # a clean stop with the server (Ctrl-C reaches both)
            signal.signal(stop, lambda *_: sys.exit(0))
        _background_loop(minutes)
    sweeps = not os.environ.get("REDIS_URL")
    # a pooled connection for every thread (and the background work's), so that none is opened
    # and closed per request; the workers gunicorn forks inherit the setting
    try:
        os.environ["ALERTFLOW_DB_POOL_SIZE"] = str(max(config.database_pool_size(), threads + 1))
    except WorkflowError as err:
        fail(str(err))
    if sweeps:
        click.echo(f"background work every {minutes:g} minute(s) (REDIS_URL is unset)")
    click.echo(f"alertflow: {active_pack().name} pack; web app on http://{host}:{port}/ "
               f"({workers} process(es) of {threads} threads); Ctrl-C stops")
    if workers == 1:
        _serve_in_this_process(host, port, threads, minutes if sweeps else None)
    else:
        from cli.web_server import serve_with_workers
        serve_with_workers(host, port, workers, threads, background_minutes=minutes if sweeps else None)


def _serve_in_this_process(host, port, threads, minutes):
    import threading

    from waitress import serve as waitress_serve
    from webapp import serving_app

    if minutes is not None:
        threading.Thread(target=_background_loop, args=(minutes,), name="alertflow-background",
                         daemon=True).start()
    waitress_serve(serving_app(), host=host, port=port, threads=threads, ident="alertflow")


@main.command()
@click.option("--pack", "pack_key", default=None, help="Policy pack (default: ALERTFLOW_PACK or derby).")
def demo(pack_key):
    """Load demo users, customers and cases in several states (on an empty database)."""
    from workflows import demo as demo_data

    with database.transaction() as db:
        try:
            summary = demo_data.load(db, pack=load_pack(pack_key) if pack_key else active_pack())
        except WorkflowError as err:
            fail(str(err))
    click.echo(summary)

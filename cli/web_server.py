"""`alertflow serve --workers N`: gunicorn, one process per worker, so the web app uses every
core. Each worker builds its own app after the fork, and drops any pooled database connection it
inherited (the master reads the deployed pack's name), so no connection crosses a fork.
The background work, when this job does it, runs once, in a process of its own
(`alertflow serve --background-only`), not in every worker."""
import subprocess
import sys

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from webapp import serving_app
        return serving_app()


def serve_with_workers(host: str, port: int, workers: int, threads: int, background_minutes=None):
    """Serve until stopped, with the background work every `background_minutes` (None: none)."""
    sweeper = []

    def when_ready(_arbiter):
        if background_minutes is not None:
            sweeper.append(subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--background-only",
                 "--minutes", str(background_minutes)]))

    def on_exit(_arbiter):
        for process in sweeper:
            process.terminate()
            process.wait(10)

    def post_fork(_arbiter, _worker):
        # the master asked the database for the deployed pack before forking: a worker must never
        # use a pooled connection it inherited (its socket is the master's), so it opens its own
        from workflows.platform import db
        db.get_engine().dispose(close=False)

    _Server({
        "post_fork": post_fork,
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "preload_app": False,
        "accesslog": None,
        "when_ready": when_ready,
        "on_exit": on_exit,
    }).run()

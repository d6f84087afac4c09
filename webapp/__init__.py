"""The web app: managers work their human steps, staff report concerns and check before a
visit. Blueprints are thin faces over workflows/: each request is one transaction."""
import os
import secrets
from datetime import timedelta

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from workflows.platform import config, wording
from workflows.platform.errors import Conflict, NotAllowed, NotFound, WorkflowError
from workflows.permissions import NoNeedToKnow

from . import security

csrf = CSRFProtect()


def _secret_key() -> str:
    """SECRET_KEY, or one kept in instance/ so that a restart does not sign everyone out."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    return config.instance_secret("secret_key", lambda: secrets.token_hex(32))


def serving_app() -> Flask:
    """The app as a server process runs it (`alertflow serve`, each gunicorn worker): built, then
    everything it holds for good (the modules, the models, the templates) set apart from the
    garbage collector, whose full collections over them stopped one request in about a hundred
    for 100-150 ms (benchmarks/inbox.py's slowest requests; about 70 ms once set apart)."""
    import gc
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def create_app(settings: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(),
        # idle expiry, checked on the server (webapp/auth.py end_old_sessions) rather than by letting the
        # browser drop the cookie: a form sent after it can then still keep its answers for after signing in
        SESSION_IDLE=timedelta(minutes=float(os.environ.get("ALERTFLOW_SESSION_MINUTES", "30"))),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=float(os.environ.get("ALERTFLOW_SESSION_MAX_HOURS", "12"))),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # the cookie is sent only when the session changed (see auth._seen_at_step for why)
        SESSION_REFRESH_EACH_REQUEST=False,
        NODE_MODULES=str(config.PROJECT_ROOT / "node_modules"),
    )
    app.config.update(settings or {})
    security.init_app(app)
    proxies = int(os.environ.get("ALERTFLOW_PROXY_HOPS", "0"))
    if proxies:  # behind reverse proxies: the person's address (for sign-in throttling) is forwarded
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    csrf.init_app(app)

    from . import admin, alerts, auth, inbox, processes, staff, sso
    from . import api, compliance
    auth.login_manager.init_app(app)
    sso.init_app(app)
    # how values read to a person: one home, workflows/platform/wording.py
    app.add_template_filter(wording.duration, "duration")  # P14D reads "14 days"
    app.add_template_filter(wording.day, "day")  # 1 June 2027 (UK date)
    app.add_template_filter(wording.moment, "moment")  # 1 June 2027 at 14:05 (UK time)
    app.add_template_filter(wording.due, "due")  # "due in 2 days", "3 days overdue"
    app.add_template_filter(_marker_details, "marker_details")  # the pack's [marker_fields] on an alert
    app.add_template_filter(_next_review, "next_review")  # the one answer to "when is the next review"
    from workflows.register.markers import status_label
    app.add_template_filter(status_label, "status_label")  # a marker's status: "Under assessment"
    from workflows.register.circulation import NOTICE_WORDS
    app.jinja_env.globals["circulation_words"] = NOTICE_WORDS  # "told it was withdrawn", on a marker's list
    for module in (auth, sso, inbox, alerts, staff, admin, processes, compliance, api):
        app.register_blueprint(module.blueprint)

    @app.errorhandler(NotFound)
    @app.errorhandler(404)
    def not_found(err):
        return render_template("error.html", title="Not found",
                               message="There is nothing here, or nothing you may see."), 404

    @app.errorhandler(NotAllowed)
    @app.errorhandler(403)
    def forbidden(err):
        message = str(err) if isinstance(err, NotAllowed) else "Your role may not open this page."
        return render_template("error.html", title="Not allowed", message=message), 403

    @app.errorhandler(NoNeedToKnow)
    def no_need_to_know(err):
        """Refused the story, shown what staff are shown (Flask picks this over NotAllowed's handler)."""
        from webapp.auth import pack
        from workflows.definitions import deployment
        from workflows.platform.db import transaction
        with transaction() as db:  # the level and code by what the pack's forms call them
            labels = {name: deployment.option_labels(db, pack=pack().key, field_id=name)
                      for name in ("level", "marker_code")}
        return render_template("no_need_to_know.html", title="Instruction to staff only", message=str(err),
                               shown=err.instruction, alert_id=err.alert_id, labels=labels), 403

    @app.errorhandler(WorkflowError)
    def refused(err):
        """Anything else the engine refuses: its message on a page, never a server error."""
        return render_template("error.html", title="That could not be done", message=str(err)), 422

    @app.errorhandler(Conflict)
    def conflict(err):
        return render_template("error.html", title="Someone else got there first", message=str(err)), 409

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return render_template("error.html", title="Form expired",
                               message="The form had expired or was not sent from this site. "
                                       "Go back, reload the page and try again."), 400

    return app


def _marker_details(alert) -> list[str]:
    """On an alert's story (shown only to those permissions.may_read_story admits): the readers-only
    marker fields too."""
    from webapp.auth import pack
    from workflows.register.markers import marker_details
    return marker_details(pack(), alert, readers=True)  # the request's pack: asked once a request


def _next_review(alert) -> str:
    """The marker's next review day in words (register/markers.next_review_date), or a dash."""
    from workflows.register.markers import next_review_date
    return wording.day(next_review_date(alert))

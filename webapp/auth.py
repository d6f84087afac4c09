"""Signing in and out, the signed-in user as the engine sees them, and role checks for views."""
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

import qrcode
import qrcode.image.svg
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from workflows import permissions
from workflows.accounts import credentials, second_factor
from workflows.tasks import inbox as inboxes
from workflows.cases.assignment import Actor, actor_of
from workflows.platform.db import transaction
from workflows.platform.models import User
from workflows.definitions.pack import Pack, active_pack

from . import sso
from .security import same_site_path

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.session_protection = "strong"
# A session ends after SESSION_IDLE (app config, ALERTFLOW_SESSION_MINUTES) without use, and however
# busy SESSION_MAX_AGE after sign-in: a shared office computer does not stay signed in for days. Both
# count real time, not the business clock that --now and the tests move.
SESSION_MAX_AGE = timedelta(hours=float(os.environ.get("ALERTFLOW_SESSION_MAX_HOURS", "12")))
KEPT_AFTER_SESSION_ENDED = ("Your session had ended, so the step was not completed. Your answers are kept: "
                            "sign in again and they are back on the form.")
# asked for by the page itself, not by the person: they do not keep an idle session alive
NOT_ACTIVITY = {"inbox.counts", "static"}


@dataclass
class SignedIn:
    """The signed-in person, loaded fresh each request (a role change applies at once)."""
    id: int
    username: str
    full_name: str
    actor: Actor  # roles, seniority and the roles they stand in for today
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def load_user(user_id: str):
    the_pack = pack()  # its own small query, first: a request holds one connection at a time
    with transaction() as db:
        # the person and their roles in one round trip (the relationship's own loading takes two)
        user = db.scalars(select(User).options(joinedload(User.roles)).where(User.id == int(user_id))
                          ).unique().one_or_none()
        # a session from before the user's last sign-out, password, role change or switch-off
        if user is None or not user.active or session.get("generation") != user.session_generation:
            return None
        # a password alone is not a sign-in for an account that two-step sign-in guards
        if second_factor.asks_for_code(the_pack, user) and not session.get("second_factor"):
            return None
        return SignedIn(user.id, user.username, user.full_name, actor_of(db, the_pack, user.username, user.role_keys))


def actor() -> Actor:
    return current_user.actor


def pack() -> Pack:
    """The deployed pack, asked once per request (a deploy reaches the next request)."""
    if "pack" not in g:
        g.pack = active_pack()
    return g.pack


# the pages a role may start on ([roles.X] lands_on in pack.toml), by their endpoints
LANDING_ENDPOINTS = {"inbox": "inbox.inbox", "check": "staff.check", "report": "staff.report",
                     "register": "alerts.alert_list", "compliance": "compliance.dashboard",
                     "processes": "processes.process_list", "users": "admin.users"}


def landing_url() -> str:
    """Where the signed-in person starts: where their work is (workflows/tasks/inbox.landing_page)."""
    from workflows.tasks.inbox import landing_page
    with transaction() as db:
        return url_for(LANDING_ENDPOINTS[landing_page(db, pack=pack(), actor=actor())])


def requires(check):
    """Sign-in required, and check(pack, actor) must hold, else 403."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not check(pack(), actor()):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorate


administrator = permissions.is_administrator


def any_staff(pack_, actor_) -> bool:
    return True


@blueprint.before_app_request
def end_old_sessions():
    """Sign out a session unused for SESSION_IDLE, or older than SESSION_MAX_AGE however recently it
    was used (a step's form sent then keeps its answers as a draft for after signing in); send someone
    half way through signing in (password right, code still to come) to the code or enrolment
    page, whatever they ask for: nothing else is theirs yet."""
    if PENDING in session and request.endpoint not in HALF_SIGNED_IN:
        return redirect(url_for("auth.set_up" if session[PENDING].get("enrol") else "auth.code"))
    signed_in_at, now = session.get("signed_in_at"), time.time()
    if not signed_in_at:
        return None
    idle_for = current_app.config["SESSION_IDLE"].total_seconds()
    idle = now - session.get("seen_at", signed_in_at) > idle_for
    if idle or now - signed_in_at > SESSION_MAX_AGE.total_seconds():
        from .inbox import keep_answers_of_ended_session
        kept = request.method == "POST" and keep_answers_of_ended_session(dict(session))
        logout_user()
        session.clear()
        flash(KEPT_AFTER_SESSION_ENDED if kept else "Your session has ended: please sign in again.")
        next_path = (request.full_path if request.method == "GET"
                     else url_for("inbox.task", task_id=request.view_args["task_id"]) if kept else None)
        return redirect(url_for("auth.sign_in", next=next_path))
    if request.endpoint not in NOT_ACTIVITY and now - session.get("seen_at", 0) >= _seen_at_step(idle_for):
        session["seen_at"] = now
    return None


def idle_seconds_left_at_least() -> int:
    """How long a page may rest before its session ends, at the least (for the warning before it
    does): the idle time, less the step by which the last request may not have been recorded."""
    idle_for = current_app.config["SESSION_IDLE"].total_seconds()
    return int(idle_for - _seen_at_step(idle_for))


def _seen_at_step(idle_for: float) -> float:
    """How far `seen_at` must move before it is written: a minute, or a twentieth of a shorter idle
    time. The session lives in the cookie, so a write sends the whole cookie back; written on every
    request, a draft save still in flight when the form is sent would answer last with the session
    as it was before, and drop the flash the completed step left in it."""
    return min(60.0, idle_for / 20)


@blueprint.app_context_processor
def header():
    def header_counts():
        if not current_user.is_authenticated:
            return None
        with transaction() as db:
            return inboxes.header_counts(db, pack=pack(), actor=actor())
    signed_in = current_user.is_authenticated
    return {"header_counts": header_counts, "pack_name": pack().name,
            "is_admin": signed_in and administrator(pack(), actor()),
            "may_import": signed_in and permissions.may_import_register(pack(), actor())}


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired("Enter your username")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    problem = None
    if form.validate_on_submit():
        with transaction() as db:
            result = credentials.sign_in(db, username=form.username.data, password=form.password.data,
                                      address=request.remote_addr)
            user_id = result.user.id if result.user else None
            generation = result.user.session_generation if result.user else None
            two_step = result.user is not None and second_factor.asks_for_code(pack(), result.user)
            enrol = two_step and not second_factor.is_set_up(result.user)
        if user_id is not None and two_step:
            session.clear()  # nothing of before is carried over; the password is half a sign-in
            session[PENDING] = {"user": user_id, "generation": generation, "at": time.time(), "enrol": enrol,
                                "next": same_site_path(request.args.get("next"))}
            return redirect(url_for("auth.set_up" if enrol else "auth.code"))
        if user_id is not None:
            start_session(user_id, generation)
            return redirect(same_site_path(request.args.get("next")) or landing_url())
        problem = result.message
    status = 401 if problem else 200
    return render_template("sign_in.html", form=form, problem=problem, title="Sign in",
                           single_sign_on=sso.provider_name(), next=same_site_path(request.args.get("next"))), status


def start_session(user_id: int, generation: int, passed_second_factor: bool = False) -> None:
    """Sign this user in: a fresh session (nothing carried over from before), in their current
    session generation."""
    session.clear()
    session.permanent = True
    session["signed_in_at"] = time.time()
    session["generation"] = generation
    session["second_factor"] = passed_second_factor
    login_user(load_user(str(user_id)))


# --- the second step: a code, or enrolment first -------------------------------------------------
PENDING = "half_signed_in"  # {user, generation, at, enrol, next}: the password was right
PENDING_MINUTES = 10  # to type the code (or set the app up) after the password
HALF_SIGNED_IN = {"auth.code", "auth.set_up", "auth.sign_in", "auth.sign_out", "auth.accessibility", "static"}


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter the code")])


def _pending_user(db):
    """The person half way through signing in, or None (none, too slow, or their account changed since)."""
    pending = session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_MINUTES * 60:
        return None
    user = db.get(User, pending["user"])
    if user is None or not user.active or user.session_generation != pending["generation"]:
        return None
    return user


def _start_again():
    session.pop(PENDING, None)
    flash("Signing in took too long, or your account changed meanwhile: please sign in again.")
    return redirect(url_for("auth.sign_in"))


def _signed_in(user_id, generation, next_path):
    start_session(user_id, generation, passed_second_factor=True)
    return redirect(same_site_path(next_path) or landing_url())


@blueprint.route("/sign-in/code", methods=["GET", "POST"])
def code():
    """The second step: the 6-digit code from their app, or a recovery code."""
    form, problem = CodeForm(), None
    with transaction() as db:
        user = _pending_user(db)
        if user is None:
            return _start_again()
        if session[PENDING].get("enrol"):
            return redirect(url_for("auth.set_up"))
        if form.validate_on_submit():
            problem = second_factor.check(db, user=user, code=form.code.data, address=request.remote_addr)
            user_id, generation = user.id, user.session_generation
    if form.is_submitted() and problem is None and not form.errors:
        return _signed_in(user_id, generation, session[PENDING].get("next"))
    return render_template("sign_in_code.html", form=form, problem=problem, title="Enter your code"), \
        401 if problem else 200


@blueprint.route("/sign-in/set-up", methods=["GET", "POST"])
def set_up():
    """Enrolment, for someone whose role needs two-step sign-in and who has not set it up: the
    secret as a QR code and as text, and a code from it to confirm. Then the recovery codes, once."""
    form, problem = CodeForm(), None
    with transaction() as db:
        user = _pending_user(db)
        if user is None:
            return _start_again()
        if not session[PENDING].get("enrol") or second_factor.is_set_up(user):  # (set up in another tab)
            session[PENDING] = {**session[PENDING], "enrol": False}
            return redirect(url_for("auth.code"))
        secret = second_factor.enrolment_secret(db, user=user)
        uri = second_factor.provisioning_uri(pack(), user, secret)
        if form.validate_on_submit():
            problem, codes = second_factor.confirm(db, user=user, code=form.code.data, address=request.remote_addr)
            user_id, generation = user.id, user.session_generation
    if form.is_submitted() and problem is None and not form.errors:
        next_path = same_site_path(session[PENDING].get("next")) or url_for("auth.home")
        start_session(user_id, generation, passed_second_factor=True)
        return render_template("sign_in_recovery_codes.html", codes=codes, next=next_path,
                               title="Your recovery codes")
    return render_template("sign_in_set_up.html", form=form, problem=problem, title="Set up two-step sign-in",
                           qr_code=qr_code_svg(uri), uri=uri,
                           secret_groups=[secret[i:i + 4] for i in range(0, len(secret), 4)]), \
        401 if problem else 200


def qr_code_svg(text: str) -> Markup:
    """The QR code as an inline <svg> (no script, no external image: within the Content-Security-Policy)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return Markup(image.to_string(encoding="unicode"))


@blueprint.route("/sign-out", methods=["POST"])
def sign_out():
    if current_user.is_authenticated:
        with transaction() as db:
            credentials.sign_out(db, username=current_user.username)
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """A person's own settings: for now, whether a step arriving in their inbox is e-mailed to them."""
    from workflows.accounts import people
    with transaction() as db:
        if request.method == "POST":
            on = request.form.get("announce_new_steps") == "yes"
            people.set_announce_new_steps(db, username=current_user.username, on=on, by=current_user.username)
            flash("Saved: " + ("you are e-mailed when a step arrives in your inbox." if on
                               else "you are not e-mailed when a step arrives."))
            return redirect(url_for("auth.settings"))
        user = people.get_user(db, username=current_user.username)
        return render_template("settings.html", title="Your settings", on=user.announce_new_steps, email=user.email)


@blueprint.route("/accessibility")
def accessibility():
    """The accessibility statement: open to anyone, signed in or not."""
    return render_template("accessibility.html", title="Accessibility statement")


@blueprint.route("/")
def home():
    return redirect(landing_url() if current_user.is_authenticated else url_for("auth.sign_in"))

"""Signing in and out, the signed-in user as the engine sees them, and role checks for views."""
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from workflows import permissions
from workflows.accounts import credentials
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
# However busy, a signed-in session ends this long after sign-in (the idle limit is
# PERMANENT_SESSION_LIFETIME): a shared office computer does not stay signed in for days.
# Both count real time, not the business clock that --now and the tests move.
SESSION_MAX_AGE = timedelta(hours=float(os.environ.get("ALERTFLOW_SESSION_MAX_HOURS", "12")))


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
    with transaction() as db:
        user = db.scalar(select(User).where(User.id == int(user_id)))
        # a session from before the user's last sign-out, password, role change or switch-off
        if user is None or not user.active or session.get("generation") != user.session_generation:
            return None
        return SignedIn(user.id, user.username, user.full_name, actor_of(db, active_pack(), user.username, user.role_keys))


def actor() -> Actor:
    return current_user.actor


def pack() -> Pack:
    return active_pack()


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
    """Sign out a session older than SESSION_MAX_AGE, however recently it was used."""
    signed_in_at = session.get("signed_in_at")
    if signed_in_at and time.time() - signed_in_at > SESSION_MAX_AGE.total_seconds():
        logout_user()
        session.clear()
        flash("Your session has ended: please sign in again.")
        return redirect(url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None))
    return None


@blueprint.app_context_processor
def header():
    def header_counts():
        if not current_user.is_authenticated:
            return None
        with transaction() as db:
            return inboxes.header_counts(db, pack=pack(), actor=actor())
    signed_in = current_user.is_authenticated
    return {"header_counts": header_counts, "pack_name": active_pack().name,
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
        if user_id is not None:
            start_session(user_id, generation)
            return redirect(same_site_path(request.args.get("next")) or url_for("inbox.inbox"))
        problem = result.message
    status = 401 if problem else 200
    return render_template("sign_in.html", form=form, problem=problem, title="Sign in",
                           single_sign_on=sso.provider_name(), next=same_site_path(request.args.get("next"))), status


def start_session(user_id: int, generation: int) -> None:
    """Sign this user in: a fresh session (nothing carried over from before), in their current
    session generation."""
    session.clear()
    session.permanent = True
    session["signed_in_at"] = time.time()
    session["generation"] = generation
    login_user(load_user(str(user_id)))


@blueprint.route("/sign-out", methods=["POST"])
def sign_out():
    if current_user.is_authenticated:
        with transaction() as db:
            credentials.sign_out(db, username=current_user.username)
    logout_user()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/")
def home():
    return redirect(url_for("inbox.inbox") if current_user.is_authenticated else url_for("auth.sign_in"))

"""Accounts and their roles, for administrators."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from workflows import permissions
from workflows.accounts import credentials, people, second_factor
from workflows.platform.db import transaction
from workflows.platform.errors import FormInvalid, WorkflowError
from workflows.register import importing

from .auth import actor, administrator, pack, requires

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewUserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired("Enter a username"), Length(max=80)])
    full_name = StringField("Full name", validators=[DataRequired("Enter the person's name"), Length(max=200)])
    email = EmailField("Email", validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter a valid email address")])
    roles = Checkboxes("Roles", validators=[DataRequired("Give at least one role")])
    password = PasswordField("Password", validators=[
        DataRequired("Set a first password"),
        Length(min=credentials.MIN_PASSWORD_LENGTH, message=f"At least {credentials.MIN_PASSWORD_LENGTH} characters")])


class EditUserForm(FlaskForm):
    roles = Checkboxes("Roles")
    active = BooleanField("Account active (may sign in and be given steps)")
    password = PasswordField("New password (leave empty to keep)", validators=[
        Optional(), Length(min=credentials.MIN_PASSWORD_LENGTH, message=f"At least {credentials.MIN_PASSWORD_LENGTH} characters")])
    # leave or sickness: whoever deputises for their role may take its steps on these days
    away_from = DateField("Away from (first day)", validators=[Optional()])
    away_until = DateField("Away until (last day)", validators=[Optional()])


def _show_beside(form, err: WorkflowError, fallback):
    """A refusal beside the field it names (FormInvalid keys are the core's field names, which
    these forms share), else beside `fallback`."""
    for name, message in (err.errors.items() if isinstance(err, FormInvalid) else [(None, str(err))]):
        field = getattr(form, name, None) if name else None
        target = field if field is not None and hasattr(field, "errors") else fallback
        target.errors = list(target.errors) + [message if field is not None else str(err)]


def _role_choices():
    return [(r.key, r.name) for r in pack().roles.values()]


@blueprint.route("/users", methods=["GET", "POST"])
@requires(administrator)
def users():
    form = NewUserForm()
    form.roles.choices = _role_choices()
    if form.validate_on_submit():
        try:
            with transaction() as db:
                people.add_user(db, pack=pack(), username=form.username.data, full_name=form.full_name.data,
                                roles=form.roles.data, email=form.email.data or None, by=actor().username)
                credentials.set_password(db, username=form.username.data.strip(), password=form.password.data,
                                      by=actor().username)
            flash(f"Added {form.username.data}.")
            return redirect(url_for("admin.users"))
        except WorkflowError as err:
            _show_beside(form, err, form.username)
    with transaction() as db:
        rows = people.list_users(db)
        return render_template("admin_users.html", title="Users and roles", users=rows, form=form,
                               roles=pack().roles), 422 if form.errors else 200


@blueprint.route("/users/<username>", methods=["GET", "POST"])
@requires(administrator)
def user(username):
    form = EditUserForm()
    form.roles.choices = _role_choices()
    with transaction() as db:
        person = people.get_user(db, username=username)
        if request.method == "GET":
            form.roles.data, form.active.data = sorted(person.role_keys), person.active
            form.away_from.data, form.away_until.data = person.away_from, person.away_until
    if form.validate_on_submit():
        try:
            with transaction() as db:
                # not `person`: a rollback here would leave the page nothing to show
                current = people.get_user(db, username=username)
                wanted = set(form.roles.data)
                people.set_roles(db, pack=pack(), username=username, add=sorted(wanted - current.role_keys),
                                 remove=sorted(current.role_keys - wanted), by=actor().username)
                if form.active.data != current.active:
                    credentials.set_active(db, pack=pack(), username=username, active=form.active.data, by=actor().username)
                if form.password.data:
                    credentials.set_password(db, username=username, password=form.password.data, by=actor().username)
                if (form.away_from.data, form.away_until.data) != (current.away_from, current.away_until):
                    people.set_away(db, username=username, away_from=form.away_from.data,
                                    away_until=form.away_until.data, by=actor().username)
            flash(f"Saved {username}.")
            return redirect(url_for("admin.users"))
        except people.AwayInvalid as err:
            form.away_until.errors = list(form.away_until.errors) + [str(err)]
        except WorkflowError as err:
            _show_beside(form, err, form.roles)
    return render_template("admin_user.html", title=f"User {username}", person=person, form=form,
                           two_step=_two_step(person)), 422 if form.errors else 200


def _two_step(person) -> str:
    """Their two-step sign-in, in words, for their page."""
    if person.sso_subject:
        return "Left to the identity provider (single sign-on)."
    if second_factor.is_set_up(person):
        return f"Set up on {person.mfa_enabled_at.strftime('%d %B %Y').lstrip('0')}."
    if permissions.needs_second_factor(pack(), person.role_keys):
        return "Not set up yet: their role needs it, so they set it up at their next sign-in."
    return "Not set up (their roles do not need it)."


@blueprint.route("/users/<username>/reset-two-step", methods=["POST"])
@requires(administrator)
def reset_two_step(username):
    """A lost phone: clear their two-step sign-in; they set it up again at their next sign-in."""
    with transaction() as db:
        second_factor.reset(db, pack=pack(), actor=actor(), username=username)
    flash(f"Two-step sign-in reset for {username}: they set it up again at their next sign-in.")
    return redirect(url_for("admin.user", username=username))


@blueprint.route("/import", methods=["GET", "POST"])
@requires(permissions.may_import_register)
def import_register():
    """Upload the existing register (a CSV, and a mapping file for another system's export): a dry
    run reports every row's problems; the import puts the good rows on the register in one transaction."""
    if request.method == "GET":
        return render_template("admin_import.html", title="Import the existing register")
    upload, mapping_upload = request.files.get("file"), request.files.get("mapping")
    importing_now = request.form.get("action") == "import"
    good_rows_only = request.form.get("good_rows_only") == "yes"
    page = {"title": "Import the existing register", "good_rows_only": good_rows_only}
    if upload is None or not upload.filename:
        return render_template("admin_import.html", error="Choose the CSV file to check or import.", **page), 422
    parsed = report = None
    try:
        with transaction() as db:
            mapping = None
            if mapping_upload is not None and mapping_upload.filename:
                mapping = importing.load_mapping(mapping_upload.read(), mapping_upload.filename)
            parsed = importing.read_csv(upload.read(), upload.filename, mapping)
            report = importing.check(db, pack(), parsed)
            imported = None
            if importing_now:
                imported = importing.import_rows(db, pack=pack(), actor=actor(), report=report,
                                                 good_rows_only=good_rows_only)
    except WorkflowError as err:
        # a refused file, or rows with problems on an import without "good rows only": nothing imported
        return render_template("admin_import.html", error=str(err), report=report,
                               delimiter=_delimiter_words(parsed), **page), 422
    return render_template("admin_import.html", report=report, imported=imported,
                           delimiter=_delimiter_words(parsed), **page)


def _delimiter_words(parsed) -> str | None:
    if parsed is None:
        return None
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}[parsed.delimiter]

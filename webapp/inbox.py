"""The inbox and the task page: claim, release, reassign, and complete a step with its form."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from workflows.tasks.task_view import task_view
from workflows.register.story import alert_story
from workflows.register import housing_system
from workflows.cases import engine
from workflows.tasks import drafts, inbox as inboxes
from workflows.accounts import second_factor
from workflows.cases.assignment import actor_of
from workflows import permissions
from workflows.definitions import deployment
from workflows.platform import wording
from workflows.platform.db import transaction
from workflows.platform.errors import Conflict, FormInvalid, NotAllowed, NotFound, WorkflowError
from workflows.platform.models import TaskStatus, User

from .auth import actor, idle_seconds_left_at_least, pack

blueprint = Blueprint("inbox", __name__)


@blueprint.route("/inbox")
@login_required
def inbox(save_errors=None, save_values=None, status=200):
    problem = None
    try:
        filters = inboxes.Filters.read(pack(), request.args)
    except WorkflowError as err:  # a hand-edited link: say what is wrong, show the unfiltered inbox
        problem, filters = str(err), inboxes.Filters()
    with transaction() as db:
        box = inboxes.sections(db, pack=pack(), actor=actor(), filters=filters)
        levels = deployment.option_labels(db, pack=pack().key, field_id="level")
        return render_template("inbox.html", title="Inbox", box=box, overdue=inboxes.is_overdue, problem=problem,
                               roles=pack().roles, categories=pack().categories, levels=levels,
                               whose_choices=inboxes.WHOSE, sort_choices=inboxes.SORTS, f=filters,
                               may_manage_team=_may_manage_team(), saved=inboxes.saved_filters(db, actor=actor()),
                               my_roles=[r for k, r in pack().roles.items() if k in actor().roles],
                               save_errors=save_errors or {}, save_values=save_values or {},
                               counts=(box.mine_count, box.unclaimed_count, box.overdue_count)), 422 if problem else status


@blueprint.route("/inbox/filters", methods=["POST"])
@login_required
def save_filter():
    """Keep the inbox's current filters (its query string) under a name, for me or one of my roles."""
    try:
        filters = inboxes.Filters.read(pack(), request.args)
        with transaction() as db:
            saved = inboxes.save_filter(db, pack=pack(), actor=actor(), name=request.form.get("name", ""),
                                        role=request.form.get("role") or None, filters=filters)
            shared = f"shared with the {pack().roles[saved.role].name} role" if saved.role else "for you alone"
            flash(f"Filters saved as '{saved.name}', {shared}.")
            args = saved.args
    except FormInvalid as err:
        return inbox(save_errors=err.errors, save_values=request.form, status=422)
    except WorkflowError as err:
        return inbox(save_errors={"name": str(err)}, save_values=request.form, status=422)
    return redirect(url_for("inbox.inbox", **args))


@blueprint.route("/inbox/filters/<int:filter_id>/delete", methods=["POST"])
@login_required
def delete_filter(filter_id):
    with transaction() as db:
        gone = inboxes.delete_saved_filter(db, actor=actor(), filter_id=filter_id)
        flash(f"Saved filter '{gone.name}' deleted.")
    return redirect(url_for("inbox.inbox"))


def _may_manage_team() -> bool:
    return bool(permissions.managed_roles(pack(), actor()))


@blueprint.route("/inbox/team")
@login_required
def team():
    """For a role's manager: every open step of the roles below them, to hand out or take in bulk."""
    if not _may_manage_team():
        abort(403)
    return _render_team()


def _render_team(problem=None, status=200):
    try:
        filters = inboxes.Filters.read(pack(), request.args)
    except WorkflowError as err:
        problem, status, filters = str(err), 422, inboxes.Filters()
    with transaction() as db:
        page = inboxes.team_page(db, pack=pack(), actor=actor(), filters=filters)
        members = inboxes.team_members(db, pack=pack(), actor=actor())
        levels = deployment.option_labels(db, pack=pack().key, field_id="level")
        managed = [r for k, r in pack().roles.items() if k in permissions.managed_roles(pack(), actor())]
        return render_template("team.html", title="Team view", page=page, f=filters, members=members,
                               managed=managed, roles=pack().roles, categories=pack().categories, levels=levels,
                               sort_choices=inboxes.SORTS, overdue=inboxes.is_overdue,
                               problem=problem), status


@blueprint.route("/inbox/team/bulk", methods=["POST"])
@login_required
def team_bulk():
    """Claim or reassign the chosen steps, each one on its own through the same engine path as a single
    claim or reassign (so separation of duties and seniority are checked step by step): those refused
    are named with the reason, the others done."""
    if not _may_manage_team():
        abort(403)
    action, to = request.form.get("action", ""), request.form.get("assignee", "").strip()
    ids = []
    for raw in request.form.getlist("task"):
        try:
            ids.append(int(raw))
        except ValueError:
            pass
    if action not in ("claim", "reassign"):
        return _render_team("Choose whether to claim the chosen steps or reassign them.", 422)
    if not ids:
        return _render_team("Choose at least one step: tick the box beside each one.", 422)
    if action == "reassign" and not to:
        return _render_team("Choose whom to reassign the chosen steps to.", 422)
    done, refused = [], []
    for task_id in ids:
        try:
            with transaction() as db:  # one step, one transaction: a refusal leaves the others done
                if action == "claim":
                    t = engine.claim_task(db, pack=pack(), actor=actor(), task_id=task_id)
                else:
                    t = engine.reassign_task(db, pack=pack(), actor=actor(), task_id=task_id, to_username=to)
                done.append(f"'{t.title}' (task {t.id})")
        except (Conflict, NotAllowed, NotFound, WorkflowError) as err:
            refused.append(f"task {task_id}: {err}")
    what = "claimed by you" if action == "claim" else f"reassigned to {to}"
    if done:
        shown = done[:10] + ([f"{len(done) - 10} more"] if len(done) > 10 else [])
        flash(f"{len(done)} step{'' if len(done) == 1 else 's'} {what}: {wording.and_list(shown)}.")
    for reason in refused:
        flash(f"Not done, {reason}.")
    return redirect(url_for("inbox.team", **request.args))


@blueprint.route("/inbox/counts.json")
@login_required
def counts():
    """The header's counts, for the page to refresh without a reload."""
    with transaction() as db:
        mine, unclaimed, late = inboxes.header_counts(db, pack=pack(), actor=actor())
    return jsonify({"mine": mine, "unclaimed": unclaimed, "overdue": late})


def _render_task(db, task_id, *, values=None, errors=None, problem=None, status=200):
    view = task_view(db, pack=pack(), actor=actor(), task_id=task_id)
    task = view["task"]
    # a step is for those who need to know its alert's story (alert_story refuses the others), or who could do it
    try:
        story, readable = alert_story(db, pack=pack(), actor=actor(), alert_id=task.case.alert_id,
                                       every_view=False), True
    except permissions.NoNeedToKnow:
        story, readable = None, False
    if not (readable or task.assignee == actor().username or task.role in actor().acting_roles):
        abort(403)
    if problem and status == 409 and task.status == TaskStatus.COMPLETED:  # say plainly who won the race
        problem = (f"'{task.title}' was completed by {task.completed_by} at the same moment; "
                   f"nothing you entered was saved.")
    may_act = inboxes.is_open(task) and _may_act(task)
    draft = drafts.load(db, pack=pack(), actor=actor(), task_id=task_id) if may_act and values is None else None
    if draft:  # the answers typed before a closed tab or an ended session, not yet checked
        values = draft.answers
    candidates = (inboxes.reassign_candidates(db, pack=pack(), task=task)
                  if inboxes.is_open(task) and permissions.may_reassign(pack(), actor(), task) else [])
    from workflows.register import letters
    previewable = bool(readable and may_act and view["fields"] is not None and task.kind != housing_system.KIND
                       and letters.letters_after_task(task))
    return render_template("task.html", title=task.title, view=view, task=task, story=story, may_act=may_act,
                           previewable=previewable,
                           values=values or {}, errors=errors or {}, problem=problem, candidates=candidates,
                           overdue=inboxes.is_overdue(task), roles=pack().roles, pack=pack(),
                           can_read_case=readable, draft=draft,
                           session_seconds=idle_seconds_left_at_least()), status


def _may_act(task) -> bool:
    from workflows.cases.assignment import open_for
    return open_for(actor(), task, pack())


@blueprint.route("/tasks/<int:task_id>")
@login_required
def task(task_id):
    with transaction() as db:
        return _render_task(db, task_id)


def _form_values(fields) -> dict:
    values = {}
    for field in fields:
        if field.multiple:
            values[field.id] = request.form.getlist(field.id)
        elif field.id in request.form:
            values[field.id] = request.form[field.id]
    return values


def _as_typed_in_uk(fields, values: dict) -> dict:
    """A date and time typed in the page is the time on a UK clock (the form re-shows it as typed)."""
    moments = {f.id for f in fields if f.type == "datetime"}
    return {k: wording.typed_in_uk(v) if k in moments and v else v for k, v in values.items()}


@blueprint.route("/tasks/<int:task_id>/complete", methods=["POST"])
@login_required
def complete(task_id):
    with transaction() as db:
        fields = task_view(db, pack=pack(), actor=actor(), task_id=task_id)["fields"]
    values = _form_values(fields)
    try:
        with transaction() as db:
            done = engine.complete_task(db, pack=pack(), actor=actor(), task_id=task_id,
                                        values=_as_typed_in_uk(fields, values))
            alert_id, title = done.case.alert_id, done.title
    except FormInvalid as err:
        with transaction() as db:
            return _render_task(db, task_id, values=values, errors=err.errors, status=422,
                                problem="Some answers need attention; see the messages beside the fields.")
    except (Conflict, NotAllowed) as err:
        with transaction() as db:
            return _render_task(db, task_id, values=values, problem=str(err),
                                status=409 if isinstance(err, Conflict) else 403)
    except NotFound:
        raise
    except WorkflowError as err:  # the step could not advance (StepFailed): nothing was saved
        with transaction() as db:
            return _render_task(db, task_id, values=values, problem=str(err), status=422)
    with transaction() as db:
        steps = inboxes.open_steps(db, pack=pack(), actor=actor(), alert_id=alert_id)
        roles = pack().roles
        following = "; ".join(f"'{t.title}' is in the inbox of {t.assignee or roles[t.role].name}" for t in steps)
    flash(f"Done: '{title}'. " + (f"Next: {following}." if following else "No further step is waiting on this case."))
    return redirect(url_for("inbox.inbox"))


@blueprint.route("/tasks/<int:task_id>/draft", methods=["POST"])
@login_required
def save_draft(task_id):
    """The form's answers so far, sent by form.js as the person types (the CSRF token in a header)."""
    with transaction() as db:
        fields = task_view(db, pack=pack(), actor=actor(), task_id=task_id)["fields"]
        draft = drafts.save(db, pack=pack(), actor=actor(), task_id=task_id,
                            answers=_form_values(fields), field_ids={f.id for f in fields})
    return jsonify(saved=f"Draft saved at {wording.time_of_day(draft.saved_at)}")


@blueprint.route("/tasks/<int:task_id>/draft/discard", methods=["POST"])
@login_required
def discard_draft(task_id):
    with transaction() as db:
        drafts.discard_own(db, actor=actor(), task_id=task_id)
    flash("Your draft is discarded: the form shows the step as it came.")
    return redirect(url_for("inbox.task", task_id=task_id))


def keep_answers_of_ended_session(ended: dict) -> bool:
    """A step's form sent after its session ended (idle too long, or past the longest session):
    nothing is completed, but the answers become the person's draft of the step, so that signing in
    again brings them back. `ended` is the session that ended: only one that was fully signed in
    (and not signed out, re-keyed or switched off since), from this browser, keeps a draft."""
    from flask_login.utils import _create_identifier
    if request.endpoint != "inbox.complete" or not ended.get("_user_id") or ended.get("_id") != _create_identifier():
        return False
    task_id = request.view_args["task_id"]
    try:
        with transaction() as db:
            user = db.scalar(select(User).where(User.id == int(ended["_user_id"])))
            if user is None or not user.active or ended.get("generation") != user.session_generation:
                return False
            if second_factor.asks_for_code(pack(), user) and not ended.get("second_factor"):
                return False
            person = actor_of(db, pack(), user.username, user.role_keys)
            fields = task_view(db, pack=pack(), actor=person, task_id=task_id)["fields"]
            drafts.save(db, pack=pack(), actor=person, task_id=task_id, answers=_form_values(fields),
                        field_ids={f.id for f in fields})
    except (NotAllowed, NotFound, ValueError):
        return False
    return True


@blueprint.route("/tasks/<int:task_id>/letter-preview", methods=["POST"])
@login_required
def letter_preview(task_id):
    """The letters completing this step would issue, from the answers typed so far: nothing is
    saved. Only for those who need to know the alert's story (the letter tells its reasons)."""
    from workflows.drawing import letter as drawing
    from workflows.register import letters
    with transaction() as db:
        view = task_view(db, pack=pack(), actor=actor(), task_id=task_id)
        task = view["task"]
        if not permissions.may_read_story(db, pack=pack(), actor=actor(), alert_id=task.case.alert_id):
            abort(403)
        drafts = letters.preview(db, pack=pack(), actor=actor(), task=task,
                                 answers=_as_typed_in_uk(view["fields"], _form_values(view["fields"])))
        if not drafts:
            abort(404)
        return render_template("letter_preview.html", title=f"Preview: {drafts[0]['title']}", task=task,
                               drafts=[drawing.body_html(d) for d in drafts])


@blueprint.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id):
    with transaction() as db:
        t = engine.claim_task(db, pack=pack(), actor=actor(), task_id=task_id)
        flash(f"'{t.title}' is now yours.")
    return redirect(url_for("inbox.task", task_id=task_id))


@blueprint.route("/tasks/<int:task_id>/release", methods=["POST"])
@login_required
def release(task_id):
    with transaction() as db:
        t = engine.release_task(db, pack=pack(), actor=actor(), task_id=task_id)
        flash(f"'{t.title}' is back with the {pack().roles[t.role].name} role.")
    return redirect(url_for("inbox.inbox"))


@blueprint.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@login_required
def reassign(task_id):
    to = request.form.get("assignee", "")
    try:
        with transaction() as db:
            t = engine.reassign_task(db, pack=pack(), actor=actor(), task_id=task_id, to_username=to)
            flash(f"'{t.title}' is now assigned to {t.assignee}.")
    except (NotAllowed, NotFound) as err:  # a task not visible answers 404 again just below
        with transaction() as db:
            return _render_task(db, task_id, problem=str(err), status=403)
    return redirect(url_for("inbox.task", task_id=task_id))

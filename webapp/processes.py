"""Process owners change policy by editing BPMN: every process of the pack with its versions,
the web modeler (bpmn-js and its properties panel), download and upload, check, deploy, the
changes between two versions, and moving waiting cases (a dry run first). Only the process
owner role may check, deploy or migrate; compliance officers and administrators may look."""
import re

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from werkzeug.utils import secure_filename

from workflows.definitions import deployment, pack_choice, pack_versions, policy_changes, versions
from workflows import permissions
from workflows.platform.db import transaction
from workflows.definitions.deployment import DefinitionRefused
from workflows.platform.errors import NotAllowed, NotFound, WorkflowError
from workflows.definitions.pack import PackSource, read_pack_files
from workflows.definitions.policy_changes import ChangeNoteMissing

from .auth import actor, pack, requires

blueprint = Blueprint("processes", __name__, url_prefix="/processes")

viewer = permissions.may_read_policy
owner = permissions.is_process_owner


@blueprint.app_context_processor
def process_nav():
    """For the header: whether to offer a link to the processes (base.html may use it)."""
    from flask_login import current_user
    return {"may_see_processes": bool(current_user.is_authenticated and viewer(pack(), actor()))}


def _grouped(rows):
    """[(process_id, [(definition, running cases), ...newest first])], by process id."""
    groups = {}
    for definition, running in rows:
        groups.setdefault(definition.process_id, []).append((definition, running))
    return [(pid, list(reversed(items))) for pid, items in sorted(groups.items())]


@blueprint.route("")
@requires(viewer)
def process_list():
    with transaction() as db:
        processes = _grouped(deployment.versions(db, pack=pack().key))
    return render_template("processes/list.html", title="Processes", processes=processes,
                           may_change=owner(pack(), actor()))


@blueprint.route("/<process_id>/versions/<int:number>/download")
@requires(viewer)
def download(process_id, number):
    """The deployed file exactly as it was deployed, to edit in Camunda Modeler and upload again."""
    with transaction() as db:
        definition = versions.version(db, pack=pack(), process_id=process_id, number=number)
        xml, filename = definition.bpmn_xml, definition.filename
    stem = re.sub(r"\.(bpmn|xml)$", "", filename) or process_id
    return Response(xml.encode("utf-8"), mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{secure_filename(stem)}.v{number}.bpmn"',
        "X-Content-Type-Options": "nosniff"})


def _render_modeler(process_id, definition, xml, checked=None, status=200, impact=None, new_name=None,
                    problem=None):
    if definition is None:  # a new process, not yet deployed
        title, action = f"New process: {new_name}", url_for("processes.new_process", process_id=process_id, name=new_name)
    else:
        title = f"Edit {definition.name}"
        action = url_for("processes.modeler", process_id=process_id, version=definition.version)
    return render_template("processes/modeler.html", title=title, process_id=process_id, new_name=new_name,
                           definition=definition, xml=xml, checked=checked, impact=impact, action=action,
                           note_problem=problem, change_note=request.form.get("change_note", "")), status


def _impact(db, checked, content):
    """What the checked file would change for the cases running now, and which of their alerts
    the process owner may open (the rest are named by number only)."""
    impact = policy_changes.impact(db, pack=pack(), actor=actor(), checked=checked, content=content)
    ids = {row.alert_id for rows in impact.values() for row in rows}
    return {"rows": impact, "readable": permissions.readable_alert_ids(db, pack=pack(), actor=actor(), alert_ids=ids)}


@blueprint.route("/<process_id>/edit", methods=["GET", "POST"])
@requires(owner)
def modeler(process_id):
    """The diagram in bpmn-js with its properties panel; Check and Deploy send it back here."""
    with transaction() as db:
        number = request.args.get("version", type=int)
        definition = versions.version(db, pack=pack(), process_id=process_id, number=number)
        if request.method == "GET":
            return _render_modeler(process_id, definition, definition.bpmn_xml)
        xml = request.form.get("xml", "")
        content = xml.encode("utf-8")
        filename = definition.filename  # the file this process lives in, as the pack names it
        deployed, checked, status, problem = _deploy_or_check(db, content, filename)
        if deployed is not None:
            return redirect(url_for("processes.process_list") + f"#process-{process_id}")
        return _render_modeler(process_id, definition, xml, checked, status, _impact(db, checked, content),
                               problem=problem)


def _deploy_or_check(db, content: bytes, filename: str):
    """Deploy the file when the form asks to (with its change note), else check it. Returns (what was
    deployed, or None; the check to show; the page's status; the change note's problem). A refused
    deploy comes back as its check: the findings beside the diagram as edited, nothing deployed."""
    problem = None
    if request.form.get("action") == "deploy":
        try:
            deployed = policy_changes.deploy(db, pack=pack(), actor=actor(), content=content, filename=filename,
                                             change_note=policy_changes.require_change_note(
                                                 request.form.get("change_note")))
        except DefinitionRefused:
            pass
        except ChangeNoteMissing as err:
            problem = str(err)
        else:
            flash(_deployed_message(deployed, filename))
            return deployed, None, 302, None
    checked = policy_changes.check_file(db, pack=pack(), content=content, filename=filename)
    status = 200 if checked.ok and request.form.get("action") != "deploy" else 422
    return None, checked, status, problem


def _deployed_message(deployed, filename):
    if not deployed:
        return f"Nothing was deployed: every process in {filename} is already deployed unchanged."
    return "Deployed " + ", ".join(f"{d.process_id} version {d.version}" for d in deployed) + \
        ". New cases use it; running cases stay on their version until they are migrated."


@blueprint.route("/new", methods=["GET", "POST"])
@requires(owner)
def new_process():
    """A new process: its name and identifier, then a blank diagram with the pack's lanes in the
    modeler; Check and Deploy come back here with the diagram as drawn."""
    process_id = request.values.get("process_id", "").strip()
    name = request.values.get("name", "").strip()
    if request.method == "GET":
        return render_template("processes/new.html", title="Create a new process", problem=None,
                               process_id=process_id, name=name)
    with transaction() as db:
        if request.form.get("action") == "start":
            try:
                xml = policy_changes.blank_diagram(db, pack=pack(), actor=actor(), process_id=process_id, name=name)
            except NotAllowed:
                raise  # not a process owner: answered 403 like every refusal, not shown as a problem
            except WorkflowError as err:
                return render_template("processes/new.html", title="Create a new process", problem=str(err),
                                       process_id=process_id, name=name), 422
            return _render_modeler(process_id, None, xml, new_name=name)
        xml = request.form.get("xml", "")
        content, filename = xml.encode("utf-8"), f"{secure_filename(process_id) or 'process'}.bpmn"
        deployed, checked, status, problem = _deploy_or_check(db, content, filename)
        if deployed is not None:
            return redirect(url_for("processes.process_list") + f"#process-{process_id}")
        return _render_modeler(process_id, None, xml, checked, status, _impact(db, checked, content), new_name=name,
                               problem=problem)


@blueprint.route("/upload", methods=["GET", "POST"])
@requires(owner)
def upload():
    """A file edited elsewhere (Camunda Modeler): check it, or check and deploy it."""
    if request.method == "GET":
        return render_template("processes/upload.html", title="Upload a diagram", checked=None, problem=None)
    sent = request.files.get("diagram")
    if sent is None or not sent.filename:
        return render_template("processes/upload.html", title="Upload a diagram", checked=None,
                               problem="Choose a .bpmn file to upload."), 422
    filename = secure_filename(sent.filename) or "upload.bpmn"
    if not filename.lower().endswith((".bpmn", ".xml")):
        return render_template("processes/upload.html", title="Upload a diagram", checked=None,
                               problem=f"{filename} is not a .bpmn file."), 422
    content = sent.read(policy_changes.MAX_BYTES + 1)
    with transaction() as db:
        deployed, checked, status, problem = _deploy_or_check(db, content, filename)
        if deployed is not None:
            return redirect(url_for("processes.process_list"))
        return render_template("processes/upload.html", title="Upload a diagram", checked=checked,
                               problem=None, impact=_impact(db, checked, content), note_problem=problem,
                               change_note=request.form.get("change_note", "")), status


@blueprint.route("/<process_id>/changes")
@requires(viewer)
def changes(process_id):
    """What changed between two versions, spelled out."""
    with transaction() as db:
        newest = versions.version(db, pack=pack(), process_id=process_id)
        to_number = request.args.get("to", newest.version, type=int)
        from_number = request.args.get("from", max(to_number - 1, 1), type=int)
        old = versions.version(db, pack=pack(), process_id=process_id, number=from_number)
        new = versions.version(db, pack=pack(), process_id=process_id, number=to_number)
        lines = versions.describe_changes(old.bpmn_xml, new.bpmn_xml)
        return render_template("processes/changes.html", title=f"Changes to {newest.name}", process_id=process_id,
                               old=old, new=new, newest=newest, lines=lines)


@blueprint.route("/<process_id>/migrate", methods=["GET", "POST"])
@requires(owner)
def migrate(process_id):
    """GET: the dry run (which running cases can move, and why not). POST: the move."""
    to_number = request.values.get("to", type=int)
    with transaction() as db:
        target = versions.version(db, pack=pack(), process_id=process_id, number=to_number)
        if request.method == "POST":
            moves = policy_changes.migrate(db, pack=pack(), actor=actor(), process_id=process_id,
                                          to_version=target.version)
            moved = sum(m.can_move for m in moves)
            flash(f"Moved {moved} case{'s' if moved != 1 else ''} to version {target.version}; "
                  f"{len(moves) - moved} could not move.")
        else:
            moves = policy_changes.plan_migration(db, pack=pack(), actor=actor(), process_id=process_id,
                                                 to_version=target.version)
        numbers = [d.version for d, _ in deployment.versions(db, pack=pack().key) if d.process_id == process_id]
        readable = permissions.readable_alert_ids(db, pack=pack(), actor=actor(), alert_ids={m.alert_id for m in moves})
        return render_template("processes/migrate.html", title=f"Migrate cases of {target.name}",
                               process_id=process_id, target=target, moves=moves, numbers=numbers, readable=readable,
                               done=request.method == "POST")


def _newest_source(db) -> PackSource:
    """The settings as deployed (or, before any is, as the pack's folder holds them)."""
    newest = pack_versions.newest(db, pack=pack().key)
    return pack_versions.source_of(newest) if newest else read_pack_files(pack().key, pack().directory.parent)[1]


@blueprint.route("/settings")
@requires(viewer)
def settings():
    """pack.toml and the letter templates: every deployed version, who deployed it, when and why."""
    with transaction() as db:
        rows = pack_versions.all_versions(db, pack=pack().key)
        return render_template("processes/settings.html", title="pack.toml and letters", rows=rows,
                               may_change=owner(pack(), actor()))


@blueprint.route("/settings/versions/<int:number>")
@requires(viewer)
def settings_version(number):
    """One version as it was deployed, and what changed from the one before."""
    with transaction() as db:
        shown = pack_versions.version(db, pack=pack().key, number=number)
        if shown is None:
            raise NotFound(f"pack.toml and letters have no version {number}")
        before = pack_versions.version(db, pack=pack().key, number=number - 1)
        lines = pack_versions.describe_changes(pack_versions.source_of(before) if before else None,
                                               pack_versions.source_of(shown))
        return render_template("processes/settings_version.html", title=f"pack.toml and letters v{number}",
                               shown=shown, lines=lines)


@blueprint.route("/settings/edit", methods=["GET", "POST"])
@requires(owner)
def settings_edit():
    """Edit pack.toml and the letter templates; Check shows the findings (each naming the line or
    the element) and what would change; Deploy checks again and needs a change note."""
    with transaction() as db:
        if request.method == "GET":
            return _render_settings(_newest_source(db))
        letters = {key[len("letter:"):]: value.replace("\r\n", "\n") for key, value in request.form.items()
                   if key.startswith("letter:")}
        new_name = (request.form.get("new_letter_file") or "").strip()
        if new_name:
            letters[new_name] = (request.form.get("new_letter_text") or "").replace("\r\n", "\n")
        source = PackSource((request.form.get("pack_toml") or "").replace("\r\n", "\n"), letters)
        problem = None
        if request.form.get("action") == "deploy":
            try:
                deployed = policy_changes.deploy_settings(db, pack=pack(), actor=actor(), source=source,
                                                          change_note=request.form.get("change_note"))
            except DefinitionRefused:
                pass  # shown below with the checker's findings, the edit kept
            except ChangeNoteMissing as err:
                problem = str(err)
            else:
                flash(f"Deployed pack.toml and letters version {deployed.version}: the web, the command line "
                      f"and the workers use it from now on." if deployed else
                      "Nothing was deployed: pack.toml and the letters are the same as the newest version.")
                return redirect(url_for("processes.settings"))
        checked = policy_changes.check_settings(db, pack=pack(), source=source)
        status = 200 if checked.ok and not problem and request.form.get("action") != "deploy" else 422
        rows = policy_changes.impact_of_settings(db, pack=pack(), actor=actor(), checked=checked)
        impact = {"rows": rows, "readable": permissions.readable_alert_ids(
            db, pack=pack(), actor=actor(), alert_ids={row.alert_id for row in rows})}
        return _render_settings(source, checked, problem, status, impact)


def _render_settings(source, checked=None, problem=None, status=200, impact=None):
    return render_template("processes/settings_edit.html", title="Edit pack.toml and letters", source=source,
                           checked=checked, note_problem=problem, impact=impact,
                           change_note=request.form.get("change_note", "")), status


@blueprint.route("/packs")
@requires(viewer)
def packs():
    """The packs this install holds, the active one first; for a process owner, a new pack from a
    template and another pack made active."""
    return _render_packs()


def _render_packs(status=200, problem=None, findings=(), note_problem=None):
    with transaction() as db:
        entries = pack_choice.packs(db)
    return render_template("processes/packs.html", title="Packs", packs=entries, may_change=owner(pack(), actor()),
                           active_key=pack().key, problem=problem, findings=findings, note_problem=note_problem,
                           form=request.form, change_note=request.form.get("change_note", "")), status


@blueprint.route("/packs/new", methods=["POST"])
@requires(owner)
def new_pack():
    """A new pack from a template, deployed as version 1 under its own key; refused whole (the
    transaction rolled back, nothing saved) with the reason on the page."""
    form = request.form
    try:
        with transaction() as db:
            created = pack_choice.create(db, pack=pack(), actor=actor(), key=form.get("key"), name=form.get("name"),
                                         template=form.get("template"), change_note=form.get("change_note"))
            message = (f"Made the {created.pack.name} pack ({created.pack.key}) from {form.get('template')}: "
                       f"pack.toml and letters version 1 and {len(created.deployed)} processes, in the database "
                       f"only. Make it the active pack to run it.")
    except NotAllowed:
        raise  # answered 403 like every refusal of who may do it
    except ChangeNoteMissing as err:
        return _render_packs(422, note_problem=str(err))
    except DefinitionRefused as err:
        return _render_packs(422, findings=err.findings)
    except WorkflowError as err:
        return _render_packs(422, problem=str(err))
    flash(message)
    return redirect(url_for("processes.packs"))


@blueprint.route("/packs/use", methods=["POST"])
@requires(owner)
def use_pack():
    """Make another pack the active one: every page, command and worker runs it from its next
    request or task. Refused, nothing changed, while cases of the active pack are unfinished."""
    try:
        with transaction() as db:
            chosen = pack_choice.use(db, pack=pack(), actor=actor(), key=request.form.get("key"))
            message = (f"The {chosen.name} pack is the active pack now: the web, the command line and the "
                       f"workers run it from their next request or task.")
    except NotAllowed:
        raise
    except DefinitionRefused as err:  # a pack folder installed as it is made active, and refused
        return _render_packs(422, findings=err.findings)
    except WorkflowError as err:
        return _render_packs(422, problem=str(err))
    flash(message)
    return redirect(url_for("processes.packs"))

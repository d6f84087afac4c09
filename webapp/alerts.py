"""The register and a case page: the diagram drawn by bpmn-js beside the audit timeline, the
tenant's letters as PDF with their delivery, and recording an appeal."""
from flask import (Blueprint, Response, current_app, flash, redirect, render_template, request,
                   send_from_directory, url_for)
from flask_login import login_required

from workflows.register.story import alert_story
from workflows.register import letters, markers
from workflows.cases import diagrams, engine
from workflows.definitions import deployment
from workflows import permissions
from workflows.platform.db import transaction
from workflows.platform.errors import FormInvalid, NotFound, WorkflowError
from workflows.platform.models import CaseStatus

from .auth import actor, pack

blueprint = Blueprint("alerts", __name__)


@blueprint.route("/alerts")
@login_required
def alert_list():
    problem = None
    try:
        filters = markers.RegisterFilters.read(pack(), request.args)
    except WorkflowError as err:  # a hand-edited link: say what is wrong, show the register unfiltered
        problem, filters = str(err), markers.RegisterFilters()
    with transaction() as db:
        page = markers.register_page(db, pack=pack(), actor=actor(), filters=filters)
        levels = deployment.option_labels(db, pack=pack().key, field_id="level")
        return render_template("alerts.html", title="Register", page=page, f=filters, pack=pack(), levels=levels,
                               statuses=markers.STATUSES, sorts=markers.REGISTER_SORTS, problem=problem,
                               review_overdue=markers.review_overdue), 422 if problem else 200


def _render_case(db, alert_id, *, errors=None, typed=None, problem=None, status=200):
    """The case page; after a refused form, its errors and what was typed (shown again, not lost)."""
    story = alert_story(db, pack=pack(), actor=actor(), alert_id=alert_id, every_view=False)
    cases = story["cases"]
    chosen = request.args.get("case", type=int)
    case = next((c for c in cases if c.id == chosen), None) or next(
        (c for c in reversed(cases) if c.status == CaseStatus.RUNNING), cases[-1] if cases else None)
    description = next((e.detail.get("description") for e in story["events"] if e.action == "concern_reported"), "")
    return render_template("case.html", title=f"Alert {alert_id}", story=story, alert=story["alert"], case=case,
                           marks=diagrams.marks(db, case_id=case.id) if case else {}, description=description,
                           pack=pack(), methods=pack().delivery_methods, errors=errors or {},
                           typed=typed or {}, problem=problem), status


@blueprint.route("/alerts/<int:alert_id>")
@login_required
def case_page(alert_id):
    with transaction() as db:
        return _render_case(db, alert_id)


@blueprint.route("/cases/<int:case_id>/diagram.xml")
@login_required
def diagram(case_id):
    with transaction() as db:
        xml = diagrams.case_xml(db, pack=pack(), actor=actor(), case_id=case_id)
    return Response(xml, mimetype="application/xml")


@blueprint.route("/alerts/<int:alert_id>/appeal", methods=["POST"])
@login_required
def appeal(alert_id):
    grounds = request.form.get("grounds", "")
    try:
        with transaction() as db:
            case = engine.start_appeal(db, pack=pack(), actor=actor(), alert_id=alert_id, grounds=grounds)
            flash(f"The appeal is recorded (case {case.id}); it is waiting in the inbox of whoever must hear it.")
    except (NotFound, permissions.NoNeedToKnow):
        raise
    except WorkflowError as err:
        with transaction() as db:
            return _render_case(db, alert_id, errors={"grounds": str(err)}, typed={"grounds": grounds}, status=422)
    return redirect(url_for("alerts.case_page", alert_id=alert_id))


@blueprint.route("/letters/<int:letter_id>.pdf")
@login_required
def letter_pdf(letter_id):
    with transaction() as db:
        letter = letters.get_letter(db, pack=pack(), actor=actor(), letter_id=letter_id)
        content = letters.pdf(db, pack=pack(), letter=letter)
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="letter-{letter_id}.pdf"'})


@blueprint.route("/letters/<int:letter_id>/delivery", methods=["POST"])
@login_required
def letter_delivery(letter_id):
    method, when = request.form.get("method", ""), request.form.get("delivered_at", "")
    try:
        with transaction() as db:
            letter = letters.record_delivery(db, pack=pack(), actor=actor(), letter_id=letter_id,
                                             method=method, delivered_at=when)
            alert_id = letter.alert_id
            flash(f"Delivery of '{letter.title}' recorded: {method}.")
    except FormInvalid as err:
        with transaction() as db:
            alert_id = letters.get_letter(db, pack=pack(), actor=actor(), letter_id=letter_id).alert_id
            return _render_case(db, alert_id, errors={f"letter{letter_id}_{k}": v for k, v in err.errors.items()},
                                typed={"letter": letter_id, "method": method, "delivered_at": when}, status=422)
    return redirect(url_for("alerts.case_page", alert_id=alert_id))


@blueprint.route("/vendor/bpmn-js/<path:filename>")
def bpmn_js(filename):
    """bpmn-js as npm installed it (make install runs npm ci)."""
    return send_from_directory(f"{current_app.config['NODE_MODULES']}/bpmn-js/dist", filename, max_age=3600)

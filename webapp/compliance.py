"""The compliance pages: the overdue dashboard with its charts, the register of active markers
with filters and CSV/JSON export, the non-disclosure register, the out-of-hours list, a
marker's dossier as PDF, and a person's subject access export (JSON, PDF).

Who may open each is the pack's `[registers]` setting; the queries live in workflows/.
The charts are SVG drawn here on the server (`compliance_charts.py` beside this): no JavaScript and
no chart library to ship, and the page prints as it shows.
"""
import json
from dataclasses import asdict

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from workflows.platform import clock
from workflows.definitions import deployment
from workflows.compliance import oversight, exports
from workflows.drawing import pdf, tables
from workflows import permissions
from workflows.platform.db import transaction

from . import compliance_charts as charts
from .auth import actor, pack, requires

blueprint = Blueprint("compliance", __name__)


def reader(pack_, actor_) -> bool:
    return permissions.may_read_registers(pack_, actor_)


@blueprint.app_context_processor
def navigation():
    """Whether the header shows the compliance pages to this person."""
    return {"may_read_registers": bool(current_user.is_authenticated and reader(pack(), actor()))}


def non_disclosure_reader(pack_, actor_) -> bool:
    return permissions.may_read_non_disclosures(pack_, actor_)


def subject_access_officer(pack_, actor_) -> bool:
    return permissions.may_export_subject_access(pack_, actor_)


def _download(body, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def _json(rows) -> Response:
    return Response(json.dumps(rows, indent=2), mimetype="application/json", headers={"Cache-Control": "no-store"})


def _readable(db, *row_lists) -> set[int]:
    """The alerts among these rows whose case page this person may open (links only to those)."""
    ids = {row["alert"] for rows in row_lists for row in rows}
    return permissions.readable_alert_ids(db, pack=pack(), actor=actor(), alert_ids=ids)


def _stamp() -> str:
    return clock.now().strftime("%Y%m%d-%H%M")


def _start(name: str) -> int:
    """The offset of the page asked for (?<name>=100), from 0."""
    try:
        return max(0, int(request.args.get(name, 0)))
    except ValueError:
        return 0


@blueprint.route("/compliance")
@requires(reader)
def dashboard():
    with transaction() as db:
        board = oversight.dashboard(db, pack=pack(), actor=actor(), size=oversight.PAGE_SIZE,
                                    starts={name: _start(name) for name in oversight.TABLES})
        readable = _readable(db, board.overdue, board.reviews_overdue, board.reviews_due_soon, board.appeals_late,
                             board.not_told, board.interim, board.past_retention, board.feed_failing)
        # a level by what the pack's forms call it ("Level 2: medium risk")
        level_labels = deployment.option_labels(db, pack=pack().key, field_id="level")
    return render_template("compliance/dashboard.html", title="Compliance", board=board, pack=pack(), readable=readable,
                           weeks_chart=charts.weekly_lines(board.weeks),
                           markers_chart=charts.stacked_bars(board.markers), level_labels=level_labels,
                           charts_counted_at=board.charts_counted_at and clock.parse_moment(board.charts_counted_at),
                           can_see_non_disclosures=non_disclosure_reader(pack(), actor()),
                           can_export_subject_access=subject_access_officer(pack(), actor()))


@blueprint.route("/compliance/dashboard.json")
@requires(reader)
def dashboard_json():
    with transaction() as db:
        return _json(asdict(oversight.dashboard(db, pack=pack(), actor=actor())))


def _filters() -> tuple[oversight.RegisterFilter, dict]:
    args = request.args
    errors = {}
    review_before = None
    if args.get("review_before"):
        try:
            review_before = clock.parse_moment(args["review_before"])
        except ValueError as err:
            errors["review_before"] = str(err)
    category = args.get("category") or None
    if category and category not in pack().categories:
        errors["category"] = f"unknown category '{category}'"
    return oversight.RegisterFilter(category=category, level=args.get("level") or None,
                                     placed_by=args.get("placed_by") or None,
                                     customer=args.get("customer") or None, review_before=review_before), errors


@blueprint.route("/compliance/register")
@blueprint.route("/compliance/register.<any(csv, json):fmt>")
@requires(reader)
def register(fmt=None):
    filters, errors = _filters()
    if errors:
        if fmt:
            return _json({"errors": errors}), 400
        return render_template("compliance/register.html", title="Register of active markers",
                               page=oversight.Page([], 0), filters=filters, errors=errors, pack=pack(),
                               readable=set()), 400
    if fmt == "csv":
        return _register_csv(filters)
    with transaction() as db:
        if fmt == "json":
            return _json(oversight.active_register(db, pack=pack(), actor=actor(), filters=filters, purpose="exported"))
        page = oversight.register_page(db, pack=pack(), actor=actor(), filters=filters, start=_start("start"))
        readable = _readable(db, page.rows)
    return render_template("compliance/register.html", title="Register of active markers", page=page,
                           filters=filters, errors={}, pack=pack(), readable=readable)


def _register_csv(filters) -> Response:
    """The whole register as CSV, streamed: the export is audited first, then the rows are read
    and sent a batch at a time, so memory stays flat however many markers there are."""
    pack_, actor_ = pack(), actor()
    with transaction() as db:
        oversight.register_export(db, pack=pack_, actor=actor_, filters=filters)

    def lines():
        with transaction() as db:
            chunk = []  # sent a batch of lines at a time, not a write per line
            for line in tables.csv_lines(oversight.register_rows(db, pack=pack_, actor=actor_, filters=filters),
                                         exports.REGISTER_COLUMNS):
                chunk.append(line)
                if len(chunk) >= oversight.EXPORT_BATCH:
                    yield "".join(chunk)
                    chunk.clear()
            yield "".join(chunk)
    return _download(lines(), "text/csv", f"active-markers-{_stamp()}.csv")


@blueprint.route("/compliance/non-disclosures")
@blueprint.route("/compliance/non-disclosures.<any(csv, json):fmt>")
@requires(non_disclosure_reader)
def non_disclosures(fmt=None):
    with transaction() as db:
        rows = oversight.non_disclosure_register(db, pack=pack(), actor=actor(),
                                                  purpose="exported" if fmt else "viewed")
        readable = _readable(db, rows)
    if fmt == "csv":
        return _download(tables.to_csv(rows, exports.NON_DISCLOSURE_COLUMNS), "text/csv",
                         f"non-disclosures-{_stamp()}.csv")
    if fmt == "json":
        return _json(rows)
    return render_template("compliance/non_disclosures.html", title="Non-disclosure register", rows=rows,
                           readable=readable)


@blueprint.route("/compliance/out-of-hours.csv")
@requires(reader)
def out_of_hours_csv():
    with transaction() as db:
        rows = exports.out_of_hours(db, pack=pack(), actor=actor())
    return _download(tables.to_csv(rows, exports.OUT_OF_HOURS_COLUMNS), "text/csv", f"out-of-hours-{_stamp()}.csv")


@blueprint.route("/alerts/<int:alert_id>/dossier.pdf")
@requires(reader)
def dossier(alert_id):
    with transaction() as db:
        body = exports.dossier_pdf(db, pack=pack(), actor=actor(), alert_id=alert_id)
    return _download(body, "application/pdf", f"dossier-A{alert_id:06d}.pdf")


@blueprint.route("/compliance/subject-access")
@requires(subject_access_officer)
def subject_access_form():
    return render_template("compliance/subject_access.html", title="Subject access request",
                           customer=request.args.get("customer", ""), errors={})


@blueprint.route("/compliance/subject-access/<customer_ref>.<any(json, pdf):fmt>")
@requires(subject_access_officer)
def subject_access(customer_ref, fmt):
    with transaction() as db:
        data = exports.subject_access(db, pack=pack(), actor=actor(), customer_ref=customer_ref)
    if fmt == "pdf":
        return _download(pdf.subject_access(data), "application/pdf", f"subject-access-{customer_ref}.pdf")
    return _download(json.dumps(data, indent=2), "application/json", f"subject-access-{customer_ref}.json")

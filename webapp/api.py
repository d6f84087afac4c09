"""The JSON API for housing management systems and out-of-hours services, with bearer-token
auth (tokens: `alertflow tokens create`). The app serves its OpenAPI document at
/api/v1/openapi.json. Every error is JSON naming the field at fault; nothing is half-saved.
"""
import json
from functools import wraps

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from workflows.accounts import api_tokens
from workflows.platform import clock, config, text
from workflows.compliance import oversight, exports
from workflows.cases import engine
from workflows.platform.db import transaction
from workflows.platform.errors import Conflict, FormInvalid, NotAllowed, NotFound, WorkflowError
from workflows.definitions.pack import active_pack
from workflows.register import incidents

from . import csrf

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)  # bearer tokens, not cookies: there is no session to forge a request with
MAX_TEXT = text.LONG_TEXT
# a concern is four short fields: deeper or bigger is a mistake or an attack (Python's parser
# would meet its recursion limit on deep nesting, a server error)
MAX_JSON_DEPTH = 10
MAX_BODY_BYTES = 100_000
MAX_CURSOR = 2**31 - 1  # an event id (a 32-bit integer column on PostgreSQL)


class BadInput(WorkflowError):
    def __init__(self, field: str, message: str, status: int = 400):
        super().__init__(message)
        self.field, self.status = field, status


def _error(status: int, message: str, field: str | None = None, headers=None):
    body = {"error": message}
    if field:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


@blueprint.before_app_request
def _routing_error_as_json():
    """A wrong path or method under the API gets JSON, not the web app's HTML page: Flask
    raises routing errors before it knows the blueprint, so its error handlers never see them."""
    err = request.routing_exception
    if err is not None and request.path.startswith(blueprint.url_prefix + "/"):
        headers = {"Allow": ", ".join(err.valid_methods)} if getattr(err, "valid_methods", None) else None
        message = f"{request.method} is not allowed here" if err.code == 405 else "there is no such API path"
        return _error(err.code, message, headers=headers)
    return None


@blueprint.errorhandler(HTTPException)
def _http_error(err):
    return _error(err.code or 500, err.description or err.name)


@blueprint.errorhandler(500)
def _server_error(err):
    return _error(500, "the server could not answer this request; nothing was saved")


@blueprint.errorhandler(BadInput)
def _bad_input(err):
    return _error(err.status, str(err), err.field)


@blueprint.errorhandler(api_tokens.Unauthorised)
def _unauthorised(err):
    return _error(401, str(err), headers={"WWW-Authenticate": 'Bearer realm="alertflow"'})


@blueprint.errorhandler(NotAllowed)
def _forbidden(err):
    return _error(403, str(err))


@blueprint.errorhandler(NotFound)
def _not_found(err):
    return _error(404, str(err))


@blueprint.errorhandler(Conflict)
def _conflict(err):
    return _error(409, str(err))


@blueprint.errorhandler(WorkflowError)
def _refused(err):
    return _error(400, str(err))


def with_token(scope: str):
    """Authenticate the bearer token and check its scope, in the request's one transaction."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header[:7].lower() == "bearer " else None
            with transaction() as db:
                row = api_tokens.authenticate(db, token=token)
                api_tokens.require_scope(row, scope)
                g.api_actor = api_tokens.actor_of(row)
                result = view(db, *args, **kwargs)
            return result
        return wrapper
    return decorate


def _text(value, field: str, *, required: bool, max_length: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadInput(field, f"{field} is required")
        return None
    if not isinstance(value, str):
        raise BadInput(field, f"{field} must be a string")
    try:
        return text.clean_text(value, field=field, max_length=max_length)
    except FormInvalid as err:
        raise BadInput(field, err.errors[field]) from None


def _json_body():
    """The request's JSON, refused (naming why) if too big or nested too deeply to parse safely."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise BadInput("body", f"the request body is larger than {MAX_BODY_BYTES:,} bytes", 413)
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise BadInput("body", f"the request body is larger than {MAX_BODY_BYTES:,} bytes", 413)
    if _nesting(raw) > MAX_JSON_DEPTH:
        raise BadInput("body", f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _nesting(raw: bytes) -> int:
    """How deeply arrays and objects nest, counted without parsing (brackets in strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def _json_response(body, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/markers")
@with_token("markers:read")
def markers(db):
    customer = _text(request.args.get("customer"), "customer", required=False, max_length=text.CUSTOMER_REFERENCE)
    address = _text(request.args.get("address"), "address", required=False, max_length=text.ADDRESS)
    if not customer and not address:
        raise BadInput("customer", "give customer (a reference) or address (part of an address or postcode)")
    if address is not None and len(address) < 3:
        raise BadInput("address", "give at least 3 characters of the address or postcode")
    found = oversight.markers_for(db, pack=active_pack(), actor=g.api_actor, customer_ref=customer, address=address)
    return _json_response({"customers": found})


@blueprint.get("/changes")
@with_token("markers:read")
def changes(db):
    raw = _text(request.args.get("since"), "since", required=True, max_length=40)
    try:
        since = clock.parse_moment(raw)
        since.astimezone()  # an offset that moves it out of range fails here, not in the query
    except (ValueError, OverflowError):
        raise BadInput("since", f"since: '{raw}' is not an ISO 8601 date or time, e.g. 2027-05-31T09:00Z") from None
    limit = request.args.get("limit", "500")
    if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= 1000:
        raise BadInput("limit", "limit must be a whole number from 1 to 1000")
    return _json_response(oversight.marker_changes(db, pack=active_pack(), actor=g.api_actor, since=since,
                                                    limit=int(limit)))


@blueprint.get("/feed")
@with_token("markers:read")
def feed_events(db):
    """The housing system feed as a change feed: the events after a cursor (the same rule as the
    marker look-up: instructions to staff only, a restricted record its staff instruction)."""
    from workflows.register import feed

    after = request.args.get("after", "0").strip()
    if not after.isascii() or not after.isdigit() or int(after) > MAX_CURSOR:
        raise BadInput("after", "after must be a cursor this feed gave (a whole number; 0 from the start)")
    limit = request.args.get("limit", "100")
    if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= 1000:
        raise BadInput("limit", "limit must be a whole number from 1 to 1000")
    return _json_response(feed.events_after(db, actor=g.api_actor.username, after=int(after), limit=int(limit)))


@blueprint.post("/concerns")
@with_token("concerns:write")
def report_concern(db):
    body = _json_body()
    if not isinstance(body, dict):
        raise BadInput("body", "send a JSON object: {\"customer\": ..., \"category\": ..., \"description\": ...}")
    unknown = sorted(set(body) - {"customer", "property", "category", "description", "staff_involved", "link_to"})
    if unknown:
        raise BadInput(unknown[0], f"unknown field '{unknown[0]}'")
    # a hazard at an address names the property (a category the pack puts on properties), not a customer
    place = _text(body.get("property"), "property", required=False, max_length=text.CUSTOMER_REFERENCE)
    customer = _text(body.get("customer"), "customer", required=not place, max_length=text.CUSTOMER_REFERENCE)
    category = _text(body.get("category"), "category", required=True, max_length=text.CATEGORY)
    description = _text(body.get("description"), "description", required=True)
    staff_involved = _text(body.get("staff_involved"), "staff_involved", required=False, max_length=text.USERNAME)
    link_to = body.get("link_to")
    if link_to is not None and (isinstance(link_to, bool) or not isinstance(link_to, int) or link_to < 1):
        raise BadInput("link_to", "link_to must be the number of the alert whose active marker the concern is about")
    pack = active_pack()
    if category not in pack.categories:
        raise BadInput("category", f"unknown category '{category}' (this pack has: {', '.join(sorted(pack.categories))})")
    holder = incidents.customer_named(db, customer) if link_to is None and customer else None
    offered = incidents.linkable_markers(db, pack=pack, actor=g.api_actor, customer=holder) if holder else []
    try:
        case = engine.report_concern(db, pack=pack, actor=g.api_actor, customer_ref=customer, category=category,
                                     description=description, staff_involved=staff_involved, link_to=link_to,
                                     property_ref=place)
    except NotFound as err:
        field = ("link_to" if link_to is not None and "alert" in str(err) else
                 "property" if "property" in str(err) else "customer")
        raise BadInput(field, str(err), 404) from None
    except FormInvalid as err:
        field, message = next(iter(err.errors.items()))
        raise BadInput(field, message) from None
    except NotAllowed as err:
        raise BadInput("link_to", str(err), 409) from None
    if link_to is not None:
        return _json_response({"alert": case.alert_id, "case": case.id, "status": "linked"}, 201)
    # a marker already on the customer: the answer offers it, to link the next concern to
    return _json_response({"alert": case.alert_id, "case": case.id, "status": "under_assessment",
                           "linkable_markers": [m["alert"] for m in offered]}, 201)


TENANCY_FIELDS = {"customer": text.CUSTOMER_REFERENCE, "address": text.ADDRESS, "postcode": text.POSTCODE,
                  "uprn": 12, "property": text.CUSTOMER_REFERENCE, "tenancy_ref": text.CUSTOMER_REFERENCE,
                  "starts": 10}


@blueprint.post("/tenancies")
@with_token("tenancies:write")
def start_tenancy(db):
    """A customer's move: a new tenancy from a day, ending the one they have that day."""
    from datetime import date
    from workflows.register import tenancy as tenancies

    body = _json_body()
    if not isinstance(body, dict):
        raise BadInput("body", "send a JSON object: {\"customer\": ..., \"address\": ..., \"postcode\": ...}")
    unknown = sorted(set(body) - set(TENANCY_FIELDS))
    if unknown:
        raise BadInput(unknown[0], f"unknown field '{unknown[0]}'")
    values = {k: _text(body.get(k), k, required=k == "customer", max_length=n) for k, n in TENANCY_FIELDS.items()}
    starts = None
    if values["starts"]:
        try:
            starts = date.fromisoformat(values["starts"])
        except ValueError:
            raise BadInput("starts", f"starts: '{values['starts']}' is not a day (YYYY-MM-DD)") from None
    try:
        started = tenancies.move_in(db, actor=g.api_actor, customer=values["customer"], address=values["address"] or "",
                                    postcode=values["postcode"] or "", uprn=values["uprn"],
                                    property_ref=values["property"], tenancy_ref=values["tenancy_ref"], starts=starts)
    except NotFound as err:
        raise BadInput("customer", str(err), 404) from None
    except FormInvalid as err:
        field, message = next(iter(err.errors.items()))
        raise BadInput({"start": "starts"}.get(field, field), message) from None
    place = started.property
    return _json_response({"customer": values["customer"], "property": place.reference, "address": place.address,
                           "postcode": place.postcode, "uprn": place.uprn,
                           "starts": clock.local_day(started.started_at).isoformat()}, 201)


@blueprint.get("/out-of-hours")
@with_token("out_of_hours:read")
def out_of_hours(db):
    return _json_response({"markers": exports.out_of_hours(db, pack=active_pack(), actor=g.api_actor)})


@blueprint.get("/openapi.json")
def openapi():
    return _json_response(openapi_document(config.base_url()))


def _err(description):
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def feed_event_schema() -> dict:
    """One event of the housing system feed (docs/integration.md has an example)."""
    text_or_null = {"type": ["string", "null"]}
    strings = {"type": "array", "items": {"type": "string"}}
    return {"type": "object", "required": ["event_id", "event_type", "change", "occurred_at", "person_alert"],
            "properties": {
                "event_id": {"type": "integer"}, "event_type": {"type": "string"},
                "change": {"type": "string", "enum": ["placed", "interim_on", "interim_confirmed", "amended",
                                                      "level_changed", "code_changed", "removed", "interim_off"]},
                "occurred_at": {"type": "string"}, "source": {"type": "string"}, "pack": {"type": "string"},
                "changed_fields": strings,
                "person_alert": {"type": "object", "required": ["alert_reference", "person_reference", "status"],
                                 "properties": {
                    "alert_reference": {"type": "string"}, "person_reference": text_or_null,
                    "property_reference": {"type": "string", "description": "A marker on a property (a hazard "
                                           "at the address): the property; person_reference is null"},
                    "status": {"type": "string", "enum": ["active", "interim", "ended"]},
                    "alert_type": text_or_null, "alert_type_code": text_or_null, "alert_level": text_or_null,
                    "alert_level_code": text_or_null, "marker_code": text_or_null,
                    "instruction_to_staff": text_or_null, "control_measures": strings, "details": strings,
                    "start_date": text_or_null, "review_date": text_or_null, "end_date": text_or_null}}}}


def openapi_document(server: str = "") -> dict:
    pack = active_pack()
    marker = {"type": "object", "required": ["alert", "instruction", "control_measures"], "properties": {
        "alert": {"type": "integer"}, "category": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"]}, "level": {"type": ["string", "null"]},
        "instruction": {"type": ["string", "null"]},
        "control_measures": {"type": "array", "items": {"type": "string"}},
        "details": {"type": "array", "items": {"type": "string"}},
        "since": {"type": ["string", "null"]}, "next_review": {"type": ["string", "null"]}}}
    common = {"401": _err("No token, or an unknown or revoked one"), "403": _err("The token lacks the scope")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Alertflow API", "version": "1.0.0",
                 "description": f"Customer risk markers of {pack.name}: instructions to staff, never the reasons. "
                                "Send a token from `alertflow tokens create` as `Authorization: Bearer <token>`."},
        "servers": [{"url": server or "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "string"}, "field": {"type": "string"}}},
                "Marker": marker,
                "FeedEvent": feed_event_schema(),
                "Customer": {"type": "object", "required": ["customer", "markers"], "properties": {
                    "customer": {"type": "string"}, "name": {"type": "string"}, "address": {"type": "string"},
                    "postcode": {"type": "string"},
                    "markers": {"type": "array", "items": {"$ref": "#/components/schemas/Marker"}}}},
                "Concern": {"type": "object", "required": ["category", "description"],
                            "additionalProperties": False, "properties": {
                                "customer": {"type": "string", "minLength": 1, "maxLength": text.CUSTOMER_REFERENCE,
                                             "description": "The customer (required unless `property` is given)"},
                                "property": {"type": "string", "minLength": 1, "maxLength": text.CUSTOMER_REFERENCE,
                                             "description": "The property, for a category the pack puts on "
                                                            "properties (a hazard at the address)"},
                                "category": {"type": "string", "enum": sorted(pack.categories)},
                                "description": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
                                "staff_involved": {"type": "string", "maxLength": text.USERNAME, "description":
                                                   "Username of the member of staff it happened to; like "
                                                   "the reporter, they never decide on it"},
                                "link_to": {"type": "integer", "minimum": 1, "description":
                                            "The alert of an active marker already on the customer: the concern "
                                            "is linked to it (one of its incidents) instead of a new alert"}}},
            },
        },
        "paths": {
            "/api/v1/markers": {"get": {
                "operationId": "lookUpMarkers", "summary": "Active markers for a customer or an address",
                "parameters": [
                    {"name": "customer", "in": "query", "schema": {"type": "string", "maxLength": text.CUSTOMER_REFERENCE},
                     "description": "The customer's reference (exact)"},
                    {"name": "address", "in": "query", "schema": {"type": "string", "minLength": 3, "maxLength": text.ADDRESS},
                     "description": "Part of an address or postcode"}],
                "responses": {"200": {"description": "Matching customers and their active markers", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["customers"], "properties": {
                        "customers": {"type": "array", "items": {"$ref": "#/components/schemas/Customer"}}}}}}},
                    "400": _err("Neither customer nor address, or a bad value"), **common}}},
            "/api/v1/changes": {"get": {
                "operationId": "listMarkerChanges", "summary": "Markers placed, kept, amended or removed since a moment",
                "parameters": [
                    {"name": "since", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "date-time"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
                "responses": {"200": {"description": "Changes, oldest first; poll again from `until`", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["since", "until", "changes"],
                                                    "properties": {
                        "since": {"type": "string"}, "until": {"type": "string"}, "more": {"type": "boolean"},
                        "changes": {"type": "array", "items": {"type": "object", "required": ["at", "change", "alert"],
                                                              "properties": {
                            "at": {"type": "string"}, "change": {"type": "string"}, "alert": {"type": "integer"},
                            "customer": {"type": "string"}, "status": {"type": "string"},
                            "marker": {"oneOf": [{"$ref": "#/components/schemas/Marker"}, {"type": "null"}]}}}}}}}}},
                    "400": _err("A missing or malformed parameter"), **common}}},
            "/api/v1/feed": {"get": {
                "operationId": "feedEvents",
                "summary": "The housing system feed: every change to a marker as an event, after a cursor",
                "parameters": [
                    {"name": "after", "in": "query", "description": "The cursor of the last event read (0 or "
                     "absent: from the first)", "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
                "responses": {"200": {"description": "Events oldest first; read again with `after` = `cursor`",
                                      "content": {"application/json": {"schema": {
                    "type": "object", "required": ["events", "cursor", "more"], "properties": {
                        "cursor": {"type": "string"}, "more": {"type": "boolean"},
                        "events": {"type": "array", "items": {"$ref": "#/components/schemas/FeedEvent"}}}}}}},
                    "400": _err("A malformed cursor or limit"), **common}}},
            "/api/v1/concerns": {"post": {
                "operationId": "reportConcern", "summary": "Report a concern about a customer (starts an assessment)",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Concern"}}}},
                "responses": {"201": {"description": "The concern is recorded and its assessment started", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["alert", "case"], "properties": {
                        "alert": {"type": "integer"}, "case": {"type": "integer"}, "status": {"type": "string"},
                        "linkable_markers": {"type": "array", "items": {"type": "integer"}, "description":
                                             "Active markers already on the customer: a later concern about the "
                                             "same risk may be linked to one (link_to)"}}}}}},
                    "400": _err("A missing or bad field (named in `field`)"),
                    "404": _err("No customer (or no alert to link to) with that reference"),
                    "409": _err("A conflicting change, or a link to a marker that is not active; try again"),
                    "413": _err("A request body larger than the API takes"),
                    **common}}},
            "/api/v1/tenancies": {"post": {
                "operationId": "startTenancy",
                "summary": "A customer moves: a new tenancy from a day, ending the one they have on that day",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["customer"], "additionalProperties": False, "properties": {
                        "customer": {"type": "string", "minLength": 1, "maxLength": text.CUSTOMER_REFERENCE},
                        "address": {"type": "string", "maxLength": text.ADDRESS},
                        "postcode": {"type": "string", "maxLength": text.POSTCODE},
                        "uprn": {"type": "string", "maxLength": 12},
                        "property": {"type": "string", "maxLength": text.CUSTOMER_REFERENCE,
                                     "description": "A property on record, instead of an address"},
                        "tenancy_ref": {"type": "string", "maxLength": text.CUSTOMER_REFERENCE},
                        "starts": {"type": "string", "format": "date", "description": "Today if absent"}}}}}},
                "responses": {"201": {"description": "The new tenancy", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["customer", "property", "starts"], "properties": {
                        "customer": {"type": "string"}, "property": {"type": "string"},
                        "address": {"type": "string"}, "postcode": {"type": "string"},
                        "uprn": {"type": ["string", "null"]}, "starts": {"type": "string"}}}}}},
                    "400": _err("A missing or bad field (named in `field`): no postcode, a start before the "
                                "last tenancy ended"),
                    "404": _err("No customer with that reference"),
                    "413": _err("A request body larger than the API takes"),
                    **common}}},
            "/api/v1/out-of-hours": {"get": {
                "operationId": "outOfHoursList", "summary": "Addresses and instructions of every active marker",
                "responses": {"200": {"description": "The out-of-hours list (no reasons)", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["markers"], "properties": {
                        "markers": {"type": "array", "items": {"type": "object", "properties": {
                            "property": {"type": ["string", "null"], "description": "Where it applies now"},
                            "address": {"type": "string"}, "postcode": {"type": "string"},
                            "applies_to": {"type": "string", "description": "The person it is about, or "
                                           "everyone living there (a marker on the property)"},
                            "customer": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]},
                            "code": {"type": ["string", "null"]},
                            "kind": {"type": "string", "description": "The code and level as staff read them, "
                                     "by the pack's labels (\"VIP: visit in pairs\"); empty for neither"},
                            "instruction": {"type": ["string", "null"]},
                            "control_measures": {"type": "array", "items": {"type": "string"}},
                            "details": {"type": "array", "items": {"type": "string"}}}}}}}}}},
                    **common}}},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "The OpenAPI document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
    }

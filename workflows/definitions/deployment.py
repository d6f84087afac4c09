"""Deployed BPMN: checking a diagram, deploying it as a new version, and the parsed-spec cache.

Every diagram is checked when it is loaded, never when a tenant's case reaches it: a broken
or unsafe expression, a lane that names no role, a duration that does not parse, an unknown
action or form field type is refused with the file and the element id.
"""
import hashlib
import re
from dataclasses import dataclass, replace

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from sqlalchemy import bindparam, event as orm_events, func, select
from sqlalchemy.orm import Session

from workflows.platform.errors import WorkflowError
from workflows.compliance import audit
from workflows.platform import clock, wording
from workflows.definitions import expressions, flow_checks, name_checks, spiff
from workflows.cases import forms
from workflows import permissions
from workflows.cases.actions import ACTIONS
from workflows.cases.assignment import DUE_NAME
from workflows.platform.models import Case, CaseStatus, ProcessDefinition
from workflows.definitions.pack import Pack, read_pack_files

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
BPMN_IDS = (f"{{{BPMN}}}", "{http://www.omg.org/spec/BPMN/20100524/DI}")
TASK_PROPERTIES = ("assigneeField", "mustOutrank", "mustDiffer", "dueIn", "decision", "nominee")
# names the engine itself writes into case data as a case runs
ENGINE_VARIABLES = ("last_decision_by", "last_decision_role", "last_decision_at", "form_answers", "marker_fields_at_start",
                    "marker_at_start",
                    "original_decider", "original_decider_role", "appeal_grounds", "appealed_decision_no",
                    # an appeal case also knows whether it was lodged late, and when the window closed
                    "late_appeal", "appeal_window_closed",
                    # a request case (workflows/register/customer_requests.py) starts knowing these
                    "request", "request_details", "letters_issued", "non_disclosures_recorded", "marker_active")
# a linked incident's case starts knowing these (workflows/register/incidents.py CASE_VARIABLES)
INCIDENT_VARIABLES = ("linked_incident", "incident_category", "marker_placed_at", "last_review_at",
                      "next_review_at", "linked_incidents", "linked_incident_count")
# a form field id names a case variable and is written into pages; an enum option id is a value
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Finding:
    filename: str
    element: str
    message: str
    name: str | None = None  # what the process owner calls the element (its name in the diagram)

    def __str__(self):
        """The element by its name with its id after ('Six months' (due_def)), as a modeler shows it."""
        where = wording.element(self.name, self.element) if self.name else self.element
        return f"{self.filename}: {where}: {self.message}"


class DefinitionRefused(WorkflowError, ValueError):  # ValueError too: parsers raise and catch it
    """A diagram with errors; `findings` name each element. Nothing was deployed."""

    def __init__(self, findings: list[Finding]):
        self.findings = list(dict.fromkeys(findings))  # a pack.toml finding comes with every file checked
        super().__init__("\n".join(str(f) for f in self.findings))


def check(content: bytes | str, filename: str, pack: Pack, db: Session | None = None,
          together: list[tuple[str, bytes]] | None = None) -> list[Finding]:
    """Parse and lint one BPMN document; an empty list means it may be deployed. With `db`, the
    processes it names may also be ones already deployed; `together`: the diagram files deployed
    with it, (name, content), whose processes it may name too (default: the pack folder's)."""
    try:
        root = spiff.safe_xml(content)
    except spiff.XmlRefused as err:
        return [Finding(filename, "(document)", str(err))]
    findings = _duplicate_ids(root, filename) + _lint_xml(root, filename, pack)
    name_checks.check(root, filename, pack, lambda element, message, file=None: findings.append(
        Finding(file or filename, element, message)), db, together)
    try:
        specs, _ = spiff.parse_processes(root, filename)
    except ValidationException as err:
        element = getattr(err, "id", "") or "(document)"
        return _named(findings + [Finding(filename, element, str(err).splitlines()[0])], root)
    except Exception as err:  # SpiffWorkflow crashes on some invalid diagrams instead of reporting
        return _named(findings + [Finding(filename, "(document)", f"the diagram cannot be read: {err!r}")], root)
    if not specs:
        findings.append(Finding(filename, "(document)", "the file holds no executable process"))
    return _named(findings, root)


def warnings(content: bytes | str, filename: str) -> list[Finding]:
    """What may be deployed but is best done otherwise (flow_checks.warnings_for), each naming
    its element; none for a file that cannot be read (check says why)."""
    try:
        root = spiff.safe_xml(content)
    except (spiff.XmlRefused, ValueError):
        return []
    found = []
    for process in root.iterfind("bpmn:process", NS):
        flow_checks.warnings_for(process, lambda element, message: found.append(Finding(filename, element, message)))
    return _named(found, root)


def _named(findings: list[Finding], root) -> list[Finding]:
    """Each finding with its element's name from the diagram; an unnamed part of a named element
    (a timer's definition inside 'Six months') takes the name of the element it belongs to."""
    names, seen = {}, set()
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith(BPMN_IDS) or not element.get("id"):
            continue  # Camunda's form fields and options have ids of their own, not elements'
        if element.get("id") in seen:  # an id used twice names no one element
            names.pop(element.get("id"), None)
            continue
        seen.add(element.get("id"))
        name, parent = element.get("name"), element.getparent()
        if not name and parent is not None and parent.get("name") and element.tag.endswith("EventDefinition"):
            name = f"{parent.get('name')}"
        if name:
            names[element.get("id")] = " ".join(name.split())
    return [replace(f, name=names.get(f.element)) if f.name is None and f.element in names else f for f in findings]


def _duplicate_ids(root, filename) -> list[Finding]:
    """A BPMN id used twice: SpiffWorkflow keeps one silently and a modeler drops the other.
    (Camunda's form field and option ids may repeat across tasks.)"""
    counts = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(BPMN_IDS) and element.get("id"):
            counts[element.get("id")] = counts.get(element.get("id"), 0) + 1
    return [Finding(filename, element_id, f"the id '{element_id}' is used by {n} elements; each element needs its own id")
            for element_id, n in counts.items() if n > 1]


def _lint_xml(root, filename, pack) -> list[Finding]:
    findings = []
    known_names = set(pack.start_variables) | set(ENGINE_VARIABLES) | set(pack.review_carries) \
        | set(INCIDENT_VARIABLES) | pack.marker_field_names()
    for field in root.iterfind(".//camunda:formField", NS):
        known_names.add(field.get("id"))
        if field.get("type") == "enum":
            known_names.add(f"{field.get('id')}_labels")
    for action in ACTIONS.values():
        known_names |= set(action.writes)

    def add(element, message):
        findings.append(Finding(filename, element.get("id") or element.tag, message))

    for element in root.iter():
        for field in element.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NS):
            _check_field_names(add, element, field)
    user_tasks = {task.get("id") for task in root.iterfind(".//bpmn:userTask", NS)}
    oversight = permissions.oversight_roles(pack)
    for lane in root.iterfind(".//bpmn:lane", NS):
        role = pack.role_for_lane(lane.get("name"))
        if role is None:
            add(lane, f"lane '{lane.get('name')}' names no role of the {pack.name} pack")
        elif role.key in oversight and {ref.text for ref in lane.iterfind("bpmn:flowNodeRef", NS)} & user_tasks:
            add(lane, f"lane '{lane.get('name')}' gives the {role.name} role a step on a case; administrators, "
                      f"process owners and compliance staff oversee cases and do not work them (need to know): "
                      f"put the step in the lane of the role that does the work")
    for task in root.iterfind(".//bpmn:scriptTask", NS):
        add(task, "script tasks are not run; use a service task naming an action")
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None:
            _check_expression(add, flow, (condition.text or "").strip(), known_names, "condition")
    for event in root.iterfind(".//bpmn:timerEventDefinition", NS):
        for child in event:
            _check_timer(add, event, child, known_names, pack.calendar)
    for loop in root.iterfind(".//bpmn:multiInstanceLoopCharacteristics", NS):
        _check_multi_instance(add, loop.getparent(), loop, known_names)
    for task in root.iterfind(".//bpmn:serviceTask", NS):
        _check_service_task(add, task, pack)
        if task.get(f"{{{CAMUNDA}}}topic") == "notify":
            _check_notify(add, task, pack, known_names, root)
        if task.get(f"{{{CAMUNDA}}}topic") == "set_marker_fields":
            _check_marker_field_mapping(add, task, pack, known_names)
    for task in root.iterfind(".//bpmn:userTask", NS):
        _check_user_task(add, task, pack, known_names)
    for process in root.iterfind("bpmn:process", NS):
        flow_checks.check_process(process, pack, lambda element, message: findings.append(
            Finding(filename, element, message)))
    return findings


def _check_field_names(add, element, field):
    """Field and option ids are plain names: a quote or a space in one would end up in a page."""
    field_id = field.get("id") or ""
    if not PLAIN_NAME.fullmatch(field_id):
        add(element, f"form field id '{field_id}' is not a plain name (letters, digits and _, "
                     f"not starting with a digit), e.g. risk_level")
    for option in field.iterfind("camunda:value", NS):
        if not PLAIN_NAME.fullmatch(option.get("id") or ""):
            add(element, f"option id '{option.get('id') or ''}' of form field '{field_id}' is not a plain name "
                         f"(letters, digits and _, not starting with a digit), e.g. high")


def _check_expression(add, element, text, known_names, what):
    if not text:
        add(element, f"the {what} is empty")
        return
    try:
        used = expressions.names_used(text) - {"True", "False", "None"}
        if not used:  # reads no case data, so it fails when reached exactly as it fails now
            expressions.evaluate(text, {})
    except expressions.ExpressionError as err:
        add(element, f"{what}: {err}")
        return
    unknown = used - known_names
    if unknown:
        add(element, f"{what} '{text}' reads {', '.join(sorted(unknown))}, which no form field "
                     f"or case variable provides")


def _check_timer(add, event, child, known_names=frozenset(), calendar=None):
    if not event.get("id") and event.getparent() is not None:
        event = event.getparent()  # Modeler need not give the definition an id: name the timer event
    expression = spiff.quote_bare_timer(child.text or "")
    try:
        value = expressions.evaluate(expression, {})
    except expressions.ExpressionError:  # reads case data (e.g. 'P1M' if marker_code == 'DNV' else 'P6M')
        if calendar is None and clock.mentions_working_days(expression):
            add(event, f"timer '{expression}' counts working days, but the pack has no business calendar to "
                       f"count them on: add [calendar] to pack.toml, e.g. [calendar] nation = \"england-and-wales\"")
        return _check_expression(add, event, expression, set(known_names), "timer")
    kind = child.tag.split("}")[1]
    try:
        if kind == "timeDuration":
            clock.duration_after(clock.now(), str(value), calendar)
        elif kind == "timeDate":
            clock.parse_moment(str(value))
    except ValueError as err:
        add(event, f"{kind}: {err}")


def _check_multi_instance(add, task, loop, known_names):
    """A multi-instance step's count and completion condition are expressions like any other;
    a constant count is bounded, since each instance is a task held in the case's state."""
    cardinality = loop.find("bpmn:loopCardinality", NS)
    if cardinality is not None:
        text = (cardinality.text or "").strip()
        _check_expression(add, task, text, known_names, "loopCardinality")
        try:
            count = expressions.evaluate(text, {}) if text else None
        except expressions.ExpressionError:
            count = None  # reads case data: a list to run once per item, or a number
        if count is not None and spiff.instance_count_problem(count):
            add(task, f"loopCardinality '{text}' must be a whole number from 0 to {spiff.MAX_INSTANCES}, "
                      f"or name a list in the case data")
    condition = loop.find("bpmn:completionCondition", NS)
    if condition is not None:
        _check_expression(add, task, (condition.text or "").strip(), known_names, "completionCondition")
    collection = loop.get(f"{{{CAMUNDA}}}collection")
    if collection is not None and collection not in known_names:
        add(task, f"camunda:collection names '{collection}', which no form field or case variable provides")


def _check_marker_field_mapping(add, task, pack, known_names):
    """set_marker_fields: each property names a marker field pack.toml declares and gives an expression
    over the case data for its value."""
    props = _properties(task)
    declared = ", ".join(pack.marker_fields) or "none"
    if not props:
        add(task, f"set_marker_fields sets no marker field: give each as a property, the marker field's name "
                  f"and an expression for its value (e.g. expires_on = expiry_date); [marker_fields]: {declared}")
    for name, expression in props.items():
        if name not in pack.marker_fields:
            add(task, f"sets marker field '{name}', which pack.toml does not declare ([marker_fields]: {declared})")
        else:
            _check_expression(add, task, (expression or "").strip(), known_names, f"marker field '{name}'")


def _check_service_task(add, task, pack):
    name = task.get(f"{{{CAMUNDA}}}topic")
    if not name:
        add(task, "service task names no action (set camunda:topic, e.g. place_marker)")
        return
    if name not in ACTIONS:
        add(task, f"unknown action '{name}' (known: {', '.join(sorted(ACTIONS))})")
        return
    props = _properties(task)
    for required in ACTIONS[name].properties:
        if not props.get(required):
            add(task, f"action '{name}' needs the property '{required}'")
    if name in ("issue_letter", "add_templated_note") and props.get("template") \
            and props["template"] not in pack.letters:
        add(task, f"unknown letter template '{props['template']}'")
    if name == "issue_letter" and not pack.registers.tell_tenant_within:
        add(task, "issues a letter, but the pack sets no time to tell the tenant: set [registers] "
                  "tell_tenant_within in pack.toml, e.g. tell_tenant_within = \"P14D\"")
    if name == "restrict_record" and props.get("restriction") and props["restriction"] not in pack.restrictions:
        add(task, f"unknown restriction '{props['restriction']}'")
    if name == "reschedule_review":
        if bool(props.get("within")) == bool(props.get("date_field")):
            add(task, "reschedule_review needs exactly one of the properties 'within' (a duration from now, "
                      "e.g. P1M) and 'date_field' (a date field of a form before it)")
        elif props.get("within"):
            try:
                clock.duration_after(clock.now(), props["within"])
            except ValueError as err:
                add(task, f"reschedule_review within: {err}")
    if name == "notify_circulation" and props.get("notice") and props["notice"] not in ("amended", "withdrawn", "removed"):
        add(task, f"notify_circulation notice must be amended, withdrawn or removed, not '{props['notice']}'")
    if name == "record_letter_delivery" and props.get("method") and props["method"] not in pack.delivery_methods:
        add(task, f"unknown delivery method '{props['method']}' (the pack's: {', '.join(pack.delivery_methods)})")


def _check_notify(add, task, pack, known_names, root):
    """A notify step names recipients the pack has, and asks why when it may tell more than the
    default audience (the engine refuses such a step without a justification in any case)."""
    props = _properties(task)
    known = ", ".join(sorted(pack.recipients)) or "none: add [recipients.<key>] to pack.toml"
    named = [k.strip() for k in (props.get("recipients") or "").split(",") if k.strip()]
    for key in named:
        if key not in pack.recipients:
            add(task, f"notify names recipient '{key}', which is not a recipient of the pack (its recipients: {known})")
    field = props.get("recipients_field")
    choices = set()
    if field:
        if field not in known_names:
            add(task, f"notify recipients_field names '{field}', which no form field or case variable provides")
        for form_field in root.iterfind(".//camunda:formField", NS):
            if form_field.get("id") == field:
                for option in form_field.iterfind("camunda:value", NS):
                    choices.add(option.get("id"))
                    if option.get("id") not in pack.recipients:
                        add(task, f"notify recipients_field '{field}' offers '{option.get('id')}', which is not a "
                                  f"recipient of the pack (its recipients: {known}); its option ids are recipient keys")
    if not named and not field and not pack.default_audience and not any(
            c.audience for c in pack.categories.values()):
        add(task, "notify names no recipients and the pack has no [circulation] default_audience: name them "
                  "(property recipients, or recipients_field) or set default_audience in pack.toml")
    audience = set(pack.default_audience).union(*(c.audience or () for c in pack.categories.values()))
    may_exceed = bool(set(named) - audience) or bool(choices - audience) or (field and not choices)
    justification_field = props.get("justification_field") or "circulation_justification"
    if may_exceed and not props.get("justification") and justification_field not in known_names:
        add(task, f"notify may tell recipients beyond the default audience, who need a recorded justification, "
                  f"but no form field '{justification_field}' comes before it: add one (or name yours with the "
                  f"property justification_field)")


def _check_user_task(add, task, pack, known_names):
    props = _properties(task)
    if props.get("dueIn") and DUE_NAME.fullmatch(props["dueIn"]):  # a case-data name: a marker field, say
        if props["dueIn"] not in known_names:
            add(task, f"dueIn names '{props['dueIn']}', which no form field or case variable provides "
                      f"(or write a duration, e.g. P14D)")
    elif props.get("dueIn"):
        try:
            clock.duration_after(clock.now(), props["dueIn"], pack.calendar)
        except ValueError as err:
            add(task, f"dueIn: {err}")
    for name in ("assigneeField", "mustOutrank", "mustDiffer"):
        named = [n.strip() for n in (props.get(name) or "").split(",") if n.strip()] if name == "mustDiffer" \
            else [props[name]] if props.get(name) else []
        for one in named:  # mustDiffer may name several fields: reported_by,staff_involved
            if one not in known_names:
                add(task, f"{name} names '{one}', which no form field or case variable provides")
    if props.get("nominee") and props["nominee"] not in pack.roles:
        add(task, f"nominee names unknown role '{props['nominee']}' (this pack has: {', '.join(sorted(pack.roles))})")
    outrank = props.get("mustOutrank")
    if outrank and outrank in known_names and f"{outrank}_role" not in known_names:
        add(task, f"mustOutrank names '{outrank}', but nothing provides '{outrank}_role' (the role they acted "
                  f"in), so there is no seniority to beat; to require only a different person, use mustDiffer")
    for field in task.iterfind(".//camunda:formField", NS):
        kind = field.get("type")
        if kind not in forms.TYPES:
            add(task, f"form field '{field.get('id')}' has type '{kind}' (allowed: {', '.join(forms.TYPES)})")
        bounds = {p.get("id"): p.get("value") for p in field.iterfind(".//camunda:property", NS) if p.get("id") in ("min", "max")}
        if kind == "date":
            bounds.update({c.get("name"): c.get("config") for c in field.iterfind(".//camunda:constraint", NS)
                           if c.get("name") in ("min", "max")})
        for which, text in bounds.items():
            problem = forms.bound_problem(text or "", known_names) if kind == "date" else \
                f"a {which} property bounds a date field; '{field.get('id')}' is a {kind} (use the {which} constraint)"
            if problem:
                add(task, f"form field '{field.get('id')}' {which}: {problem}")
        for prop in field.iterfind(".//camunda:property", NS):
            if prop.get("id") in ("requiredWhen", "validWhen"):
                _check_expression(add, task, prop.get("value") or "", known_names,
                                  f"{prop.get('id')} of field '{field.get('id')}'")
            if prop.get("id") == "userWithRole" and prop.get("value") not in pack.roles:
                add(task, f"form field '{field.get('id')}' names unknown role '{prop.get('value')}'")


def _properties(element) -> dict:
    return {p.get("name"): p.get("value")
            for p in element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS)}


def deploy_file(db: Session, *, pack: Pack, content: bytes, filename: str, deployed_by: str,
                from_pack_files: bool = False, change_note: str | None = None,
                together: list[tuple[str, bytes]] | None = None) -> list[ProcessDefinition]:
    """Check a BPMN file and deploy each process in it whose content changed, as a new version.
    `from_pack_files`: the file is the pack's own (`pack deploy`), not a web upload or save;
    `together`: the files deployed with it (see check)."""
    findings = check(content, filename, pack, db, together)
    if findings:
        raise DefinitionRefused(findings)
    specs, _ = spiff.parse_processes(spiff.safe_xml(content), filename)
    digest = hashlib.sha256(content).hexdigest()
    deployed = []
    for process_id, spec in specs.items():
        current = latest(db, pack=pack.key, process_id=process_id)
        if current is not None and current.content_hash == digest:
            continue
        definition = ProcessDefinition(
            pack=pack.key, process_id=process_id, version=(current.version + 1 if current else 1),
            name=spec.description or process_id, filename=filename,
            bpmn_xml=content.decode("utf-8"), content_hash=digest, deployed_by=deployed_by,
            deployed_at=clock.now(), in_pack_files=from_pack_files,
            change_note=change_note or ("from the pack's files" if from_pack_files else None))
        db.add(definition)
        db.flush()
        db.info.pop(_NEWEST, None)  # this transaction now has a newer version
        audit.record(db, actor=deployed_by, action="process_deployed", process_id=process_id,
                     version=definition.version, filename=filename, change_note=definition.change_note,
                     source="the pack's files" if from_pack_files else "the web")
        deployed.append(definition)
    return deployed


def pack_files(pack: Pack) -> list[tuple[str, bytes]]:
    """The pack folder's diagrams as (file name, content): what `pack check` and `pack deploy` read.
    Nothing that runs a case reads them: cases, lanes, letters and reminders use deployed versions."""
    return [(path.name, path.read_bytes()) for path in pack.bpmn_files()]


def check_files(files: list[tuple[str, bytes]], pack: Pack, db: Session | None = None) -> None:
    """Refuse all of them if any has an error (nothing is half-deployed); with `db`, processes
    already deployed count as the pack's too."""
    findings = [f for name, content in files for f in check(content, name, pack, db, files)]
    if findings:
        raise DefinitionRefused(findings)


def is_installed(db: Session, *, pack: str) -> bool:
    """Whether any version of any process of this pack is deployed in this database."""
    return db.scalar(select(ProcessDefinition.id).where(ProcessDefinition.pack == pack).limit(1)) is not None


def install_pack(db: Session, *, pack: Pack, installed_by: str) -> list[ProcessDefinition]:
    """The first deploy of a pack into a database that has none of it (a new install, the demo, a
    test's fixture): every diagram from the pack's files, checked first. From then on the database
    is the truth, changed by process owners (policy_changes.deploy_pack_files, the web); a second
    install changes nothing."""
    from workflows.definitions import pack_versions  # pack.toml and the letters, versioned beside the diagrams
    if pack_versions.newest(db, pack=pack.key) is None:  # also a database from before settings had versions
        _, source = read_pack_files(pack.key, pack.directory.parent)
        pack_versions.deploy(db, pack_key=pack.key, source=source, deployed_by=installed_by,
                             change_note="installed from the pack's files", from_pack_files=True)
    if is_installed(db, pack=pack.key):
        return []
    files = pack_files(pack)
    check_files(files, pack, db)
    audit.record(db, actor=installed_by, action="pack_installed", pack=pack.key, files=[name for name, _ in files])
    return [d for name, content in files
            for d in deploy_file(db, pack=pack, content=content, filename=name, deployed_by=installed_by,
                                 from_pack_files=True)]


def latest(db: Session, *, pack: str, process_id: str) -> ProcessDefinition | None:
    """The newest deployed version of a process."""
    newest = newest_versions(db, pack=pack).get(process_id)
    if newest is None:
        return None
    with db.no_autoflush:  # usually already in the session: the version the step's own case runs
        return db.get(ProcessDefinition, newest[0])


_NEWEST = "newest_versions"  # session.info: pack -> (the transaction that read them, what it read)
_NEWEST_QUERY = None


def newest_versions(db: Session, *, pack: str) -> dict[str, tuple[int, str]]:
    """process id -> (id, content hash) of the newest version of each of a pack's processes. Read
    once per transaction: a step asks for it to start its next case and again for each letter's
    labels, and only a deployment, in this transaction (which forgets it) or in another one (seen
    by the next transaction), adds a version."""
    global _NEWEST_QUERY
    memo = db.info.setdefault(_NEWEST, {})
    held = memo.get(pack)
    if held is not None and held[0] is db.get_transaction():
        return held[1]
    if _NEWEST_QUERY is None:  # built once: building a statement costs more Python than running it
        p = ProcessDefinition
        top = (select(p.process_id, func.max(p.version).label("v")).where(p.pack == bindparam("pack"))
               .group_by(p.process_id).subquery())
        _NEWEST_QUERY = (select(p.id, p.process_id, p.content_hash)
                         .join(top, (p.process_id == top.c.process_id) & (p.version == top.c.v))
                         .where(p.pack == bindparam("pack")).order_by(p.process_id))
    with db.no_autoflush:  # a step's pending changes cannot alter which version is newest
        found = {row.process_id: (row.id, row.content_hash) for row in db.execute(_NEWEST_QUERY, {"pack": pack})}
    memo[pack] = (db.get_transaction(), found)
    return found


@orm_events.listens_for(Session, "after_soft_rollback")
def _forget_newest(session, _rolled_back):
    """A rolled-back savepoint may have deployed a version newest_versions has read: read again."""
    session.info.pop(_NEWEST, None)


def versions(db: Session, *, pack: str) -> list[tuple[ProcessDefinition, int]]:
    """Every deployed version of every process in a pack, with its count of running cases."""
    running = (select(Case.definition_id, func.count().label("n")).where(Case.status == CaseStatus.RUNNING)
               .group_by(Case.definition_id).subquery())
    rows = db.execute(select(ProcessDefinition, func.coalesce(running.c.n, 0))
                      .outerjoin(running, running.c.definition_id == ProcessDefinition.id)
                      .where(ProcessDefinition.pack == pack)
                      .order_by(ProcessDefinition.process_id, ProcessDefinition.version))
    return [(d, n) for d, n in rows]


_labels: dict = {}  # (field id, newest versions) -> option labels (option_labels)
_parsed: dict[tuple[int, str], tuple] = {}


def spec_for(definition: ProcessDefinition):
    """The parsed spec of a deployed version, parsed once per process and version, then cached."""
    key = (definition.id, definition.content_hash)
    if key not in _parsed:
        specs, subprocess_specs = spiff.parse_processes(spiff.safe_xml(definition.bpmn_xml), definition.filename)
        _parsed[key] = (specs[definition.process_id], subprocess_specs)
    return _parsed[key]


def _form_fields(db: Session, versions):
    """Every form field the given newest versions ask, process by process (subprocesses too)."""
    for definition_id, _ in versions:
        with db.no_autoflush:  # a deployed version (its row, its deferred diagram) is never a step's pending row
            spec, subprocesses = spec_for(db.get(ProcessDefinition, definition_id))
        for process in (spec, *subprocesses.values()):
            for task_spec in process.task_specs.values():
                form = getattr(task_spec, "form", None)
                yield from (form.fields if form else [])


def form_field(db: Session, *, pack: str, field_id: str):
    """The form field of this id in the newest version of the pack's processes (its label and type,
    as a person is asked it), or None when no form asks it."""
    return next((f for f in _form_fields(db, newest_versions(db, pack=pack).values()) if f.id == field_id), None)


def option_labels(db: Session, *, pack: str, field_id: str) -> dict[str, str]:
    """What the pack's diagrams call each option of a form field (an alert's `level` or
    `marker_code`: "Level 2: medium risk"), from the newest version of each process; a code no
    form offers has no label, and is shown as it is. Worked out once per set of newest versions
    (asked at every change to a marker, every letter and some pages): after that, newest_versions's one
    small query a transaction."""
    versions = tuple(newest_versions(db, pack=pack).values())  # in process id order
    key = (field_id, versions)
    if key not in _labels:
        labels = {}
        for field in _form_fields(db, versions):
            if field.id == field_id and field.type == "enum":
                for option in field.options:
                    labels.setdefault(option.id, option.name or option.id)
        _labels[key] = labels
    return dict(_labels[key])

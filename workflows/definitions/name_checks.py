"""Checks of the names a diagram uses across the pack, run with the rest of the lint before deploying:
  - `schedule_review`'s process, and pack.toml's `[requests]` processes, are processes of the pack
    (in its diagrams, being deployed with them, or already deployed);
  - a letter or note template (`issue_letter`, `add_templated_note`) reads only `$fields` the case
    has on every path that reaches the step: the facts every case starts with, the form answers
    and action results of the steps on that path, and what the register gives every letter;
  - `assigneeField`, `mustOutrank` (and its `<field>_role`) and `mustDiffer` name fields set on every
    path before the step;
  - no form field takes the name of a register fact (`review_date`, `alert_id`, ...): the register's
    value would win in a letter, or the answer would overwrite what the case knows of its alert;
  - durations (timers, dueIn, pack.toml's) are ISO 8601 (P6M, P14D), not only what SpiffWorkflow reads;
  - a condition comparing `category` with a name (`category == 'rpo'`, `category in [...]`) names
    a category of pack.toml: a category renamed or removed would send its cases down the default path.
Every message names the element (its name, then its id) and lists the names that are valid there.
"""
import ast
import re

from sqlalchemy import select

from workflows.cases.actions import ACTIONS, REGISTER_CODES
from workflows.definitions import spiff
from workflows.definitions.pack import Pack
from workflows.platform import clock

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
TEMPLATED = ("issue_letter", "add_templated_note")
# what actions.letter_fields gives every letter and note from the register, whatever the case data says
LETTER_REGISTER_FIELDS = ("customer_name", "customer_address", "customer_reference", "pack_name", "category",
                          "marker_text", "control_measures", "decided_by_role", "today", "review_date",
                          "alert_reference", *REGISTER_CODES)
# set by the engine when a step is completed (engine.complete_task), not when a case starts
AFTER_DECISION = ("last_decision_by", "last_decision_role", "last_decision_at")  # a decision=true step
AFTER_FORM = ("form_answers",)  # any user task
APPEAL_STARTS = ("original_decider", "original_decider_role", "appeal_grounds", "appealed_decision_no")
REQUEST_STARTS = ("request", "request_details", "letters_issued", "non_disclosures_recorded", "marker_active")
# register facts a form may answer on purpose: the marker actions put the answer on the register
# (a decision's wording and measures, a review's new level or code), so letters read the answer
ANSWERABLE = ("marker_text", "control_measures", *REGISTER_CODES)
_NOT_NODES = {"sequenceFlow", "laneSet", "lane", "extensionElements", "documentation", "incoming", "outgoing",
              "dataObject", "dataObjectReference", "dataStoreReference", "textAnnotation", "association",
              "ioSpecification", "property"}


def check(root, filename: str, pack: Pack, add, db=None, together=None) -> None:
    """Run every name check on one BPMN document. `add(element, message, file=None)` records a finding
    (`file` for one about another file, pack.toml); `db`, when given, adds the processes deployed;
    `together`, the diagram files deployed with it (default: the pack folder's)."""
    processes = pack_processes(pack, root, db, together)
    _check_requests(pack, processes, add)
    _check_category_processes(pack, processes, add)
    for process in root.iterfind("bpmn:process", NS):
        graph = _Flow(process, pack)
        for task in process.iterfind("bpmn:serviceTask", NS):
            if task.get(f"{{{CAMUNDA}}}topic") == "schedule_review":
                _check_scheduled_process(task, processes, add)
            elif task.get(f"{{{CAMUNDA}}}topic") in TEMPLATED:
                _check_template(graph, task, pack, add)
        for task in process.iterfind("bpmn:userTask", NS):
            _check_people_fields(graph, task, add)
        _check_shadowing(process, pack, add)
        _check_category_conditions(process, pack, add)
    _check_durations(root, pack, add)


def pack_processes(pack: Pack, root, db=None, together=None) -> set[str]:
    """The processes a diagram may name: those of this document, of the diagram files deployed with
    it (`together`, (name, content); by default the pack folder's, as `pack deploy` deploys them),
    and, given a database, those already deployed."""
    found = {p.get("id") for p in root.iterfind("bpmn:process", NS)}
    for content in ([c for _, c in together] if together is not None else _folder_diagrams(pack)):
        try:
            found |= {p.get("id") for p in spiff.safe_xml(content).iterfind("bpmn:process", NS)}
        except (spiff.XmlRefused, ValueError):
            continue  # that file's own check says what is wrong with it
    if db is not None:
        from workflows.platform.models import ProcessDefinition
        found |= set(db.scalars(select(ProcessDefinition.process_id).where(ProcessDefinition.pack == pack.key)))
    return {p for p in found if p}


def _folder_diagrams(pack: Pack):
    for path in pack.bpmn_files():
        try:
            yield path.read_bytes()
        except OSError:
            continue


def _check_requests(pack, processes, add) -> None:
    for request in pack.requests.values():
        if request.process not in processes:
            add(f"[requests.{request.key}]",
                f"request '{request.label}' ({request.key}) starts the process '{request.process}', which is "
                f"neither in the pack's diagrams nor deployed (the pack's processes: {_listed(processes)})",
                str(pack.directory / "pack.toml"))


def _check_category_processes(pack, processes, add) -> None:
    for category in pack.categories.values():
        for named, what in ((category.assessment_process, "assessed"), (category.review_process, "reviewed")):
            if named and named not in processes:
                add(f"[categories.{category.key}]",
                    f"category '{category.label}' ({category.key}) is {what} by the process '{named}', which is "
                    f"neither in the pack's diagrams nor deployed (the pack's processes: {_listed(processes)})",
                    str(pack.directory / "pack.toml"))


def _check_scheduled_process(task, processes, add) -> None:
    named = _properties(task).get("process")
    if named and named not in processes:
        add(task.get("id"), f"schedule_review names the process '{named}', which is neither in "
                            f"the pack's diagrams nor deployed (the pack's processes: {_listed(processes)})")


def _check_template(graph, task, pack, add) -> None:
    key = _properties(task).get("template")
    if key not in pack.letters:
        return  # the lint names an unknown template already
    known = graph.known_before(task.get("id")) | set(LETTER_REGISTER_FIELDS)
    letter = pack.letters[key]
    for field in sorted(set(letter.body.get_identifiers()) - known):
        line = letter.line_of(field)
        where = f" ({letter.file} line {line})" if letter.file and line else ""
        add(task.get("id"), f"{task.get(f'{{{CAMUNDA}}}topic')}: template '{key}' "
                            f"({letter.title}) reads ${field}, {graph.missing(task.get('id'), field)}. "
                            f"The fields it may read here: {_listed(known)}{where}")


def _check_people_fields(graph, task, add) -> None:
    props = _properties(task)
    known = graph.known_before(task.get("id"))
    named = [("assigneeField", props.get("assigneeField")), ("mustOutrank", props.get("mustOutrank"))]
    if props.get("mustOutrank"):
        named.append(("mustOutrank", f"{props['mustOutrank']}_role"))  # the role they acted in
    named += [("mustDiffer", n.strip()) for n in (props.get("mustDiffer") or "").split(",") if n.strip()]
    for setting, field in named:
        # a name no case of any kind is given is the lint's own finding ("which no form field or case
        # variable provides"); one only another kind of case starts with (an appeal's original_decider
        # on a review's step) would stop the step at run time, so it is named here
        if field and field not in known and (graph.set_anywhere(field) or graph.other_cases_start_with(field)
                                             or field in AFTER_DECISION):
            add(task.get("id"), f"{setting} names '{field}', "
                                f"{graph.missing(task.get('id'), field)}. The fields set before it on every "
                                f"path: {_listed(known)}")


def _check_shadowing(process, pack, add) -> None:
    protected = protected_names(pack)
    for task in process.iter(f"{{{BPMN}}}userTask"):
        for field in task.iterfind(".//camunda:formField", NS):
            if field.get("id") in protected:
                add(task.get("id"), f"form field '{field.get('id')}' has the name of "
                                    f"a register fact the case already knows, {protected[field.get('id')]}: give "
                                    f"the answer its own name (e.g. '{field.get('id')}_answer'). Names a form may not "
                                    f"take: {_listed(protected)}")


def _check_durations(root, pack, add) -> None:
    """Durations SpiffWorkflow reads that are not ISO 8601 ("6m", "p14d"): the lint asks for the
    form a process owner reads everywhere else. (What no parser reads, the lint refuses already,
    naming the ISO 8601 form: clock.not_a_duration.)"""
    for event in root.iterfind(".//bpmn:timerEventDefinition", NS):
        for child in event.iterfind("bpmn:timeDuration", NS):
            text = (child.text or "").strip()
            if re.fullmatch(r"'?[A-Za-z0-9.,]+'?", text):  # written as a duration, not an expression
                problem = _loose_duration(text.strip("'"))
                if problem:
                    parent = event.getparent()
                    add(event.get("id") or parent.get("id"), f"timeDuration of timer {_called(parent)}: {problem}")
    for task in root.iter(f"{{{BPMN}}}userTask"):
        problem = _loose_duration(_properties(task).get("dueIn"))
        if problem:
            add(task.get("id"), f"dueIn: {problem}")
    settings = {"[pack] appeal_within": pack.appeal_within,
                "[registers] tell_tenant_within": pack.registers.tell_tenant_within,
                "[registers] retain_closed_for": pack.registers.retain_closed_for,
                "[registers] retain_drafts_for": pack.registers.retain_drafts_for,
                "[notifications] remind_before": pack.notifications.remind_before,
                "[notifications] escalate_after": pack.notifications.escalate_after,
                "[housing_system] due_within": pack.housing_system.due_within if pack.housing_system else None}
    for setting, value in settings.items():
        problem = _loose_duration(value)
        if problem:
            add(setting, problem, str(pack.directory / "pack.toml"))


def _loose_duration(value) -> str | None:
    """What is wrong with a duration the engine reads but ISO 8601 does not allow; None if it is fine
    (or if no parser reads it: the checks that parse it say so)."""
    if not value or clock.ISO_DURATION.fullmatch(value.strip()):
        return None
    try:
        clock.duration_after(clock.now(), value)
    except ValueError:
        return None
    return clock.not_a_duration(value)


def start_facts(pack: Pack, process_id: str) -> set[str]:
    """What a case of this process starts with: the alert's facts (engine.alert_data), and by kind of
    case what starts it gives: an appeal (engine.start_appeal), a request (customer_requests), a
    review (what the case before carried, `review_carries`); the assessment, its description."""
    from workflows.definitions.deployment import ENGINE_VARIABLES  # deployment imports this module
    by_kind = set(APPEAL_STARTS) | set(REQUEST_STARTS)
    facts = set(pack.start_variables) | (set(ENGINE_VARIABLES) - by_kind - set(AFTER_DECISION) - set(AFTER_FORM)) \
        | pack.marker_field_names()  # [marker_fields]: every case of a marker starts with them
    if process_id in pack.appeal_processes:
        return facts | set(APPEAL_STARTS)
    if process_id in {r.process for r in pack.requests.values()}:
        return facts | set(REQUEST_STARTS)
    if process_id not in pack.assessment_processes:  # a review, started by schedule_review
        return facts | set(pack.review_carries)
    return facts


def protected_names(pack: Pack) -> dict[str, str]:
    """The names a form field may not take, with why: what every letter reads from the register (the
    register's value wins there, so a letter would not say what was answered), and what the engine
    gives a case (an answer would overwrite it). Forms may answer marker_text, control_measures,
    level and marker_code: the marker actions put those answers on the register."""
    from workflows.definitions.deployment import ENGINE_VARIABLES  # deployment imports this module
    names = {n: "which every letter reads from the register, not from this answer" for n in LETTER_REGISTER_FIELDS}
    names.update({n: "which the engine sets as the case starts or runs" for n in
                  (*pack.start_variables, *ENGINE_VARIABLES, "decision_no") if n not in names})
    return {n: why for n, why in names.items() if n not in ANSWERABLE}


def _check_category_conditions(process, pack, add) -> None:
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        condition = flow.find("bpmn:conditionExpression", NS)
        unknown = [name for name in categories_named((condition.text or "") if condition is not None else "")
                   if name not in pack.categories]
        for name in dict.fromkeys(unknown):
            add(flow.get("id"), f"the condition names the category '{name}', which pack.toml does not define "
                      f"(its categories: {_listed(pack.categories)})")


def categories_named(expression: str) -> list[str]:
    """The names a condition compares `category` with: `category == 'rpo'`, `'rpo' != category`,
    `category in ['rpo', 'partner_info']`. Anything else (or an expression that does not parse,
    which the expression check reports) names none."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if not any(isinstance(side, ast.Name) and side.id == "category" for side in sides):
            continue
        for side in sides:
            values = side.elts if isinstance(side, (ast.List, ast.Tuple, ast.Set)) else [side]
            names += [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return names


def _listed(names) -> str:
    return ", ".join(sorted(names)) or "none"


def _called(element) -> str:
    """An element as a process owner sees it in the modeler: its name, then its id."""
    name = (element.get("name") or "").strip()
    return f"'{name}' ({element.get('id')})" if name else f"'{element.get('id')}'"


def _properties(element) -> dict:
    return {p.get("name"): p.get("value")
            for p in element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS)}


class _Flow:
    """Which case-data names are set on every path to each node of one process (a must-analysis:
    the names a node knows are those all the paths reaching it set), and a path that misses one.

    A path is followed with what its gateway conditions said (`category == 'rpo'` one way, not so
    the default way), so two gateways asking the same question cannot make a path no case takes:
    the analysis runs over (node, what the conditions taken so far say) pairs."""

    MAX_STATES = 64  # per node; past it, a path's conditions are forgotten (more paths, never fewer)

    def __init__(self, process, pack: Pack):
        self.nodes = {e.get("id"): e for e in process
                      if isinstance(e.tag, str) and e.get("id") and _tag(e) not in _NOT_NODES}
        self.pack = pack
        self.sets = {n: _sets(e) for n, e in self.nodes.items()}
        self.start_facts = start_facts(pack, process.get("id"))
        self.edges = _edges(process)  # node -> [(next, passing on sets what the node sets, conditions)]
        starts = [n for n, e in self.nodes.items() if _tag(e) == "startEvent" or
                  (_tag(e) == "boundaryEvent" and not any(t == n for es in self.edges.values() for t, _, _ in es))]
        self.starts = {(n, frozenset()) for n in starts}
        self.before = self._explore()
        self.known = self._solve()

    def _explore(self) -> dict:
        """The (node, conditions) pairs a case can reach, each with the pairs leading to it."""
        before, seen, todo, per_node = {}, set(self.starts), list(self.starts), {}
        while todo:
            node, said = todo.pop()
            for target, sets, facts in self.edges.get(node, []):
                kept = frozenset(f for f in said if not (sets and f[0] in self.sets.get(node, ())))
                now = _combined(kept, facts)
                if now is None:
                    continue  # the conditions taken so far rule this flow out
                if (target, now) not in seen and per_node.get(target, 0) >= self.MAX_STATES:
                    now = frozenset()
                pair = (target, now)
                before.setdefault(pair, set()).add(((node, said), sets))
                if pair not in seen:
                    seen.add(pair)
                    per_node[target] = per_node.get(target, 0) + 1
                    todo.append(pair)
        return before

    def _solve(self) -> dict:
        pairs = set(self.starts) | set(self.before)
        everything = self.start_facts | {n for names in self.sets.values() for n in names}
        known = {p: (set(self.start_facts) if p in self.starts else set(everything)) for p in pairs}
        changed = True
        while changed:  # names only ever drop out, so this ends
            changed = False
            for pair in pairs:
                if pair in self.starts:
                    continue
                incoming = [known[s] | (self.sets[s[0]] if sets else set()) for s, sets in self.before[pair]]
                now = set.intersection(*incoming)
                if now != known[pair]:
                    known[pair], changed = now, True
        return known

    def known_before(self, node) -> set:
        states = [names for (n, _), names in self.known.items() if n == node]
        return set.intersection(*states) if states else set(self.start_facts)  # unreachable: the lint says so

    def set_anywhere(self, name) -> bool:
        return name in self.start_facts or any(name in names for names in self.sets.values())

    def other_cases_start_with(self, name) -> str | None:
        """Which other kind of case starts knowing `name` though this process's cases do not, in words."""
        if name in self.start_facts:
            return None
        kinds = {"an appeal's case": APPEAL_STARTS, "a request's case": REQUEST_STARTS,
                 "a review's case": self.pack.review_carries}
        return next((kind for kind, names in kinds.items() if name in names), None)

    def missing(self, node, name) -> str:
        """Why `name` may be missing at `node`: a path that does not set it, and the steps that do."""
        setters = [n for n, names in self.sets.items() if name in names]
        if not setters and self.other_cases_start_with(name):
            return (f"which no step of this process sets and its cases do not start with (only "
                    f"{self.other_cases_start_with(name)} does)")
        if not setters and name in AFTER_DECISION:
            return "which only a step with decision=true sets, and this process has none"
        if not setters:
            return ("which no step of this process sets and no case starts with (not a form field, an action's "
                    "result or a register fact)")
        path = self._path_without(node, name)
        route = " → ".join(_called(self.nodes[n]) for n in path) if path else "some path"
        return (f"which the path {route} does not set before it: it is set only by "
                f"{' / '.join(_called(self.nodes[n]) for n in setters)}")

    def _path_without(self, node, name) -> list[str]:
        """A path a case can take from a start to `node` passing no step that sets `name`."""
        ends = [p for p, names in self.known.items() if p[0] == node and name not in names]
        came_from, todo = {p: None for p in ends}, list(ends)
        while todo:
            current = todo.pop(0)
            if current in self.starts:
                path = [current]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return [n for n, _ in path]
            for source, sets in sorted(self.before.get(current, ()), key=repr):
                if source not in came_from and (not sets or name not in self.sets.get(source[0], ())) \
                        and name not in self.known.get(source, ()):
                    came_from[source] = current
                    todo.append(source)
        return []


def _edges(process) -> dict:
    """node -> [(next node, whether passing on sets what the node sets, what the flow's condition says)].
    A default flow says that none of the other flows' conditions held."""
    flows = list(process.iterfind("bpmn:sequenceFlow", NS))
    said = {f.get("id"): _condition_facts(f) for f in flows}
    defaults = {e.get("default") for e in process if isinstance(e.tag, str) and e.get("default")}
    edges = {}
    for flow in flows:
        facts = said[flow.get("id")]
        if flow.get("id") in defaults:
            siblings = [f for f in flows if f.get("sourceRef") == flow.get("sourceRef") and f is not flow]
            facts = [fact for f in siblings for fact in _condition_facts(f, holds=False)]
        edges.setdefault(flow.get("sourceRef"), []).append((flow.get("targetRef"), True, tuple(facts)))
    for event in process.iterfind("bpmn:boundaryEvent", NS):  # cuts the step short: its form is not done
        edges.setdefault(event.get("attachedToRef"), []).append((event.get("id"), False, ()))
    return edges


def _condition_facts(flow, holds=True) -> list:
    """What a flow's condition says of single names when it holds (or, `holds=False`, when it does not):
    [(name, "in" or "not in", values)]; what it cannot say so simply, it leaves out."""
    condition = flow.find("bpmn:conditionExpression", NS)
    if condition is None or not (condition.text or "").strip():
        return []
    try:
        tree = ast.parse(condition.text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return []  # the lint refuses it
    return _facts(tree, holds)


def _facts(node, holds) -> list:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _facts(node.operand, not holds)
    if isinstance(node, ast.BoolOp):  # a and b holding, or a or b not holding: each part says its own
        if isinstance(node.op, ast.And) == holds:
            return [f for part in node.values for f in _facts(part, holds)]
        return []
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.left, ast.Name):
        op, right = node.ops[0], node.comparators[0]
        if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(right, ast.Constant):
            values, inside = frozenset([right.value]), isinstance(op, ast.Eq)
        elif isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.List, ast.Tuple, ast.Set)) \
                and all(isinstance(e, ast.Constant) for e in right.elts):
            values, inside = frozenset(e.value for e in right.elts), isinstance(op, ast.In)
        else:
            return []
        try:
            hash(values)
        except TypeError:
            return []
        return [(node.left.id, "in" if inside == holds else "not in", values)]
    return []


def _combined(said: frozenset, facts) -> frozenset | None:
    """What is known after also taking a flow saying `facts`; None if they contradict each other."""
    together = frozenset(said) | frozenset(facts)
    for name in {f[0] for f in together}:
        allowed = None
        for _, kind, values in (f for f in together if f[0] == name and f[1] == "in"):
            allowed = values if allowed is None else allowed & values
        if allowed is not None:
            for _, kind, values in (f for f in together if f[0] == name and f[1] == "not in"):
                allowed = allowed - values
            if not allowed:
                return None
    return together


def _sets(element) -> set:
    """The case-data names completing or running this node sets."""
    tag = _tag(element)
    if tag == "userTask":
        names = set(AFTER_FORM)
        for field in element.iterfind(".//camunda:formField", NS):
            names.add(field.get("id"))
            if field.get("type") == "enum":
                names.add(f"{field.get('id')}_labels")  # its options' names (forms.option_labels)
        if _properties(element).get("decision") == "true":
            names |= set(AFTER_DECISION)
        return names
    if tag == "serviceTask":
        action = ACTIONS.get(element.get(f"{{{CAMUNDA}}}topic") or "")
        return set(action.writes) if action else set()
    return set()


def _tag(element) -> str:
    return element.tag.split("}")[-1] if isinstance(element.tag, str) else ""

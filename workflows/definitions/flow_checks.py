"""Checks on the shape of a diagram, run with the rest of the lint before deploying:
elements no path reaches, exclusive gateways with no default flow, and the rules every
pack must keep wherever a marker is placed or kept:
  - every path on from it tells the tenant or records why not (issue_letter / record_non_disclosure);
  - every path on from it has a review ahead (schedule_review, or a timer in the same process);
  - every deciding task of the pack's appeal process carries mustOutrank;
  - no user task stands between a deciding task and the action that records its outcome, so the
    instruction to staff is live from the moment it is decided;
  - in a review (a process that can keep a marker), every path on from the deciding task passes a
    letter or a recorded reason (issue_letter / record_non_disclosure, or remove_marker, which records
    why): no review outcome closes with the tenant neither told nor the reason written down.
  - no letter is issued on a path after the case recorded that the tenant is not told
    (record_non_disclosure), until a new decision is taken: a notice to staff goes before that point.
  - a marker has exactly one waiting review: no path passes schedule_review twice, and no process
    that runs beside the waiting review (the pack's incident and appeal processes) schedules one.
"""
from workflows.definitions.pack import Pack

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
_NOT_NODES = {"sequenceFlow", "laneSet", "lane", "extensionElements", "documentation", "incoming",
              "outgoing", "dataObject", "dataObjectReference", "dataStoreReference", "textAnnotation",
              "association", "ioSpecification", "property"}
MARKER_STAYS = ("place_marker", "keep_marker")
TELLS = ("issue_letter", "record_non_disclosure")
REVIEWS = ("schedule_review",)
RECORDS_OUTCOME = ("place_marker", "keep_marker", "amend_marker", "remove_marker")
REASON_RECORDED = ("remove_marker",)  # a removal records its reason


def check_process(process, pack: Pack, add) -> None:
    """Run every shape check on one <bpmn:process>; `add(element_id, message)` records a finding."""
    graph = _Graph(process)
    for node_id in graph.unreachable():
        add(node_id, "unreachable: no path from a start event leads here")
    for gateway in process.iterfind("bpmn:exclusiveGateway", NS):
        outgoing = graph.successors.get(gateway.get("id"), [])
        if len(outgoing) > 1 and not gateway.get("default"):
            add(gateway.get("id"), f"exclusive gateway with {len(outgoing)} outgoing flows has no default flow: "
                                   f"a case matching no condition would stop here")
    # a process that assesses only markers on properties has no tenant to tell (a letter, if its
    # diagram sends one, goes to the occupier)
    on_places_only = process.get("id") in pack.property_processes
    for task in process.iterfind("bpmn:serviceTask", NS):
        if task.get(f"{{{CAMUNDA}}}topic") not in MARKER_STAYS:
            continue
        end = None if on_places_only else graph.path_avoiding(task.get("id"), graph.actions(TELLS))
        if end:
            add(task.get("id"), f"a path from here reaches '{end}' without telling the tenant or recording "
                                f"why not ({' / '.join(TELLS)})")
        end = graph.path_avoiding(task.get("id"), graph.actions(REVIEWS) | graph.timers())
        if end:
            add(task.get("id"), f"a path from here reaches '{end}' leaving the marker in place with no "
                                f"review ahead of it (schedule_review)")
    _check_outcome_recorded_at_the_decision(process, graph, add)
    if not on_places_only:
        _check_review_outcomes_told(process, graph, add)
    _check_no_letter_after_not_told(process, graph, pack, add)
    _check_one_waiting_review(process, graph, pack, add)
    if process.get("id") == pack.late_appeals and not graph.actions(("record_late_appeal_decision",)):
        add(process.get("id"), "this is the pack's late_appeals process, but no step records whether the late "
                               "appeal is heard: add a user task for the role that decides (a boolean field "
                               "hear_late_appeal and late_appeal_reasons) followed by the service task "
                               "record_late_appeal_decision")
    if process.get("id") in pack.appeal_processes:
        for task in process.iterfind("bpmn:userTask", NS):
            props = _properties(task)
            if props.get("decision") == "true" and not props.get("mustOutrank"):
                add(task.get("id"), "an appeal must be heard by someone more senior than the original "
                                    "decider: set the property mustOutrank (e.g. original_decider)")


def _check_outcome_recorded_at_the_decision(process, graph, add) -> None:
    decisions = {t.get("id") for t in process.iterfind("bpmn:userTask", NS) if _properties(t).get("decision") == "true"}
    outcomes = graph.actions(RECORDS_OUTCOME)
    found = {}  # user task in between -> (the decisions before it, the action after it)
    for decision in sorted(decisions):
        for between in graph.reachable(decision, stops=outcomes | decisions):
            if graph._tag(between) != "userTask" or between in decisions:
                continue
            outcome = graph.first_of(between, outcomes, stops=decisions)
            if outcome:
                found.setdefault(between, ([], outcome))[0].append(decision)
    for between, (before, outcome) in sorted(found.items()):
        add(between, f"user task '{between}' stands between the decision "
                     f"{' / '.join(repr(d) for d in before)} and '{outcome}', which records it: staff would "
                     f"not see the decision until '{between}' is done. Record the outcome straight after the "
                     f"decision; the step of putting it on the housing system now comes from pack.toml "
                     f"[housing_system]")


def _check_review_outcomes_told(process, graph, add) -> None:
    """Every path on from a review's deciding task tells the tenant or records why not; a removal
    counts, as remove_marker records its reason. Catches an outcome (a changed level, a "no change"
    branch) that closes the review with neither a letter nor a recorded reason."""
    if not graph.actions(("keep_marker",)):
        return  # not a review: only a review keeps a marker
    recorded = graph.actions(TELLS + REASON_RECORDED)
    for task in process.iterfind("bpmn:userTask", NS):
        if _properties(task).get("decision") != "true":
            continue
        # what follows the decision made (its sequence flows), not a boundary event cutting it short
        after = [n for n in graph.flow_targets.get(task.get("id"), []) if n not in recorded]
        end = next((e for e in (n if not graph.successors.get(n) else graph.path_avoiding(n, recorded)
                                for n in after) if e), None)
        if end:
            add(task.get("id"), f"a review outcome path from '{task.get('id')}' reaches '{end}' with no letter to "
                                f"the tenant and no recorded reason ({' / '.join(TELLS + REASON_RECORDED)})")


def _check_no_letter_after_not_told(process, graph, pack, add) -> None:
    """A tenant recorded as not told must not then get a letter telling them: every issue_letter a
    record_non_disclosure leads to, before a new decision (a deciding user task) is taken, is a finding,
    unless the letter goes to someone other than the tenant (`to_tenant = false`)."""
    notices = set(pack.notices())
    decisions = {t.get("id") for t in process.iterfind("bpmn:userTask", NS) if _properties(t).get("decision") == "true"}
    letters = {t.get("id"): _properties(t).get("template") for t in process.iterfind("bpmn:serviceTask", NS)
               if t.get(f"{{{CAMUNDA}}}topic") == "issue_letter"}
    found = {}
    for not_told in sorted(graph.actions(("record_non_disclosure",))):
        for node in graph.reachable(not_told, stops=decisions):
            if node in letters and letters[node] not in notices:
                found.setdefault(node, not_told)
    for letter, not_told in sorted(found.items()):
        add(letter, f"issues the letter '{letters[letter]}' on a path after '{not_told}' recorded that the "
                    f"tenant is not told: a tenant deliberately not told would receive it. Send the path that "
                    f"does not tell round the letter, or, if it goes to someone other than the tenant, say so "
                    f"with to_tenant = false in its [letters.{letters[letter]}] in pack.toml")


def _check_one_waiting_review(process, graph, pack, add) -> None:
    """A marker has one review case waiting (the engine refuses a second): a diagram that could
    schedule a second is refused here, before any case reaches it. Only the assessment (before any
    review exists) and a review scheduling its own next period (continue-as-new, as it ends) may
    schedule one; every other process (an appeal, a linked incident, a request) runs beside the
    waiting review and moves it instead."""
    process_id = process.get("id")
    schedules = graph.actions(REVIEWS)
    beside = ("an appeal" if process_id in pack.appeal_processes
              else "a linked incident" if process_id == pack.incident_process else None)
    for task in sorted(schedules):
        schedules_itself = _properties(graph.nodes[task]).get("process") == process_id
        if process_id not in pack.assessment_processes and not schedules_itself:
            what = f"the process for {beside}" if beside else f"'{process_id}'"
            add(task, f"schedule_review in {what}, which runs while the marker's review waits: it would leave "
                      f"the marker with two waiting reviews; move the waiting one with reschedule_review or "
                      f"start_review_now (only the assessment, and a review scheduling its own next period, "
                      f"schedule a review)")
            continue
        again = graph.first_of(task, schedules, stops=set())
        if again:
            add(task, f"a path from here passes '{again}', another schedule_review: it could leave the marker "
                      f"with two waiting reviews; schedule the review once on every path")


def _properties(element) -> dict:
    return {p.get("name"): p.get("value")
            for p in element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS)}


class _Graph:
    def __init__(self, process):
        self.nodes = {}
        for element in process:
            tag = element.tag.split("}")[-1] if isinstance(element.tag, str) else ""
            if element.get("id") and tag not in _NOT_NODES:
                self.nodes[element.get("id")] = element
        self.successors = {}
        for flow in process.iterfind("bpmn:sequenceFlow", NS):
            self.successors.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
        self.flow_targets = {k: list(v) for k, v in self.successors.items()}  # sequence flows only
        for event in process.iterfind("bpmn:boundaryEvent", NS):
            self.successors.setdefault(event.get("attachedToRef"), []).append(event.get("id"))
        self.has_incoming = {t for targets in self.successors.values() for t in targets}

    def _tag(self, node_id):
        return self.nodes[node_id].tag.split("}")[-1] if node_id in self.nodes else ""

    def starts(self):
        return [n for n in self.nodes if self._tag(n) == "startEvent" or
                (n not in self.has_incoming and self._tag(n) == "boundaryEvent")]

    def unreachable(self):
        seen, todo = set(), list(self.starts())
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(self.successors.get(node, []))
        return [n for n in self.nodes if n not in seen and self._tag(n) != "boundaryEvent"]

    def actions(self, names):
        return {n for n, e in self.nodes.items() if e.get(f"{{{CAMUNDA}}}topic") in names}

    def timers(self):
        return {n for n, e in self.nodes.items() if e.find("bpmn:timerEventDefinition", NS) is not None}

    def reachable(self, start, stops):
        """Every node reachable from `start` (after it), not going on past a node in `stops`."""
        seen, todo = set(), list(self.successors.get(start, []))
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            if node not in stops:
                todo.extend(self.successors.get(node, []))
        return seen

    def first_of(self, start, targets, stops):
        """A node of `targets` reachable from `start` without passing a node in `stops`, or None."""
        return next((n for n in sorted(self.reachable(start, stops | targets)) if n in targets), None)

    def path_avoiding(self, start, stops):
        """The first end reachable from `start` without passing a node in `stops`, or None."""
        seen, todo = set(), list(self.successors.get(start, []))
        while todo:
            node = todo.pop()
            if node in seen or node in stops:
                continue
            seen.add(node)
            following = self.successors.get(node, [])
            if not following:
                return node
            todo.extend(following)
        return None


def warnings_for(process, add) -> None:
    """What deploys but is best done otherwise; `add(element_id, message)` records a warning.
    A loop of user tasks inside one case (a flow back to a step already done) keeps one case
    running for ever, its steps and history piling up and a migration harder each time round:
    a repeating step is better a continuation, the case ending and starting the next one."""
    graph = _Graph(process)
    human = [n for n in graph.nodes if graph._tag(n) in ("userTask", "manualTask")]
    on_loop = {n: graph.reachable(n, set()) for n in human}
    reported = set()
    for node in human:
        if node not in on_loop[node] or node in reported:
            continue
        loop = [n for n in human if n in on_loop[node] and node in on_loop[n]]
        reported.update(loop)
        names = [graph.nodes[n].get("name") or n for n in loop]
        add(node, "a path from here leads back to "
                  + (f"it (with {', '.join(repr(n) for n in names[1:])}) " if len(names) > 1 else "it ")
                  + "within one case, so a case of this process could run round and round for ever; "
                    "use a review-style continuation instead: end the case and start the next one "
                    "(schedule_review, as a review schedules the next review)")

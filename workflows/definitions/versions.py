"""Versions of a process: what changed between two of them, and moving waiting cases from an
older version onto a newer one (a dry run first, then the move, audited per case)."""
from dataclasses import dataclass, field as dataclass_field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, undefer

from workflows.definitions import deployment, spiff
from workflows.cases import engine
from workflows.platform.errors import NotFound
from workflows.platform.models import Case, CaseStatus, ProcessDefinition
from workflows.definitions.pack import Pack

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"


def version(db: Session, *, pack: Pack, process_id: str, number: int | None = None) -> ProcessDefinition:
    """One deployed version (the newest when no number is given)."""
    if number is None:
        found = deployment.latest(db, pack=pack.key, process_id=process_id)
    else:
        found = db.scalar(select(ProcessDefinition).where(
            ProcessDefinition.pack == pack.key, ProcessDefinition.process_id == process_id,
            ProcessDefinition.version == number))
    if found is None:
        raise NotFound(f"process '{process_id}' has no version {number or ''}".rstrip())
    return found


def describe_changes(old_xml: str, new_xml: str) -> list[str]:
    """Elements added, removed and changed between two diagrams, with the changes spelled out."""
    old, new = _elements(old_xml), _elements(new_xml)
    lines = []
    for element_id in sorted(new.keys() - old.keys()):
        lines.append(f"added {new[element_id]['kind']} '{element_id}' ({new[element_id]['name']})")
    for element_id in sorted(old.keys() - new.keys()):
        lines.append(f"removed {old[element_id]['kind']} '{element_id}' ({old[element_id]['name']})")
    for element_id in sorted(old.keys() & new.keys()):
        for aspect in sorted(old[element_id].keys() | new[element_id].keys()):
            before, after = old[element_id].get(aspect), new[element_id].get(aspect)
            if before != after:
                lines.append(f"changed '{element_id}' {aspect}: {_show(before)} -> {_show(after)}")
    return lines


def _show(value):
    return "(none)" if value in (None, "", {}, []) else str(value)


def _elements(xml: str) -> dict:
    """Every element of every process, as the facts a process owner cares about."""
    root = spiff.safe_xml(xml)
    elements = {}
    for process in root.iterfind("bpmn:process", NS):
        lanes = {ref.text: lane.get("name") for lane in process.iterfind(".//bpmn:lane", NS)
                 for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
        for element in process.iter():
            element_id = element.get("id")
            if not element_id or not isinstance(element.tag, str) or element.tag.startswith(CAMUNDA):
                continue
            kind = element.tag.split("}")[-1]
            if kind in ("lane", "laneSet", "timerEventDefinition") or element is process:
                continue
            facts = {"kind": kind, "name": element.get("name") or ""}
            if element_id in lanes:
                facts["lane"] = lanes[element_id]
            if kind == "sequenceFlow":
                facts["from"], facts["to"] = element.get("sourceRef"), element.get("targetRef")
                condition = element.find("bpmn:conditionExpression", NS)
                facts["condition"] = (condition.text or "").strip() if condition is not None else None
            for timer in element.iterfind("bpmn:timerEventDefinition/*", NS):
                facts["timer"] = f"{timer.tag.split('}')[-1]} {(timer.text or '').strip()}"
            if element.get("default"):
                facts["default flow"] = element.get("default")
            if element.get(f"{CAMUNDA}topic"):
                facts["action"] = element.get(f"{CAMUNDA}topic")
            for prop in element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS):
                facts[f"property {prop.get('name')}"] = prop.get("value")
            for field in element.iterfind(".//camunda:formField", NS):
                facts[f"form field {field.get('id')}"] = _field_summary(field)
            elements[element_id] = facts
    return elements


def _field_summary(field) -> str:
    parts = [field.get("type") or "", repr(field.get("label") or "")]
    parts += [c.get("name") for c in field.iterfind("camunda:validation/camunda:constraint", NS)]
    parts += [f"{p.get('id')}={p.get('value')}" for p in field.iterfind("camunda:properties/camunda:property", NS)]
    options = [v.get("id") for v in field.iterfind("camunda:value", NS)]
    if options:
        parts.append("options " + "/".join(options))
    return " ".join(p for p in parts if p)


@dataclass
class Move:
    case_id: int
    alert_id: int
    from_version: int
    can_move: bool
    reason: str
    changes: list[str] = dataclass_field(default_factory=list)  # what would move for it (the dry run says)


def plan_migration(db: Session, *, pack: Pack, process_id: str, to_version: int | None = None) -> list[Move]:
    """Dry run: which running cases on other versions can move to the target, why not, and what
    would move for each (the same answer as `impact` gives before a deploy)."""
    target = version(db, pack=pack, process_id=process_id, number=to_version)
    spec, subprocess_specs = deployment.spec_for(target)
    moves = []
    for case in _cases_to_move(db, pack, process_id, target):
        problem, changes = engine.move_preview(case, pack=pack, new_spec=spec, new_subprocess_specs=subprocess_specs,
                                               target=f"version {target.version}")
        moves.append(Move(case.id, case.alert_id, case.definition.version, problem is None,
                          problem or "its waiting steps exist in the new version", changes))
    return moves


def migrate(db: Session, *, pack: Pack, process_id: str, actor: str, to_version: int | None = None) -> list[Move]:
    """Move every case that can move onto the target version; the others stay and say why."""
    target = version(db, pack=pack, process_id=process_id, number=to_version)
    moves = []
    for case in _cases_to_move(db, pack, process_id, target):
        move = _check(case, target)
        if move.can_move:
            engine.move_case(db, pack=pack, case_id=case.id, definition=target, actor=actor)
        moves.append(move)
    return moves


def _cases_to_move(db, pack, process_id, target) -> list[Case]:
    return list(db.scalars(select(Case).join(ProcessDefinition).where(
        ProcessDefinition.pack == pack.key, ProcessDefinition.process_id == process_id,
        ProcessDefinition.id != target.id, Case.status == CaseStatus.RUNNING).order_by(Case.id)))


def _check(case, target) -> Move:
    problem = engine.migration_problem(case, target)
    return Move(case.id, case.alert_id, case.definition.version, problem is None,
                problem or "its waiting steps exist in the new version")


@dataclass
class Impact:
    """What deploying a changed diagram would change for one running case, were it moved; or what a
    new pack.toml version would change for it (settings_impact: there it goes on, or cannot)."""
    case_id: int | None  # None: a marker with no case running (a pack.toml change can reach it)
    alert_id: int
    from_version: int | None
    can_move: bool
    reason: str  # why it cannot move ("" when it can)
    changes: list[str]  # what moves for it, in words (empty: it would run on as it is)
    process_id: str | None = None  # the case's process (a pack.toml change reaches every process)


def impact(db: Session, *, pack: Pack, content: bytes | str, filename: str) -> dict[str, list[Impact]]:
    """Before a deploy: for each process of the file already deployed and changed by it, each of
    its running cases, whether it could move onto the new diagram and what would change for it
    (a dry run of move_case, in memory: nothing is saved). The file is assumed checked."""
    specs, subprocess_specs = spiff.parse_processes(spiff.safe_xml(content), filename)
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    result = {}
    for process_id, new_spec in specs.items():
        newest = deployment.latest(db, pack=pack.key, process_id=process_id)
        if newest is None or not describe_changes(newest.bpmn_xml, text):
            continue  # a new process has no cases; an unchanged one would not be deployed
        target = f"the new version {newest.version + 1}"
        rows = []
        for case in _running(db, pack, process_id):
            problem, changes = engine.move_preview(case, pack=pack, new_spec=new_spec,
                                                   new_subprocess_specs=subprocess_specs, target=target)
            rows.append(Impact(case.id, case.alert_id, case.definition.version, problem is None, problem or "", changes))
        result[process_id] = rows
    return result


def _running(db, pack, process_id) -> list[Case]:
    # each case's state, alert and version in a few queries, not three per case
    return list(db.scalars(select(Case).join(ProcessDefinition).where(
        ProcessDefinition.pack == pack.key, ProcessDefinition.process_id == process_id,
        Case.status == CaseStatus.RUNNING).order_by(Case.id)
        .options(undefer(Case.workflow_state), selectinload(Case.alert), selectinload(Case.definition))))

"""What a case's diagram should show: where it waits now and which elements it has passed.
Read from the case's saved workflow state (one case at a time, for the case page), so timers,
gateways and service tasks are marked as well as human steps."""
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.definitions import deployment, spiff
from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.platform.errors import NotFound
from workflows.platform.models import Case, CaseStatus, ProcessDefinition
from workflows.definitions.pack import Pack


def _never_run(task):  # viewing must never advance anything
    raise RuntimeError("the case page does not run actions")


def marks(db: Session, *, case_id: int) -> dict:
    """{"current": [element ids waiting now], "done": [element ids completed]} for one case, and the
    same as element names ("current_names", "done_names")."""
    state = db.scalar(select(Case.workflow_state).where(Case.id == case_id))
    case = db.get(Case, case_id)
    spec, subprocess_specs = deployment.spec_for(case.definition)
    workflow = spiff.load_state(state, spec, subprocess_specs, spiff.ScriptEngine(run_action=_never_run))
    current, done, names = set(), set(), {}
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        names[bpmn_id] = getattr(task.task_spec, "bpmn_name", None) or bpmn_id
        if task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED) and case.status == CaseStatus.RUNNING:
            current.add(bpmn_id)
        elif task.state == TaskState.COMPLETED:
            done.add(bpmn_id)
    done -= current
    # the ids mark the drawing; the names say it in words to someone who cannot see the drawing
    return {"current": sorted(current), "done": sorted(done),
            "current_names": sorted({names[i] for i in current}), "done_names": sorted({names[i] for i in done})}


def case_xml(db: Session, *, pack: Pack, actor: Actor, case_id: int) -> str:
    """The BPMN a case runs, for someone who needs to know its alert's story; as its case page,
    reading a restricted record's diagram is audited."""
    case = db.get(Case, case_id)
    if case is None or not pack.may_see(case.alert.restriction, actor.roles):
        raise NotFound(f"there is no case {case_id}")
    permissions.open_story(db, pack=pack, actor=actor, alert=case.alert, case_id=case.id)
    return db.scalar(select(ProcessDefinition.bpmn_xml).where(ProcessDefinition.id == case.definition_id))

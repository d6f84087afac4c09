"""One step as the person doing it sees it: the task, its form fields from the BPMN, whether it is
overdue, and what the step's documentation (or a housing system step's row) says to do."""
from sqlalchemy.orm import Session

from workflows.cases import forms
from workflows.cases.assignment import Actor
from workflows.definitions import deployment
from workflows.definitions.pack import Pack
from workflows.platform import wording
from workflows.platform.errors import NotFound
from workflows.platform.models import HumanTask
from workflows import permissions
from workflows.register import housing_system, incidents
from workflows.tasks.inbox import is_overdue


def task_view(db: Session, *, pack: Pack, actor: Actor, task_id: int) -> dict:
    """A task with its form, for someone who may see its case."""
    task = db.get(HumanTask, task_id)
    if task is None or not pack.may_see(task.case.alert.restriction, actor.roles):
        raise NotFound(f"there is no task {task_id}")
    overdue = is_overdue(task)
    if task.kind == housing_system.KIND:  # no diagram behind it: what to enter is on the row
        return {"task": task, "fields": housing_system.fields(), "overdue": overdue,
                "documentation": None, "instructions": task.instructions, "linked_marker": None}
    spec, _ = deployment.spec_for(task.case.definition)
    task_spec = spec.task_specs[task.bpmn_id]
    return {"task": task, "fields": forms.fields_of(task_spec), "overdue": overdue,
            "documentation": getattr(task_spec, "documentation", None), "instructions": None,
            "linked_marker": _linked_marker(db, pack, actor, task)}


def _linked_marker(db, pack, actor, task):
    """A linked incident's step shows the marker it is assessed against, to those with a need to
    know the alert's story (permissions.may_read_story): the marker's reasons are its incidents."""
    case = task.case
    if case.kind != "incident" or not permissions.may_read_story(db, pack=pack, actor=actor, alert_id=case.alert_id):
        return None
    return incidents.marker_summary(db, pack=pack, alert=case.alert)


def form_fields(task: HumanTask) -> list:
    """The form a step was (or is) done with, for reading its answers by their labels."""
    if task.kind == housing_system.KIND:
        return housing_system.fields()
    spec, _ = deployment.spec_for(task.case.definition)
    task_spec = spec.task_specs.get(task.bpmn_id)
    return forms.fields_of(task_spec) if task_spec is not None else []


def answers_in_words(task: HumanTask) -> list[tuple[str, str]]:
    """A completed step's answers as (question, answer) as a person reads them: the field's label,
    the option's label, Yes/No, lists joined in words (workflows/platform/wording)."""
    data = {k: v for k, v in (task.form_data or {}).items() if not k.endswith("_labels")}
    return wording.answers(form_fields(task), data)


def case_fields(case) -> list:
    """Every form field of a case's diagram (and its subprocesses), for a copy of its answers
    (a filed risk assessment) read by their labels; the first field of each id wins."""
    spec, subprocesses = deployment.spec_for(case.definition)
    seen, out = set(), []
    for process in (spec, *subprocesses.values()):
        for task_spec in process.task_specs.values():
            for f in forms.fields_of(task_spec) if getattr(task_spec, "form", None) else []:
                if f.id not in seen:
                    seen.add(f.id)
                    out.append(f)
    return out

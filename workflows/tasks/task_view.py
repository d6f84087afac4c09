"""One step as the person doing it sees it: the task, its form fields from the BPMN, whether it is
overdue, and what the step's documentation (or a housing system step's row) says to do."""
from sqlalchemy.orm import Session

from workflows.cases import forms
from workflows.cases.assignment import Actor
from workflows.definitions import deployment
from workflows.definitions.pack import Pack
from workflows.platform.errors import NotFound
from workflows.platform.models import HumanTask
from workflows.register import housing_system
from workflows.tasks.inbox import is_overdue


def task_view(db: Session, *, pack: Pack, actor: Actor, task_id: int) -> dict:
    """A task with its form, for someone who may see its case."""
    task = db.get(HumanTask, task_id)
    if task is None or not pack.may_see(task.case.alert.restriction, actor.roles):
        raise NotFound(f"there is no task {task_id}")
    overdue = is_overdue(task)
    if task.kind == housing_system.KIND:  # no diagram behind it: what to enter is on the row
        return {"task": task, "fields": housing_system.fields(), "overdue": overdue,
                "documentation": None, "instructions": task.instructions}
    spec, _ = deployment.spec_for(task.case.definition)
    task_spec = spec.task_specs[task.bpmn_id]
    return {"task": task, "fields": forms.fields_of(task_spec), "overdue": overdue,
            "documentation": getattr(task_spec, "documentation", None), "instructions": None}

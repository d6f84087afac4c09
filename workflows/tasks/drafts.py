"""Drafts of a step's answers: kept as the person types, so a long risk assessment is not lost to a
closed tab or a session that ended. A draft is the answers as typed, not yet checked: only the
person who typed it sees it, on the step's own form, and only while they may still do the step.
It goes when the step completes or is withdrawn (engine.py calls discard), and the background sweep
deletes what is left behind (sweep): drafts not saved for the pack's [registers] retain_drafts_for,
and drafts of a step no longer open (one saved as the step completed in another request)."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import Session

from workflows.cases.assignment import Actor, open_for
from workflows.definitions.pack import Pack
from workflows.platform import clock
from workflows.platform.errors import NotAllowed, NotFound
from workflows.platform.models import OPEN_TASK, HumanTask, TaskDraft
from workflows.tasks.inbox import is_open

MAX_ANSWER_CHARS = 20_000  # a typed answer longer than any form takes is not kept
MAX_ANSWERS = 200


@dataclass(frozen=True)
class Draft:
    answers: dict
    saved_at: datetime


def _workable(db: Session, pack: Pack, actor: Actor, task_id: int) -> HumanTask:
    task = db.get(HumanTask, task_id)
    if task is None or not pack.may_see(task.case.alert.restriction, actor.roles):
        raise NotFound(f"there is no task {task_id}")
    if not is_open(task) or not open_for(actor, task, pack):
        raise NotAllowed(f"'{task.title}' is not a step you can work on now, so no draft is kept")
    return task


def _as_typed(answers: dict, field_ids: set[str]) -> dict:
    """Only the step's own fields, as strings or lists of strings, each of a bounded length."""
    kept = {}
    for name, value in list(answers.items())[:MAX_ANSWERS]:
        if name not in field_ids or value == []:  # nothing ticked reads as nothing kept
            continue
        if isinstance(value, list):
            kept[name] = [str(v)[:MAX_ANSWER_CHARS] for v in value[:MAX_ANSWERS]]
        else:
            kept[name] = str(value)[:MAX_ANSWER_CHARS]
    return kept


def save(db: Session, *, pack: Pack, actor: Actor, task_id: int, answers: dict, field_ids: set[str]) -> Draft:
    """Keep what the person has typed so far on a step they may work, replacing their last draft."""
    _workable(db, pack, actor, task_id)
    draft = db.get(TaskDraft, (task_id, actor.username))
    if draft is None:
        draft = TaskDraft(task_id=task_id, username=actor.username)
        db.add(draft)
    draft.answers, draft.saved_at = _as_typed(answers, field_ids), clock.now()
    return Draft(draft.answers, draft.saved_at)


def load(db: Session, *, pack: Pack, actor: Actor, task_id: int) -> Draft | None:
    """This person's draft of a step they may still work, or None."""
    draft = db.get(TaskDraft, (task_id, actor.username))
    if draft is None:
        return None
    try:
        _workable(db, pack, actor, task_id)
    except (NotAllowed, NotFound):  # given to someone else, or no longer theirs to see
        return None
    return Draft(dict(draft.answers), draft.saved_at)


def discard(db: Session, task_ids) -> None:
    """A completed or withdrawn step's drafts: the answers are now the step's, or moot."""
    ids = list(task_ids)
    if ids:
        db.execute(_DISCARD, {"ids": ids})


# built once: every completed step sends it, and building it costs more than running it
_DISCARD = delete(TaskDraft).where(TaskDraft.task_id.in_(bindparam("ids", expanding=True)))


def discard_own(db: Session, *, actor: Actor, task_id: int) -> None:
    db.execute(delete(TaskDraft).where(TaskDraft.task_id == task_id, TaskDraft.username == actor.username))


def sweep(db: Session, *, pack: Pack) -> int:
    """Drafts nobody will come back to, deleted: typed answers are personal data, kept no longer than
    they serve. Those not saved for the pack's retain_drafts_for, and those whose step is no longer
    open (nobody can send them). Returns how many went."""
    before = clock.duration_before(clock.now(), pack.registers.retain_drafts_for, pack.calendar)
    closed = select(HumanTask.id).where(HumanTask.status.not_in(OPEN_TASK))
    gone = db.execute(delete(TaskDraft).where(or_(TaskDraft.saved_at < before, TaskDraft.task_id.in_(closed))))
    return gone.rowcount or 0

"""Demo data for a newcomer: a user for each role of the pack and the cases described in the
pack's demo.toml, each played through the engine as people would, at dates in the past."""
import tomllib
from datetime import timedelta

from sqlalchemy import select

from workflows.accounts import credentials, people
from workflows.platform import clock
from workflows.definitions import deployment
from workflows.cases import engine
from workflows.platform.errors import WorkflowError
from workflows.platform.models import Case, HumanTask, OPEN_TASK, User
from workflows.definitions.pack import Pack

DEMO_PASSWORD = "demo-password"


def demo_username(role_key: str) -> str:
    return role_key.replace("_", ".")


def load(db, *, pack: Pack) -> str:
    """Load the demo into an empty database; a second run changes nothing."""
    if db.scalar(select(User.id).limit(1)) is not None:
        return "demo data already loaded (the database has users)"
    deployment.install_pack(db, pack=pack, installed_by="demo")  # a database already holding it keeps its versions
    for role in pack.roles.values():
        people.add_user(db, pack=pack, username=demo_username(role.key),
                        full_name=f"Demo {role.name}", roles=[role.key], email=f"{demo_username(role.key)}@example.org")
        credentials.set_password(db, username=demo_username(role.key), password=DEMO_PASSWORD, by="demo")
    path = pack.directory / "demo.toml"
    scenario = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for customer in scenario.get("customers", []):
        people.add_customer(db, **customer)
    today = clock.now()
    for story in scenario.get("cases", []):
        _play(db, pack, story, today)
    with clock.frozen_at(today):
        for case_id in engine.due_case_ids(db):
            engine.advance_timers(db, pack=pack, case_id=case_id)
    return (f"demo loaded: {len(pack.roles)} users (password '{DEMO_PASSWORD}'), "
            f"{len(scenario.get('customers', []))} customers, {len(scenario.get('cases', []))} cases")


def _play(db, pack, story, today):
    moment = today - timedelta(days=story.get("days_ago", 0))
    with clock.frozen_at(moment):
        reporter = engine.actor_for(db, pack, demo_username(story["reported_by"]))
        case = engine.report_concern(db, pack=pack, actor=reporter, customer_ref=story["customer"],
                                     category=story["category"], description=story["description"])
    alert_id = case.alert_id
    for step in story.get("steps", []):
        moment += timedelta(days=step.get("after_days", 1))
        with clock.frozen_at(moment):
            for case_id in engine.due_case_ids(db):
                engine.advance_timers(db, pack=pack, case_id=case_id)
            if "appeal" in step:
                actor = engine.actor_for(db, pack, demo_username(step["as"]))
                engine.start_appeal(db, pack=pack, actor=actor, alert_id=alert_id, grounds=step["appeal"])
                continue
            task = _open_task(db, alert_id, step["as"])
            actor = engine.actor_for(db, pack, demo_username(step["as"]))
            engine.complete_task(db, pack=pack, actor=actor, task_id=task.id, values=step["values"])


def _open_task(db, alert_id, role) -> HumanTask:
    """The alert's oldest open step for this role: a housing system step may wait beside the case's own."""
    task = db.scalar(select(HumanTask).join(Case).where(
        Case.alert_id == alert_id, HumanTask.role == role, HumanTask.status.in_(OPEN_TASK))
        .order_by(HumanTask.id))
    if task is None:
        raise WorkflowError(f"demo.toml: alert {alert_id} has no open step for the {role} role to complete")
    return task

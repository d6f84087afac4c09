"""Background work, in one place for both the Celery beat schedule and the embedded loop
that the main job runs when no Redis is configured."""
from . import reminders, timers
from .pack import Pack


def tick(pack: Pack) -> dict:
    """One round of background work: fire due timers, then send the reminders and escalations due."""
    return {"timers_fired": timers.sweep(pack), **reminders.send_due(pack)}

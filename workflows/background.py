"""Background work, in one place for both the Celery beat schedule and the embedded loop
that the main job runs when no Redis is configured."""
from workflows.compliance import audit, oversight
from workflows.platform import db as database
from workflows.register import circulation, feed
from workflows.tasks import drafts, open_step_tally, reminders
from workflows.cases import timers
from workflows.definitions.pack import Pack


def tick(pack: Pack) -> dict:
    """One round of background work: fire due timers, send the reminders and escalations due,
    sign an audit checkpoint if one is due, send circulation notices still unsent, delete drafts left
    behind, bring the compliance dashboard's counts up to date, then send the housing system feed's
    due events."""
    done = {"timers_fired": timers.sweep(pack), **reminders.send_due(pack), "audit_checkpoint": audit_checkpoint(),
            "circulation_sent": send_circulation(), "drafts_deleted": sweep_drafts(pack)}
    count_dashboard(pack)  # every round: not in `done`, which says what the round changed
    # last: a feed set up wrongly (feed.FeedMisconfigured) stops only its own part of the round
    return {**done, "feed_delivered": deliver_feed(pack)}


def audit_checkpoint() -> int:
    """The periodic signed checkpoint of the audit chain (workflows.compliance.audit.checkpoint_if_due)."""
    with database.transaction() as db:
        return audit.checkpoint_if_due(db)


def deliver_feed(pack: Pack) -> int:
    """The housing system feed's due events sent (workflows.register.feed.deliver_due)."""
    return feed.deliver_due(pack)


def send_circulation() -> int:
    """Notices to a marker's recipients not sent when their step committed (workflows.register.circulation)."""
    return circulation.deliver_due()


def sweep_drafts(pack: Pack) -> int:
    """Drafts unsaved past the pack's retain_drafts_for, or of a step no longer open (workflows.tasks.drafts.sweep)."""
    with database.transaction() as db:
        return drafts.sweep(db, pack=pack)


def count_dashboard(pack: Pack) -> int:
    """The compliance dashboard's standing counts brought up to date, in the embedded loop and on
    Celery alike: the open steps' tally summed into one row a key (open_step_tally.compact: without
    it the tally grows with every step) and the charts counted for the dashboard's readers
    (oversight.count_charts). Returns how many sets of readers were counted."""
    with database.transaction() as db:
        open_step_tally.compact(db)
    with database.transaction() as db:
        return oversight.count_charts(db, pack=pack)

"""When a tenant may still appeal: the pack's `appeal_within`, counted from the recorded delivery
of the letter that told them of the decision appealed. Until that delivery is recorded the window
has not started; later letters (a copy of the assessment, say) do not reopen it. The engine's
`start_appeal` applies it, and the dashboard and pages read the same dates from here.

The window is counted in the pack's terms (P28D, or P10WD on its business calendar) and is open
the whole of the day it ends on. An appeal lodged after it is refused, or, when the pack names
`[pack] late_appeals`, starts that process instead: a named role decides, with reasons, whether
to hear it (the `record_late_appeal_decision` action)."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.definitions.pack import Pack
from workflows.platform import clock, wording
from workflows.platform.errors import NotAllowed
from workflows.platform.models import Alert, Letter
from workflows.register.letters import to_tenant


def telling_letter(db: Session, *, pack: Pack, alert: Alert) -> Letter | None:
    """The first letter that told the tenant of the alert's latest decision, if any was issued
    (a notice to someone else, `to_tenant = false`, tells the tenant nothing)."""
    return db.scalars(select(Letter).where(Letter.alert_id == alert.id, Letter.decision_no == alert.decision_no,
                                           to_tenant(pack))
                      .order_by(Letter.id).limit(1)).first()


def window_closes(db: Session, *, pack: Pack, alert: Alert) -> datetime | None:
    """When the time to appeal the alert's latest decision ends; None while it has not started
    (or the pack sets no limit)."""
    letter = telling_letter(db, pack=pack, alert=alert)
    if letter is None or letter.delivered_at is None:
        return None
    return closes_after(pack, letter.delivered_at)


def closes_after(pack: Pack, received_at: datetime) -> datetime | None:
    """When the time to appeal ends for a letter received at this moment (None: no limit set);
    the letter itself says this date, so what it tells the tenant is what the engine applies."""
    if not pack.appeal_within:
        return None
    return clock.duration_after(clock.as_utc(received_at), pack.appeal_within, pack.calendar)


def closed_on(db: Session, *, pack: Pack, alert: Alert) -> datetime | None:
    """When the window closed, if it has: it is open all of the day it ends on."""
    closes = window_closes(db, pack=pack, alert=alert)
    return closes if closes is not None and clock.is_past(closes) else None


def check_window(db: Session, *, pack: Pack, alert: Alert) -> None:
    """Refuse an appeal lodged after the window closed, saying when it closed and what can be done
    (a pack with late_appeals hears of it at start_appeal instead)."""
    closes = closed_on(db, pack=pack, alert=alert)
    if closes is None:
        return
    letter = telling_letter(db, pack=pack, alert=alert)
    review = f" (next review due {wording.day(alert.next_review_at)})" if alert.next_review_at else ""
    raise NotAllowed(
        f"the time to appeal decision {alert.decision_no} on alert {alert.id} closed on {wording.day(closes)}: "
        f"an appeal must be lodged within {wording.duration(pack.appeal_within)} of receiving the letter "
        f"that told the tenant, and letter {letter.id} ('{letter.title}') was delivered on "
        f"{wording.day(letter.delivered_at)}; a late appeal cannot be lodged, but new information can be "
        f"weighed at the marker's review{review}")

"""A marker's circulation: who was told of it, when, by which step, with what wording, and why.

- `tell` is what the BPMN action `notify` does: the marker's instruction to staff (never its
  reasons: `markers.instruction_to_staff`, the one home of what staff are shown) for each named
  recipient of the pack ([recipients.<key>]). A recipient beyond the marker's default audience
  ([circulation] default_audience, or its category's `audience`) needs a recorded justification:
  without one the step is refused beside the form's justification field and nothing is saved.
- `tell_circulation` is what `notify_circulation` does when a marker is amended, withdrawn or
  removed: a notice to everyone on its circulation list, recorded on the list too (a change notice
  only to those whose last notice no longer says what staff must do: a review that kept the marker
  as it was tells nobody).

Each notice is a `circulation` row written in the step's own transaction: a step that rolls back
tells nobody, and one that commits cannot lose its notices. The e-mails go over the product's SMTP
settings (workflows/platform/mail.py) as soon as the step commits; any not sent then (no SMTP set,
the server down) go with the next background round (`deliver_due`, workflows/background.py).
"""
import logging

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from workflows.definitions.pack import Pack, Recipient
from workflows.platform import clock, mail, wording
from workflows.platform import db as database
from workflows.platform.errors import FormInvalid, StepFailed
from workflows.platform.models import Alert, Circulation

log = logging.getLogger(__name__)

TOLD, AMENDED, WITHDRAWN, REMOVED = "told", "amended", "withdrawn", "removed"
CHANGES = (AMENDED, WITHDRAWN, REMOVED)  # what notify_circulation may tell the list
NOTICE_WORDS = {TOLD: "told of the marker", AMENDED: "told it changed", WITHDRAWN: "told it was withdrawn",
                REMOVED: "told it was removed"}
_UNSENT = "circulation_unsent"  # Session.info: the rows this transaction wrote, sent after it commits
KINDS = {"role": "a role", "team": "a team", "agency": "a partner agency", "out_of_hours": "the out-of-hours service",
         "contractor": "a contractor"}


def choose(pack: Pack, alert: Alert, keys, *, field: str | None) -> list[Recipient]:
    """The pack's recipients for these keys; one the pack does not have is refused (beside the form
    field that named it, when one did)."""
    chosen, unknown = [], []
    for key in dict.fromkeys(str(k).strip() for k in keys if str(k).strip()):
        (chosen.append(pack.recipients[key]) if key in pack.recipients else unknown.append(key))
    if unknown:
        message = (f"{wording.and_list([repr(k) for k in unknown])} {'is' if len(unknown) == 1 else 'are'} not a "
                   f"recipient of the pack (its recipients: {', '.join(sorted(pack.recipients)) or 'none'})")
        if field:
            raise FormInvalid({field: message})
        raise StepFailed(message)
    return chosen


def beyond_audience(pack: Pack, alert: Alert, recipients: list[Recipient]) -> list[Recipient]:
    audience = set(pack.audience(alert.category))
    return [r for r in recipients if r.key not in audience]


def tell(db: Session, *, pack: Pack, alert: Alert, case_id: int | None, element: str, actor: str,
         recipients: list[Recipient], justification: str | None, justification_field: str,
         justification_label: str | None = None) -> list[Circulation]:
    """The marker's instruction to each recipient, recorded on its circulation list. A recipient
    beyond the default audience without a justification refuses the whole step."""
    if not recipients:
        raise StepFailed(f"service task {element} tells nobody: name recipients of the pack, or give the pack a "
                         f"[circulation] default_audience")
    extra = beyond_audience(pack, alert, recipients)
    justification = (justification or "").strip() or None
    if extra and justification is None:
        audience = [pack.recipients[k].name for k in pack.audience(alert.category) if k in pack.recipients]
        raise FormInvalid({justification_field: (
            f"give a justification{f' in {justification_label!r}' if justification_label else ''}: "
            f"{wording.and_list([r.name for r in extra])} {'is' if len(extra) == 1 else 'are'} beyond the "
            f"people told of this marker by default ({wording.and_list(audience) if audience else 'nobody'}), "
            f"and telling more people than need to know must be justified")})
    if not _shown(alert):
        raise StepFailed(f"service task {element} tells people of the marker, but no marker wording is recorded yet")
    rows = [_row(pack, alert, case_id=case_id, element=element, actor=actor, recipient=r, notice=TOLD,
                 justification=justification if r in extra else None) for r in recipients]
    return _add(db, rows)


def tell_circulation(db: Session, *, pack: Pack, alert: Alert, case_id: int | None, element: str, actor: str,
                     notice: str | None) -> list[Circulation]:
    """A notice of the marker's change (amended) or end (withdrawn, removed) to everyone told of it."""
    from workflows.platform.models import AlertStatus
    if notice is None:
        notice = REMOVED if alert.status in (AlertStatus.REMOVED, AlertStatus.NOT_PLACED) else AMENDED
    earlier, latest = {}, {}
    for row in db.scalars(select(Circulation).where(Circulation.alert_id == alert.id).order_by(Circulation.id)):
        earlier.setdefault(row.recipient, row)  # each recipient once, at the address they were first told at
        latest[row.recipient] = row
    rows = []
    instruction = "\n".join(_instruction_lines(pack, alert))
    for key, first in earlier.items():
        if notice == AMENDED and latest[key].notice in (TOLD, AMENDED) and instruction in latest[key].wording:
            continue  # what they were last sent still stands (a review that kept the marker as it was)
        recipient = pack.recipients.get(key) or Recipient(key, first.recipient_name, "team", first.email)
        rows.append(_row(pack, alert, case_id=case_id, element=element, actor=actor, recipient=recipient,
                         notice=notice, justification=None, first_told=first.told_at))
    return _add(db, rows)


def _shown(alert: Alert) -> bool:
    return bool(alert.marker_text or alert.restriction)


def _row(pack, alert, *, case_id, element, actor, recipient: Recipient, notice, justification, first_told=None):
    subject, body = _wording(pack, alert, recipient, notice, first_told)
    return Circulation(alert_id=alert.id, case_id=case_id, element=element, notice=notice, recipient=recipient.key,
                       recipient_name=recipient.name, email=recipient.email, subject=subject, wording=body,
                       justification=justification, told_by=actor, told_at=clock.now())


def _wording(pack: Pack, alert: Alert, recipient: Recipient, notice: str, first_told) -> tuple[str, str]:
    """The notice as the recipient reads it: the instruction to staff, never the reasons."""
    from workflows.register.markers import next_review_date
    customer = alert.customer
    reference = f"A{alert.id:06d}"
    where = ", ".join(p for p in (customer.address, customer.postcode) if p)
    who = f"{customer.name} ({customer.reference}{', ' + where if where else ''})"
    if notice in (WITHDRAWN, REMOVED):
        subject = f"{pack.name}: warning marker {reference} {notice}"
        lines = [f"Dear {recipient.name},", "",
                 f"The warning marker on {who}, which {pack.name} sent you"
                 f"{' on ' + wording.day(first_told) if first_told else ''}, has been {notice}.",
                 "It no longer applies: do not act on it, and delete any copy of it you keep."]
    else:
        subject = f"{pack.name}: warning marker {reference}" + (" changed" if notice == AMENDED else "")
        opening = (f"The warning marker on {who} has changed. From now on, staff must:" if notice == AMENDED
                   else f"{pack.name} tells you of a warning marker, so that anyone you send to {who} stays safe. "
                        f"Staff must:")
        lines = [f"Dear {recipient.name},", "", opening, *_instruction_lines(pack, alert)]
        if alert.placed_at:
            lines.append(f"In place since {wording.day(alert.placed_at)}.")
        review = None if alert.restriction else next_review_date(alert)
        if review:
            lines.append(f"Next review by {wording.day(review)}.")
        lines += ["", "This is the instruction to staff only. Share it only with the people who need it to work "
                      "safely; we will tell you if it changes or is withdrawn."]
    lines += ["", f"Marker reference: {reference}"]
    return subject, "\n".join(lines) + "\n"


def _instruction_lines(pack: Pack, alert: Alert) -> list[str]:
    """What staff must do, as a notice says it (markers.instruction_to_staff: never the reasons)."""
    from workflows.register.markers import instruction_to_staff
    shown = instruction_to_staff(pack, alert)
    lines = [f"  {shown['instruction']}"]
    if shown["control_measures"]:
        lines.append(f"Control measures: {wording.and_list(shown['control_measures'])}.")
    return lines + shown["details"]


def _add(db: Session, rows: list[Circulation]) -> list[Circulation]:
    db.add_all(rows)
    db.flush()
    db.info.setdefault(_UNSENT, []).extend(r.id for r in rows)
    return rows


@event.listens_for(Session, "after_commit")
def _send_committed(db: Session):
    """The notices of a step that committed go at once (each in its own transaction)."""
    ids = db.info.pop(_UNSENT, None)
    if ids and mail.configured():
        try:
            for row_id in ids:
                deliver_one(row_id)
        except Exception:  # never the person's problem: the step is done, the next round sends them
            log.exception("circulation notices not sent after the step; the background round will send them")


@event.listens_for(Session, "after_rollback")
def _drop_unsent(db: Session):
    db.info.pop(_UNSENT, None)  # rolled back: nobody was told


def deliver_due(limit: int = 100) -> int:
    """Every notice not yet sent (SMTP unset or failing when its step committed); how many went."""
    if not mail.configured():
        return 0
    with database.transaction() as db:
        ids = list(db.scalars(select(Circulation.id).where(Circulation.sent_at.is_(None))
                              .order_by(Circulation.id).limit(limit)))
    return sum(deliver_one(i) for i in ids)


def deliver_one(row_id: int) -> bool:
    """Send one notice; True if the server took it. The row is locked while it is sent (PostgreSQL:
    another worker skips it), so it is never sent twice at once."""
    with database.transaction() as db:
        row = db.scalar(select(Circulation).where(Circulation.id == row_id, Circulation.sent_at.is_(None))
                        .with_for_update(skip_locked=True))
        if row is None:
            return False
        row.attempts = (row.attempts or 0) + 1
        try:
            mail.send(to=[row.email], subject=row.subject, body=row.wording)
        except Exception as err:  # the server refused or could not be reached: the next round tries again
            row.last_error = f"{type(err).__name__}: {str(err)[:300]}"
            return False
        row.sent_at, row.last_error = clock.now(), None
        return True


def circulation_list(db: Session, alert_id: int) -> list[Circulation]:
    return list(db.scalars(select(Circulation).where(Circulation.alert_id == alert_id).order_by(Circulation.id)))


def described(pack: Pack, row: Circulation) -> dict:
    """One line of the list, for the JSON of the CLI, the API and the subject access export."""
    recipient = pack.recipients.get(row.recipient)
    return {"id": row.id, "recipient": row.recipient, "recipient_name": row.recipient_name,
            "recipient_kind": recipient.kind if recipient else None, "email": row.email, "notice": row.notice,
            "notice_label": NOTICE_WORDS.get(row.notice, row.notice), "step": row.element,
            "case": row.case_id, "told_by": row.told_by, "told_at": clock.as_utc(row.told_at).isoformat(),
            "sent_at": clock.as_utc(row.sent_at).isoformat() if row.sent_at else None,
            "justification": row.justification, "subject": row.subject, "wording": row.wording}

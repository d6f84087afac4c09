"""Two-step sign-in for local accounts: after the password, a 6-digit code from an authenticator
app (TOTP, RFC 6238, by pyotp) or one of the person's recovery codes.

Who must use it is the pack's word (permissions.needs_second_factor: [pack] mfa_required_for);
someone who has set it up is asked for a code whatever their roles. Single sign-on accounts are
left to the identity provider, which runs its own multi-factor policy.

- The secret is stored encrypted (Fernet, from the `cryptography` package) with a key the
  database does not hold: ALERTFLOW_MFA_KEY (or a file named by ALERTFLOW_MFA_KEY_FILE), else one
  generated into instance/mfa_key. Several keys, comma-separated, newest first, let a new key
  take over while the old still decrypts (`alertflow users rekey-mfa` re-encrypts every secret).
- Enrolment: a secret is made and kept unconfirmed until the person types a code from it; then
  RECOVERY_CODES recovery codes are made, shown once, stored as SHA-256 hashes (they are random
  and long, like API tokens, so a fast hash is enough) and each works once.
- A code works once: the time step of the last one accepted is kept and no code of that step or
  an earlier one is taken again (RFC 6238 §5.2), so a code seen over a shoulder is spent.
- Wrong codes are counted like wrong passwords (credentials.held_off_seconds), per account from
  any address, since whoever is guessing already has the password: a few are free, then each wait
  doubles, and after credentials.PAIR_FAILURES within the window the account takes no code until
  the window has passed. They count against the address as well.
- An administrator can reset a person's two-step sign-in (a lost phone): the secret and codes are
  deleted, their sessions end, and they enrol again at their next sign-in.
Every enrolment, code refused, recovery code used and reset is an audit event."""
import hashlib
import hmac
import math
import os
import secrets
import time
from datetime import datetime, timezone

import pyotp
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflows import permissions
from workflows.accounts import credentials
from workflows.accounts.people import end_sessions, get_user
from workflows.cases.assignment import Actor
from workflows.compliance import audit
from workflows.definitions.pack import Pack
from workflows.platform import clock, config
from workflows.platform.errors import NotAllowed, WorkflowError
from workflows.platform.models import MfaRecoveryCode, SignInFailure, User

CODE = "code"  # the factor of a failed code (SignInFailure.factor)
RECOVERY_CODES = 10
WINDOW = 1  # time steps either side of now a code is taken from (the phone's clock may be a little off)
REFUSED = "That code is not right, or it has been used already. Type the 6 digits your authenticator app shows now."


def _keys() -> list[bytes]:
    """ALERTFLOW_MFA_KEY (or the file ALERTFLOW_MFA_KEY_FILE names), else instance/mfa_key, made once."""
    text = os.environ.get("ALERTFLOW_MFA_KEY", "").strip()
    if not text and os.environ.get("ALERTFLOW_MFA_KEY_FILE"):
        text = open(os.environ["ALERTFLOW_MFA_KEY_FILE"], encoding="utf-8").read().strip()
    if not text:
        text = config.instance_secret("mfa_key", lambda: Fernet.generate_key().decode())
    return [key.strip().encode() for key in text.split(",") if key.strip()]


def _cipher() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except ValueError:
        raise WorkflowError("ALERTFLOW_MFA_KEY is not a key for two-step sign-in: make one with "
                            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`") from None


def _secret(user: User) -> str:
    try:
        return _cipher().decrypt(user.mfa_secret.encode()).decode()
    except InvalidToken:
        raise WorkflowError(f"{user.username}'s two-step sign-in cannot be read with the key this server has "
                            f"(ALERTFLOW_MFA_KEY changed?): an administrator can reset it so that they set it up again") from None


def is_set_up(user: User) -> bool:
    return user.mfa_enabled_at is not None


def asks_for_code(pack: Pack, user: User) -> bool:
    """Whether this account's password is followed by a code (or by enrolment, if not set up)."""
    if user.sso_subject:
        return False  # the identity provider's own policy
    return is_set_up(user) or permissions.needs_second_factor(pack, user.role_keys)


def enrolment_secret(db: Session, *, user: User) -> str:
    """The secret someone enrolling is to put in their app: made now, or the one made before and
    not yet confirmed (so reloading the page does not change it)."""
    if is_set_up(user):
        raise WorkflowError(f"{user.username} has already set up two-step sign-in")
    if user.mfa_secret is None:
        user.mfa_secret = _cipher().encrypt(pyotp.random_base32().encode()).decode()
        db.flush()
    return _secret(user)


def provisioning_uri(pack: Pack, user: User, secret: str) -> str:
    """otpauth:// address an authenticator app reads (from the QR code): the landlord, the username."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=f"Alertflow {pack.name}")


def wait_seconds(db: Session, username: str) -> int:
    return credentials.held_off_seconds(db, SignInFailure.username == username, SignInFailure.factor == CODE)


def _held_off(db: Session, user: User, address: str) -> str | None:
    if left := credentials.address_wait_seconds(db, address):
        return f"Too many failed sign-ins from this network address. Try again in {math.ceil(left / 60)} minutes."
    if left := wait_seconds(db, user.username):
        audit.record(db, actor=user.username, action="mfa_code_throttled", address=address, seconds_left=left)
        return f"Too many wrong codes for this account. Try again in {credentials.in_words(left)}."
    return None


def _refuse(db: Session, user: User, address: str, why: str) -> str:
    credentials.note_failure(db, address, user.username, factor=CODE)
    audit.record(db, actor=user.username, action="mfa_code_failed", address=address, reason=why)
    return REFUSED


def _totp_step(user: User, code: str) -> int | None:
    """The time step whose code this is, within WINDOW of now and after the last one used, or None."""
    totp, now = pyotp.TOTP(_secret(user)), time.time()  # real time, as the phone keeps it
    current = totp.timecode(datetime.fromtimestamp(now, timezone.utc))
    for step in range(current - WINDOW, current + WINDOW + 1):
        if (user.mfa_last_step is None or step > user.mfa_last_step) and \
                hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _plain(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()[:40]


def _digest(code: str) -> str:
    return hashlib.sha256(_plain(code).encode()).hexdigest()


def confirm(db: Session, *, user: User, code: str, address: str | None = None) -> tuple[str | None, list[str]]:
    """Finish enrolling with a code from the new secret: (None, the recovery codes to show once),
    or (why not, [])."""
    address = (address or "")[:64]
    if problem := _held_off(db, user, address):
        return problem, []
    digits = _plain(code)
    step = _totp_step(user, digits) if digits.isdigit() and len(digits) == 6 else None
    if step is None:
        return _refuse(db, user, address, "wrong code at enrolment"), []
    user.mfa_last_step, user.mfa_enabled_at = step, clock.now()
    codes = _new_recovery_codes(db, user)
    credentials.forgive(db, username=user.username, factor=CODE)
    audit.record(db, actor=user.username, action="mfa_enrolled", address=address)
    return None, codes


def _new_recovery_codes(db: Session, user: User) -> list[str]:
    db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
    codes = ["-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(2))
             for _ in range(RECOVERY_CODES)]
    db.add_all(MfaRecoveryCode(user_id=user.id, code_hash=_digest(c)) for c in codes)
    return codes


def check(db: Session, *, user: User, code: str, address: str | None = None) -> str | None:
    """The second step of a sign-in: None if the code (or an unused recovery code) is right, else
    why not, fit to show the person. Counts failures (the caller commits either way)."""
    address = (address or "")[:64]
    if problem := _held_off(db, user, address):
        return problem
    digits = _plain(code)
    if digits.isdigit() and len(digits) == 6:
        step = _totp_step(user, digits)
        if step is None:
            return _refuse(db, user, address, "wrong or used code")
        user.mfa_last_step = step
        credentials.forgive(db, username=user.username, factor=CODE)
        audit.record(db, actor=user.username, action="mfa_passed", address=address)
        return None
    recovery = db.scalar(select(MfaRecoveryCode).where(
        MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.code_hash == _digest(digits),
        MfaRecoveryCode.used_at.is_(None)))
    if recovery is None:
        return _refuse(db, user, address, "wrong or used recovery code")
    recovery.used_at = clock.now()
    db.flush()
    left = len(unused_recovery_codes(db, user))
    credentials.forgive(db, username=user.username, factor=CODE)
    audit.record(db, actor=user.username, action="mfa_recovery_code_used", address=address, codes_left=left)
    return None


def unused_recovery_codes(db: Session, user: User) -> list[MfaRecoveryCode]:
    return list(db.scalars(select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id,
                                                         MfaRecoveryCode.used_at.is_(None))))


def reset(db: Session, *, pack: Pack, actor: Actor, username: str) -> User:
    """An administrator clears someone's two-step sign-in: they set it up again at their next
    sign-in (if their role needs it); their sessions end."""
    if not permissions.may_reset_second_factor(pack, actor):
        raise NotAllowed(f"{actor.username} may not reset two-step sign-in: only an administrator may")
    user = get_user(db, username=username)
    if user.mfa_secret is None:
        raise WorkflowError(f"{username} has not set up two-step sign-in, so there is nothing to reset")
    user.mfa_secret = user.mfa_enabled_at = user.mfa_last_step = None
    db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    end_sessions(user)
    audit.record(db, actor=actor.username, action="mfa_reset", username=username)
    return user


def rekey(db: Session) -> int:
    """Re-encrypt every secret with the newest key (the first of ALERTFLOW_MFA_KEY), after a new
    key was put in front of the old; returns how many."""
    cipher = _cipher()
    users = list(db.scalars(select(User).where(User.mfa_secret.is_not(None))))
    for user in users:
        try:
            user.mfa_secret = cipher.rotate(user.mfa_secret.encode()).decode()
        except InvalidToken:
            raise WorkflowError(f"{user.username}'s secret cannot be read with any key in ALERTFLOW_MFA_KEY: "
                                f"keep the old key after the new one until every secret is re-encrypted") from None
    audit.record(db, actor="cli", action="mfa_rekeyed", count=len(users))
    return len(users)

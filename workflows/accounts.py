"""Passwords and signing in. Repeated failures slow an account down: after a few misses each
further attempt must wait longer (doubling, capped), so guessing is impractically slow while a
person who mistyped can try again soon. Many failures from one network address slow that
address down too, whichever usernames it tries, so one password tried against every account
is as slow as many passwords against one. Waits are enforced by refusing, not by sleeping, so
a guesser cannot tie up the server's threads."""
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, clock
from .errors import WorkflowError
from .models import SignInFailure, User
from .people import get_user

FREE_ATTEMPTS = 3  # failures allowed before any wait
FIRST_WAIT_SECONDS = 2
MAX_WAIT_SECONDS = 15 * 60
ADDRESS_FAILURES = 20  # failures from one address within ADDRESS_WINDOW before it must wait
ADDRESS_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
ADMIN_ROLE = "admin"  # the pack role that manages accounts (every pack names one)
# checked against when the username is unknown, so a miss costs the same time either way
_DUMMY_HASH = generate_password_hash("not a real password")


@dataclass(frozen=True)
class SignIn:
    user: User | None
    message: str | None = None  # why it was refused, fit to show the person


def set_password(db: Session, *, username: str, password: str, by: str) -> User:
    """Give a user a new password (hashed) and clear any failed sign-ins."""
    check_password_quality(password)
    user = get_user(db, username=username)
    user.password_hash = generate_password_hash(password)
    user.failed_sign_ins, user.last_failed_sign_in_at = 0, None
    audit.record(db, actor=by, action="password_set", username=username)
    return user


def check_password_quality(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise WorkflowError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")


def wait_seconds(failures: int) -> int:
    """How long an account must wait after this many failures in a row."""
    if failures < FREE_ATTEMPTS:
        return 0
    return min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * 2 ** (failures - FREE_ATTEMPTS))


def sign_in(db: Session, *, username: str, password: str, address: str | None = None) -> SignIn:
    """Check a username and password from a network address; counts failures (the caller
    commits either way)."""
    refused = "That username and password do not match an active account."
    if address and (left := address_wait_seconds(db, address)):
        audit.record(db, actor=(username or "?")[:80], action="sign_in_throttled", address=address,
                     seconds_left=left)
        return SignIn(None, f"Too many failed sign-ins from this network address. "
                            f"Try again in {math.ceil(left / 60)} minutes.")
    user = db.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        _note_failure(db, address)
        audit.record(db, actor=(username or "?")[:80], action="sign_in_failed", reason="unknown or inactive",
                     address=address)
        return SignIn(None, refused)
    wait = wait_seconds(user.failed_sign_ins or 0)
    if wait and user.last_failed_sign_in_at is not None:
        ready_at = clock.as_utc(user.last_failed_sign_in_at) + timedelta(seconds=wait)
        if clock.now() < ready_at:
            left = max(1, math.ceil((ready_at - clock.now()).total_seconds()))
            audit.record(db, actor=user.username, action="sign_in_throttled", seconds_left=left, address=address)
            return SignIn(None, f"Too many failed sign-ins for this account. Try again in {left} seconds.")
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_sign_ins = (user.failed_sign_ins or 0) + 1
        user.last_failed_sign_in_at = clock.now()
        _note_failure(db, address)
        audit.record(db, actor=user.username, action="sign_in_failed", failures=user.failed_sign_ins,
                     address=address)
        return SignIn(None, refused)
    user.failed_sign_ins, user.last_failed_sign_in_at = 0, None
    audit.record(db, actor=user.username, action="signed_in", address=address)
    return SignIn(user)


def address_wait_seconds(db: Session, address: str) -> int:
    """How long this address must wait: until the oldest of its last ADDRESS_FAILURES failures
    leaves the window (0 if it has fewer within it). A success does not reset it: one account
    the guesser holds must not buy more guesses at the others."""
    nth_latest = db.scalar(select(SignInFailure.at).where(SignInFailure.address == address)
                           .order_by(SignInFailure.at.desc()).offset(ADDRESS_FAILURES - 1).limit(1))
    if nth_latest is None:
        return 0
    left = (clock.as_utc(nth_latest) + ADDRESS_WINDOW - clock.now()).total_seconds()
    return max(0, math.ceil(left))


def _note_failure(db: Session, address: str | None) -> None:
    if not address:
        return
    now = clock.now()
    db.execute(delete(SignInFailure).where(SignInFailure.at < now - ADDRESS_WINDOW))  # only the window is kept
    db.add(SignInFailure(address=address[:64], at=now))


def set_active(db: Session, *, username: str, active: bool, by: str) -> User:
    """Switch an account on or off (an inactive account cannot sign in or be given steps)."""
    user = get_user(db, username=username)
    user.active = active
    audit.record(db, actor=by, action="user_activated" if active else "user_deactivated", username=username)
    return user

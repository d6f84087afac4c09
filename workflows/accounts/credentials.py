"""Passwords, signing in and out. Failed sign-ins are counted per network address and username
tried: after a few misses from one address at one name each further attempt must wait longer
(doubling), and after PAIR_FAILURES within the window that address may not try that name again
until the window has passed, so guessing is impractically slow while the owner, signing in from
their own address, is not held up by someone else's guesses. Many failures from one network
address slow that address down too, whichever usernames it tries, so one password tried against
every account is as slow as many passwords against one. An unknown or inactive name is counted,
held off and answered exactly as a known one, after the same password check, so neither the
message nor the time taken tells whether an account exists. Waits are enforced by refusing, not
by sleeping, so a guesser cannot tie up the server's threads.

Each user has a session generation, stored in their signed session at sign-in and compared on
every request: signing out, a new password, a role change or switching the account off bumps
it, which ends every session signed in before, wherever its cookie went."""
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from workflows.compliance import audit
from workflows.platform import clock
from workflows.platform.errors import NotAllowed, WorkflowError
from workflows.platform.models import SignInFailure, User, UserRole
from workflows.definitions.pack import Pack
from workflows.accounts.people import end_sessions, get_user

FREE_ATTEMPTS = 3  # failures from one address at one username allowed before any wait
FIRST_WAIT_SECONDS = 2
MAX_WAIT_SECONDS = 15 * 60
# Cyber Essentials: no more than 10 guesses at an account (here, from each address) in the window
PAIR_FAILURES = 10
ADDRESS_FAILURES = 20  # failures from one address within ADDRESS_WINDOW before it must wait
ADDRESS_WINDOW = timedelta(minutes=15)  # also the window PAIR_FAILURES counts in
MIN_PASSWORD_LENGTH = 8
# checked against when the username is unknown, so a miss costs the same time either way
_DUMMY_HASH = generate_password_hash("not a real password")
REFUSED = "That username and password do not match an active account."
PASSWORD = "password"  # the factor of a failure (SignInFailure.factor); a code's is second_factor.CODE


@dataclass(frozen=True)
class SignIn:
    user: User | None
    message: str | None = None  # why it was refused, fit to show the person


def set_password(db: Session, *, username: str, password: str, by: str) -> User:
    """Give a user a new password (hashed), forgive their failed sign-ins and end their sessions."""
    check_password_quality(password)
    user = get_user(db, username=username)
    if user.sso_subject:  # a password would let them in after the provider has shut them out
        raise WorkflowError(f"{username} signs in with single sign-on, so they have no password here: their "
                            f"organisation's account controls their access")
    user.password_hash = generate_password_hash(password)
    forgive(db, username=user.username)
    end_sessions(user)
    audit.record(db, actor=by, action="password_set", username=username)
    return user


def sign_out(db: Session, *, username: str) -> None:
    """End every session of this user, not only the one in hand: a copy of its cookie taken
    before stops working too."""
    end_sessions(get_user(db, username=username))
    audit.record(db, actor=username, action="signed_out")


def check_password_quality(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise WorkflowError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")


def wait_seconds(failures: int) -> int:
    """How long an address must wait at a username after this many failures there in a row."""
    if failures < FREE_ATTEMPTS:
        return 0
    return min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * 2 ** (failures - FREE_ATTEMPTS))


def sign_in(db: Session, *, username: str, password: str, address: str | None = None) -> SignIn:
    """Check a username and password from a network address; counts failures (the caller
    commits either way)."""
    name, address = (username or "").strip()[:80], (address or "")[:64]
    user = db.scalar(select(User).where(User.username == name)) if name else None
    usable = user is not None and user.active and bool(user.password_hash)
    # always the one hash check, even when the answer is already known to be no
    matches = check_password_hash(user.password_hash if usable else _DUMMY_HASH, password or "") and usable
    if left := address_wait_seconds(db, address):
        audit.record(db, actor=name or "?", action="sign_in_throttled", address=address, seconds_left=left)
        return SignIn(None, f"Too many failed sign-ins from this network address. "
                            f"Try again in {math.ceil(left / 60)} minutes.")
    if left := pair_wait_seconds(db, address=address, username=name):
        audit.record(db, actor=name or "?", action="sign_in_throttled", address=address, seconds_left=left)
        return SignIn(None, f"Too many failed sign-ins with this username. Try again in {in_words(left)}.")
    if not matches:
        note_failure(db, address, name)
        audit.record(db, actor=name or "?", action="sign_in_failed", address=address,
                     reason="wrong password" if usable else "unknown or inactive")
        return SignIn(None, REFUSED)
    forgive(db, username=name, address=address)
    audit.record(db, actor=user.username, action="signed_in", address=address)
    return SignIn(user)


def pair_wait_seconds(db: Session, *, address: str, username: str) -> int:
    """How long this address must wait before trying this username again: the doubling wait
    after its last failure there, or, at PAIR_FAILURES within the window, until the oldest of
    them leaves it."""
    return held_off_seconds(db, SignInFailure.address == address, SignInFailure.username == username,
                            SignInFailure.factor == PASSWORD)


def held_off_seconds(db: Session, *which) -> int:
    """How long until another try after these failures (`which` selects them): the doubling wait
    after the last, or, at PAIR_FAILURES within the window, until the oldest of them leaves it."""
    now = clock.now()
    failures = [clock.as_utc(at) for at in db.scalars(
        select(SignInFailure.at).where(*which, SignInFailure.at > now - ADDRESS_WINDOW)
        .order_by(SignInFailure.at.desc()).limit(PAIR_FAILURES))]
    if len(failures) >= PAIR_FAILURES:
        ready_at = failures[-1] + ADDRESS_WINDOW
    elif wait := wait_seconds(len(failures)):
        ready_at = failures[0] + timedelta(seconds=wait)
    else:
        return 0
    return max(0, math.ceil((ready_at - now).total_seconds()))


def in_words(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"


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


def note_failure(db: Session, address: str, username: str, factor: str = PASSWORD) -> None:
    now = clock.now()
    db.execute(delete(SignInFailure).where(SignInFailure.at < now - ADDRESS_WINDOW))  # only the window is kept
    db.add(SignInFailure(address=address, username=username, at=now, factor=factor))


def forgive(db: Session, *, username: str, address: str | None = None, factor: str = PASSWORD) -> None:
    """Stop counting these failures against the username; they still count against the address."""
    where = [SignInFailure.username == username, SignInFailure.factor == factor] + \
        ([SignInFailure.address == address] if address is not None else [])
    db.execute(update(SignInFailure).where(*where).values(username=None))


def require_another_administrator(db: Session, pack: Pack, user: User, change: str) -> None:
    """Refuse a change that would leave no active account able to manage accounts."""
    others = db.scalar(select(func.count()).select_from(User).join(UserRole).where(
        UserRole.role == pack.administrator_role, User.active.is_(True), User.id != user.id))
    if user.active and pack.administrator_role in user.role_keys and not others:
        raise NotAllowed(f"{user.username} is the only active administrator and cannot {change}: "
                         f"give another account the administrator role first")


def set_active(db: Session, *, pack: Pack, username: str, active: bool, by: str) -> User:
    """Switch an account on or off (an inactive account cannot sign in or be given steps; its
    sessions end)."""
    user = get_user(db, username=username)
    if not active:
        require_another_administrator(db, pack, user, "be switched off")
    if user.active != active:
        end_sessions(user)
    user.active = active
    audit.record(db, actor=by, action="user_activated" if active else "user_deactivated", username=username)
    return user

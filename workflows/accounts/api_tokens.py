"""API tokens for housing management systems and out-of-hours services.

A token is 32 random bytes (`secrets.token_urlsafe`), shown once when created; only its SHA-256
is stored. A fast hash is enough here, unlike for passwords: the token is random and long, so
there is nothing to guess from the hash. Each token has scopes naming what it may do; it acts
in the audit log as `api:<name>` and sees what a member of staff with no special role sees
(restricted markers show only the pack's instruction for them).
"""
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock
from workflows.cases.assignment import Actor
from workflows.platform.errors import NotAllowed, NotFound, WorkflowError
from workflows.platform.models import ApiToken
from workflows.definitions.pack import Pack
from workflows import permissions

PREFIX = "af_"
SCOPES = {
    "markers:read": "look up the markers of a customer or an address; list marker changes",
    "concerns:write": "report a concern about a customer",
    "out_of_hours:read": "the out-of-hours list: addresses and instructions of active markers",
    "tenancies:write": "record a customer's move: a new tenancy, ending the one they have",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,60}$")


class Unauthorised(WorkflowError):
    """No token, or one that is unknown or revoked."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(db: Session, *, pack: Pack, actor: Actor, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """An administrator creates a token; returns the row and the token (shown only now)."""
    if not permissions.is_administrator(pack, actor):
        raise NotAllowed("only an administrator may create API tokens")
    name = (name or "").strip().lower()
    if not _NAME.match(name):
        raise WorkflowError("name: use 2 to 61 lower-case letters, digits, '.', '_' or '-' (e.g. housing-system)")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise WorkflowError(f"scopes: {'unknown ' + ', '.join(unknown) if unknown else 'give at least one'} "
                            f"(known: {', '.join(SCOPES)})")
    if db.scalar(select(ApiToken.id).where(ApiToken.name == name)):
        raise WorkflowError(f"name: there is already a token called '{name}'")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_digest(token), prefix=token[:10], scopes=sorted(set(scopes)),
                   created_by=actor.username, created_at=clock.now())
    db.add(row)
    db.flush()
    audit.record(db, actor=actor.username, action="api_token_created", token=name, scopes=row.scopes)
    return row, token


def revoke(db: Session, *, pack: Pack, actor: Actor, name: str) -> ApiToken:
    if not permissions.is_administrator(pack, actor):
        raise NotAllowed("only an administrator may revoke API tokens")
    row = db.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise NotFound(f"there is no token called '{name}'")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(db, actor=actor.username, action="api_token_revoked", token=name)
    return row


def tokens(db: Session) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).order_by(ApiToken.name)))


def authenticate(db: Session, *, token: str | None) -> ApiToken:
    """The live token this bearer token is, or Unauthorised."""
    if not token or not token.startswith(PREFIX):
        raise Unauthorised("send a token: Authorization: Bearer af_...")
    digest = _digest(token)
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
        raise Unauthorised("the token is unknown or has been revoked")
    now = clock.now()
    if row.last_used_at is None or clock.as_utc(row.last_used_at) < now - timedelta(minutes=5):
        row.last_used_at = now  # coarse, so that busy clients do not write on every call
    return row


def require_scope(row: ApiToken, scope: str) -> None:
    if scope not in (row.scopes or []):
        raise NotAllowed(f"this token may not do that: it lacks the scope '{scope}'")


def actor_of(row: ApiToken) -> Actor:
    """How the engine sees a token: a caller with no role, named api:<name> in the audit log."""
    return Actor(f"api:{row.name}", frozenset(), 0)

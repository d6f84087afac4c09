"""Single sign-on: a person the landlord's identity provider (OpenID Connect) vouches for gets
an account here, with the roles the pack's `[sso] groups` give their groups there.

The web face checks the provider's ID token (signature, issuer, audience, expiry, nonce) and
hands over its claims; this module decides who that is and what they may do:

- the account is found by the provider's issuer and subject, never by a matching username, so
  a password account of the same name is not taken over;
- a first sign-in creates the account (username, full name and e-mail from the claims);
- at each sign-in the roles follow the groups: roles given by a group they joined are added,
  roles of a group they left are withdrawn (a role change ends their other sessions, as any
  role change does); the last active administrator keeps the role, and is refused until
  another account holds it;
- someone whose groups give no role here, or whose account was switched off here, is refused.

Every sign-in, refusal and role change is an audit event."""
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows.accounts import people
from workflows.accounts.credentials import SignIn
from workflows.compliance import audit
from workflows.definitions.pack import Pack
from workflows.platform import text
from workflows.platform.errors import WorkflowError
from workflows.platform.models import User

BY = "single sign-on"  # the actor of the account changes a sign-in makes
SUBJECT_LENGTH = 600


class SsoRefused(WorkflowError):
    """A sign-in the identity provider vouched for that is refused here; the message says why."""


@dataclass(frozen=True)
class Identity:
    """Who the identity provider says signed in."""
    issuer: str
    subject: str
    username: str
    full_name: str
    email: str | None
    groups: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.issuer} {self.subject}"


def _claim_text(claims: dict, name: str) -> str:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) else ""


def identity_from_claims(claims: dict, *, provider: str, username_claim: str = "preferred_username",
                         groups_claim: str = "groups") -> Identity:
    """The person named by an ID token's (already verified) claims."""
    issuer, subject = _claim_text(claims, "iss"), _claim_text(claims, "sub")
    if not issuer or not subject:
        raise SsoRefused(f"{provider} did not say who signed in (the sign-in had no issuer or subject)")
    if len(issuer) + 1 + len(subject) > SUBJECT_LENGTH:
        raise SsoRefused(f"{provider} sent an identifier longer than {SUBJECT_LENGTH} characters")
    username = _claim_text(claims, username_claim)
    if not username:
        raise SsoRefused(f"{provider} did not send your username (the '{username_claim}' claim): ask your "
                         f"IT administrator to include it in the sign-in token")
    if groups_claim not in claims and groups_claim in (claims.get("_claim_names") or {}):
        # Microsoft Entra ID's "groups overage": too many groups to list in the token
        raise SsoRefused(f"You are in too many groups for {provider} to list them in the sign-in token. Ask your "
                         f"IT administrator to send only the groups assigned to the application")
    groups = claims.get(groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        raise SsoRefused(f"{provider} sent the '{groups_claim}' claim in a form not understood (not a list of groups)")
    full_name = _claim_text(claims, "name") or " ".join(
        n for n in (_claim_text(claims, "given_name"), _claim_text(claims, "family_name")) if n) or username
    return Identity(issuer=issuer, subject=subject, username=username, full_name=full_name,
                    email=_claim_text(claims, "email") or None,
                    groups=tuple(str(g) for g in groups if isinstance(g, (str, int))))


def roles_for_groups(pack: Pack, groups) -> set[str]:
    """The roles the pack's [sso] groups give someone in these groups."""
    return {role for group in groups for role in pack.sso_groups.get(str(group).strip(), ())}


def sign_in(db: Session, *, pack: Pack, identity: Identity, provider: str, address: str | None = None) -> SignIn:
    """Sign in (creating or updating the account) or refuse; the caller commits either way, so a
    refusal's audit event is kept while nothing of the refused change is."""
    address = (address or "")[:64]
    try:
        try:
            with db.begin_nested():
                user = _account(db, pack=pack, identity=identity, provider=provider)
        except IntegrityError:  # the same person's first sign-in twice at once: the other one made the account
            raise SsoRefused("Another sign-in to this account was being made at the same moment. Sign in again.")
    except WorkflowError as err:
        user = db.scalar(select(User).where(User.sso_subject == identity.key))
        if user is not None:  # whatever they had here, their sessions end with the refusal
            people.end_sessions(user)
        audit.record(db, actor=identity.username[:text.USERNAME], action="sso_sign_in_refused", address=address,
                     provider=provider, groups=sorted(identity.groups), reason=str(err))
        return SignIn(None, str(err) if isinstance(err, SsoRefused) else f"Your sign-in could not be accepted: {err}")
    audit.record(db, actor=user.username, action="signed_in", address=address, method=BY, provider=provider,
                 groups=sorted(identity.groups), roles=sorted(user.role_keys))
    return SignIn(user)


def _account(db: Session, *, pack: Pack, identity: Identity, provider: str) -> User:
    roles = roles_for_groups(pack, identity.groups)
    user = db.scalar(select(User).where(User.sso_subject == identity.key))
    if user is None:
        if db.scalar(select(User.id).where(User.username == identity.username)):
            raise SsoRefused(f"There is already an account '{identity.username}' here that signs in with a password, "
                             f"so signing in with {provider} will not take it over. Ask your administrator.")
        if not roles:
            raise SsoRefused(_no_role(identity, provider, pack))
        user = people.add_user(db, pack=pack, username=identity.username, full_name=identity.full_name,
                               roles=sorted(roles), email=identity.email, by=BY)
        user.sso_subject = identity.key
        return user
    if not user.active:
        raise SsoRefused(f"Your account '{user.username}' is switched off here. Ask your administrator.")
    if not roles:
        raise SsoRefused(_no_role(identity, provider, pack))
    before = user.role_keys & set(pack.roles)
    if roles != before:
        people.set_roles(db, pack=pack, username=user.username, add=sorted(roles - before),
                         remove=sorted(before - roles), by=BY)
    full_name = text.clean_text(identity.full_name, field="full_name", max_length=text.FULL_NAME, label="full name")
    email = text.clean_text(identity.email, field="email", max_length=text.EMAIL) or None
    if (full_name, email) != (user.full_name, user.email):
        audit.record(db, actor=BY, action="user_details_changed", username=user.username,
                     **({"full_name": full_name} if full_name != user.full_name else {}),
                     **({"email": email} if email != user.email else {}))
        user.full_name, user.email = full_name or user.username, email
    return user


def _no_role(identity: Identity, provider: str, pack: Pack) -> str:
    if not pack.sso_groups:
        return (f"You signed in with {provider} as {identity.username}, but this system does not yet say which "
                f"groups give which roles ([sso] groups in the policy pack's pack.toml). Ask your administrator.")
    return (f"You signed in with {provider} as {identity.username}, but none of your groups there gives you a "
            f"role in this system. Ask your administrator to add you to a group that does.")

"""Users with their roles, and customers (tenants)."""
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock, text
from workflows.platform.errors import NotFound, WorkflowError
from workflows.platform.models import Customer, User, UserRole
from workflows.definitions.pack import Pack
from workflows.register import tenancy as tenancies


def add_user(db: Session, *, pack: Pack, username: str, full_name: str, roles: list[str],
             email: str | None = None, by: str = "system") -> User:
    """Create a user holding roles of the pack."""
    username = text.clean_text(username, field="username", max_length=text.USERNAME)
    full_name = text.clean_text(full_name, field="full_name", max_length=text.FULL_NAME, label="full name")
    email = text.clean_text(email, field="email", max_length=text.EMAIL) or None
    # e-mail shaped names too: single sign-on's usernames are often the person's sign-in address
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").replace("@", "").isalnum():
        raise WorkflowError(f"'{username}' is not a valid username (letters, digits, . _ - @ only)")
    if db.scalar(select(User.id).where(User.username == username)):
        raise WorkflowError(f"there is already a user '{username}'")
    if not roles:
        raise WorkflowError("give the user at least one role")
    for role in roles:
        pack.require_role(role)
    user = User(username=username, full_name=full_name or username, email=email,
                created_at=clock.now(), roles=[UserRole(role=r) for r in dict.fromkeys(roles)])
    db.add(user)
    db.flush()
    audit.record(db, actor=by, action="user_added", username=username, roles=sorted(set(roles)))
    return user


def set_roles(db: Session, *, pack: Pack, username: str, add=(), remove=(), by: str = "system") -> User:
    """Grant and withdraw roles; a change ends the user's sessions, so they sign in again to
    act in their new roles."""
    from workflows.accounts.credentials import require_another_administrator  # it imports this module
    user = get_user(db, username=username)
    before = user.role_keys
    for role in add:
        pack.require_role(role)
    after = (before | set(add)) - set(remove)
    if not after:
        raise WorkflowError(f"{username} would be left with no roles: a user needs at least one role")
    if pack.administrator_role in before - after:
        require_another_administrator(db, pack, user, "lose the administrator role")
    if after != before:
        user.roles = [r for r in user.roles if r.role in after] + [UserRole(role=r) for r in sorted(after - before)]
        end_sessions(user)
    db.flush()
    audit.record(db, actor=by, action="user_roles_changed", username=username,
                 added=sorted(add), removed=sorted(remove))
    return user


class AwayInvalid(WorkflowError):
    """Days away that make no sense; the message says why."""


def set_away(db: Session, *, username: str, away_from: date | None, away_until: date | None,
             by: str = "system") -> User:
    """Record a user away on these days inclusive (leave, sickness), or back (both None). While
    every holder of a role is away, those who deputise for it may take its steps."""
    if (away_from is None) != (away_until is None):
        raise AwayInvalid("give both the first and the last day away, or neither to mark them back")
    if away_from and away_until < away_from:
        raise AwayInvalid(f"the last day away ({away_until}) is before the first ({away_from})")
    user = get_user(db, username=username)
    user.away_from, user.away_until = away_from, away_until
    if away_from:
        audit.record(db, actor=by, action="user_away", username=username, away_from=away_from.isoformat(),
                     away_until=away_until.isoformat())
    else:
        audit.record(db, actor=by, action="user_back", username=username)
    return user


def set_announce_new_steps(db: Session, *, username: str, on: bool, by: str) -> User:
    """Whether this person is e-mailed when a step arrives in their inbox (their own choice)."""
    user = get_user(db, username=username)
    if user.announce_new_steps != on:
        user.announce_new_steps = on
        audit.record(db, actor=by, action="new_step_emails_" + ("on" if on else "off"), username=username)
    return user


def end_sessions(user: User) -> None:
    """End every session the user has signed in (each carries the generation it began in)."""
    user.session_generation = (user.session_generation or 0) + 1


def get_user(db: Session, *, username: str) -> User:
    """One user by username."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"there is no user '{username}'")
    return user


def list_users(db: Session) -> list[User]:
    """Every user, by username."""
    return list(db.scalars(select(User).order_by(User.username)))


def add_customer(db: Session, *, reference: str, name: str, address: str = "", postcode: str = "",
                 tenancy_ref: str | None = None, household_of: str | None = None,
                 uprn: str | None = None, property_ref: str | None = None, starts: date | None = None,
                 by: str = "system") -> Customer:
    """Record a customer (tenant) the register may hold markers about; household_of names the
    lead tenant (by reference) whose household this person belongs to."""
    reference = text.clean_text(reference, field="reference", max_length=text.CUSTOMER_REFERENCE)
    name = text.clean_text(name, field="name", max_length=text.CUSTOMER_NAME)
    if not reference or not name:
        raise WorkflowError("a customer needs a reference and a name")
    if db.scalar(select(Customer.id).where(Customer.reference == reference)):
        raise WorkflowError(f"there is already a customer with reference '{reference}'")
    lead = None
    household_of = text.clean_text(household_of, field="household_of", max_length=text.CUSTOMER_REFERENCE,
                                   label="lead tenant") or None
    if household_of:
        lead = db.scalar(select(Customer).where(Customer.reference == household_of))
        if lead is None:
            raise WorkflowError(f"there is no customer '{household_of}' to be the lead tenant of {reference}'s "
                                f"household: add the lead tenant first")
        if lead.household_of_id is not None:
            raise WorkflowError(f"{household_of} is a member of another lead tenant's household, not a lead "
                                f"tenant: name the lead tenant of the household")
    customer = Customer(reference=reference, name=name, household_of_id=lead.id if lead else None)
    db.add(customer)
    db.flush()
    if address or postcode or property_ref:  # where they live: a property and a tenancy there
        tenancies.move_in(db, actor=by, customer=customer, address=address, postcode=postcode, uprn=uprn,
                          property_ref=property_ref, tenancy_ref=tenancy_ref, starts=starts,
                          since_unknown=True)
    audit.record(db, actor=by, action="customer_added", reference=reference,
                 **({"household_of": lead.reference} if lead else {}))
    return customer


def find_customers(db: Session, *, text: str, limit: int = 20) -> list[Customer]:
    """Customers whose name or reference contains the text, or whose home's address or postcode does."""
    return list(db.scalars(select(Customer).where(tenancies.customers_matching(text))
                           .order_by(Customer.name).limit(limit)))

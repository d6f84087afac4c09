"""Users and their roles and days away, customers, API tokens."""
import click

from workflows.accounts import credentials, people, second_factor
from workflows.definitions.pack import active_pack

from cli.app import actor_named, day, in_transaction, main


@main.group()
def users():
    """Staff accounts and their roles."""


@users.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True)
@click.option("--role", "roles", multiple=True, help="A role key of the pack (repeatable; at least one).")
@click.option("--email")
@click.option("--password", help="Their first password, so they can sign in to the web app.")
@in_transaction
def users_add(db, username, full_name, roles, email, password):
    """Add a user with one or more roles."""
    user = people.add_user(db, pack=active_pack(), username=username, full_name=full_name,
                           roles=list(roles), email=email)
    if password:
        credentials.set_password(db, username=user.username, password=password, by="cli")
    click.echo(f"added {user.username} ({', '.join(sorted(user.role_keys))})")


@users.command("password")
@click.argument("username")
@click.password_option("--password", help="The new password (asked for when not given).")
@in_transaction
def users_password(db, username, password):
    """Set a user's password (clearing their failed sign-ins and ending their sessions)."""
    credentials.set_password(db, username=username, password=password, by="cli")
    click.echo(f"password set for {username}")


@users.command("reset-mfa")
@click.argument("username")
@click.option("--as", "by", required=True, metavar="ADMIN", help="The administrator doing it.")
@in_transaction
def users_reset_mfa(db, username, by):
    """Reset someone's two-step sign-in (a lost phone): they set it up again at their next sign-in."""
    second_factor.reset(db, pack=active_pack(), actor=actor_named(db, by), username=username)
    click.echo(f"two-step sign-in reset for {username}: they set it up again at their next sign-in")


@users.command("rekey-mfa")
@in_transaction
def users_rekey_mfa(db):
    """Re-encrypt every two-step sign-in secret with the newest key (the first of ALERTFLOW_MFA_KEY)."""
    click.echo(f"{second_factor.rekey(db)} two-step sign-in secrets re-encrypted with the newest key")


@users.command("roles")
@click.argument("username")
@click.option("--add", "add", multiple=True)
@click.option("--remove", "remove", multiple=True)
@in_transaction
def users_roles(db, username, add, remove):
    """Grant or withdraw roles (their sessions end, so they sign in again in the new roles)."""
    user = people.set_roles(db, pack=active_pack(), username=username, add=add, remove=remove, by="cli")
    click.echo(f"{user.username}: {', '.join(sorted(user.role_keys)) or 'no roles'}")


@users.command("deactivate")
@click.argument("username")
@in_transaction
def users_deactivate(db, username):
    """Switch an account off: it cannot sign in or be given steps, and its sessions end."""
    credentials.set_active(db, pack=active_pack(), username=username, active=False, by="cli")
    click.echo(f"{username} switched off")


@users.command("activate")
@click.argument("username")
@in_transaction
def users_activate(db, username):
    """Switch an account back on."""
    credentials.set_active(db, pack=active_pack(), username=username, active=True, by="cli")
    click.echo(f"{username} switched on")


@users.command("away")
@click.argument("username")
@click.option("--from", "away_from", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day away.")
@click.option("--until", "away_until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day away.")
@in_transaction
def users_away(db, username, away_from, away_until):
    """Record someone away (leave, sickness): their deputies may take their role's steps meanwhile."""
    people.set_away(db, username=username, away_from=away_from.date(), away_until=away_until.date(), by="cli")
    click.echo(f"{username} away from {day(away_from)} to {day(away_until)}")


@users.command("back")
@click.argument("username")
@in_transaction
def users_back(db, username):
    """Record someone back: their role's steps are theirs alone again."""
    people.set_away(db, username=username, away_from=None, away_until=None, by="cli")
    click.echo(f"{username} back")


@users.command("new-step-emails")
@click.argument("username")
@click.argument("choice", type=click.Choice(["on", "off"]))
@in_transaction
def users_new_step_emails(db, username, choice):
    """E-mail this person (or stop) whenever a step arrives in their inbox."""
    user = people.set_announce_new_steps(db, username=username, on=choice == "on", by="cli")
    click.echo(f"{username} is {'now' if user.announce_new_steps else 'not'} e-mailed when a step arrives"
               + ("" if user.email or not user.announce_new_steps else " (but has no e-mail address yet)"))


@users.command("list")
@in_transaction
def users_list(db):
    """Every user and their roles."""
    for user in people.list_users(db):
        away = f"  (away {user.away_from} to {user.away_until})" if user.away_from else ""
        click.echo(f"{user.username:24} {user.full_name:30} {', '.join(sorted(user.role_keys))}{away}")


@main.group()
def customers():
    """Customers (tenants)."""


@customers.command("add")
@click.argument("reference")
@click.option("--name", required=True)
@click.option("--address", default="")
@click.option("--postcode", default="")
@click.option("--uprn", default=None, help="The property's Unique Property Reference Number, where known.")
@click.option("--property", "property_ref", default=None, help="A property on record, by its reference.")
@click.option("--tenancy-ref", "tenancy_ref", default=None)
@click.option("--household-of", "household_of", default=None,
              help="The lead tenant (reference) whose household this person belongs to.")
@in_transaction
def customers_add(db, reference, name, address, postcode, uprn, property_ref, tenancy_ref, household_of):
    """Add a customer, and their tenancy from today where an address (or property) is given."""
    customer = people.add_customer(db, reference=reference, name=name, address=address, postcode=postcode,
                                   uprn=uprn, property_ref=property_ref, tenancy_ref=tenancy_ref,
                                   household_of=household_of)
    click.echo(f"added customer {customer.reference}" + (f", of {household_of}'s household" if household_of else ""))


@main.group()
def tokens():
    """API tokens for housing management systems and out-of-hours services."""


@tokens.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="markers:read, concerns:write or out_of_hours:read (repeatable).")
@click.option("--as", "username", required=True, help="An administrator.")
@in_transaction
def tokens_create(db, name, scopes, username):
    """Create a token; it is printed once, and only its hash is kept."""
    from workflows.accounts import api_tokens
    row, token = api_tokens.create(db, pack=active_pack(), actor=actor_named(db, username), name=name, scopes=list(scopes))
    click.echo(f"token {row.name} ({', '.join(row.scopes)}): {token}")
    click.echo("keep it now: it is not shown again")


@tokens.command("list")
@in_transaction
def tokens_list(db):
    """Every token: name, scopes, when last used, whether revoked (never the token)."""
    from workflows.accounts import api_tokens
    for t in api_tokens.tokens(db):
        state = f"revoked {day(t.revoked_at)}" if t.revoked_at else f"last used {day(t.last_used_at)}"
        click.echo(f"{t.name:24} {t.prefix}...  {', '.join(t.scopes):40} {state}")


@tokens.command("revoke")
@click.argument("name")
@click.option("--as", "username", required=True, help="An administrator.")
@in_transaction
def tokens_revoke(db, name, username):
    """Revoke a token at once."""
    from workflows.accounts import api_tokens
    api_tokens.revoke(db, pack=active_pack(), actor=actor_named(db, username), name=name)
    click.echo(f"token {name} revoked")

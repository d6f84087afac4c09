"""Calling the JSON API as a housing system would: a token made through the command line, its header."""
import re

from sqlalchemy import func, select

from workflows.platform import db as database
from workflows.platform.models import Alert


def token(cli, name, *scopes):
    out = cli("tokens", "create", name, *sum((["--scope", s] for s in scopes), []), "--as", "ada")
    return re.search(r"(af_\S+)", out).group(1)


def bearer(value):
    return {"Authorization": f"Bearer {value}"}


def count_alerts():
    with database.transaction() as db:
        return db.scalar(select(func.count()).select_from(Alert))

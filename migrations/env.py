"""Alembic environment: the URL comes from workflows.platform.config, the schema from workflows.platform.models."""
from alembic import context

from workflows.platform import config
from workflows.platform.db import engine_for
from workflows.platform.models import Base

target_metadata = Base.metadata


def run_migrations_offline():
    context.configure(url=config.database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    with engine_for(config.database_url()).connect() as connection:
        _run(connection)


def _run(connection):
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

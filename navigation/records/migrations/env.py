"""Alembic environment, configured programmatically by navigation.records.database (no alembic.ini
at run time). The caller passes an open connection in ``config.attributes["connection"]`` and the
models' metadata in ``config.attributes["target_metadata"]`` (alembic loads this file by path, so
it cannot import the package relatively, and the installed package is ``tmsnav.navigation``)."""

from __future__ import annotations

from alembic import context



def run_migrations() -> None:
    """Run the migrations on the caller's connection (Alembic executes this file for each run)."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:  # pragma: no cover - only reachable from the alembic CLI, which we do not use
        raise RuntimeError("run migrations through navigation.records.database.Database.open")
    context.configure(connection=connection, target_metadata=config.attributes.get("target_metadata"),
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


# Outside an Alembic run (a test or tool importing every tmsnav module) alembic.context has no
# config: importing this file then does nothing.
if hasattr(context, "config"):
    run_migrations()

"""Alembic environment: runs against the connection newsdrop hands over (see db/migrate.py)."""

from alembic import context

from db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - newsdrop always passes a connection
    raise RuntimeError("run migrations with `newsdrop db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

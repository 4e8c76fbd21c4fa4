"""Alembic environment: runs on the connection the API hands over (or the configured URL)."""

from alembic import context
from sqlalchemy import create_engine

from api.db.models import Base
import api.db.calendars  # noqa: F401  (its tables join Base.metadata)

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), hide_parameters=True)  # no values in logs
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()

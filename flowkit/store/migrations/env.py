"""Alembic environment: runs on the connection flowkit hands it, or on the URL."""

from __future__ import annotations

from alembic import context

import flowkit.lms.tables  # noqa: F401  (the built-in platform's tables share the metadata)
from flowkit.store.database import create_engine
from flowkit.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()

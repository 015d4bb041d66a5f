"""Durable state: the schema, the database connection and migrations, and the queries."""

from flowkit.store.database import create_engine, database_url, ensure_schema, upgrade
from flowkit.store.repository import LIVE, Changes, EventRow, RunRow, Store

__all__ = [
    "LIVE",
    "Changes",
    "EventRow",
    "RunRow",
    "Store",
    "create_engine",
    "database_url",
    "ensure_schema",
    "upgrade",
]

"""``flowkit report <flow>``: conversion, drop-off and held messages, from the database."""

from __future__ import annotations

import json

import click

from flowkit.cli._group import main


@main.command()
@click.argument("flow")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--database-url", envvar="DATABASE_URL", default=None)
def report(flow: str, as_json: bool, database_url: str | None) -> None:
    """How FLOW does: conversion to its goal per branch and split arm, drop-off per
    step, and the messages quiet hours and frequency caps deferred or dropped."""
    from flowkit.rules import report as reports
    from flowkit.runtime import services
    from flowkit.store import Store
    from flowkit.store import database as db

    engine = db.create_engine(db.database_url(database_url or services.database_url()))
    try:
        db.ensure_schema(engine, migrate=False)
        with db.reading(engine) as conn:
            built = reports.build(conn, Store(engine), flow)
    finally:
        engine.dispose()
    click.echo(json.dumps(reports.as_dict(built), indent=2) if as_json
               else reports.render(built), nl=False)

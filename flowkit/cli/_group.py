"""The ``flowkit`` command group and how it reports user mistakes."""

from __future__ import annotations

import sys
from typing import Any

import click

from flowkit.errors import FlowkitError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FlowkitError as error:
            click.secho(f"error: {error}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="flowkit")
def main() -> None:
    """flowkit: user automations as code."""

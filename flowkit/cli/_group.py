"""The ``flowkit`` command group and how it reports failures.

A command that fails exits with status 2 and one line on stderr saying what is wrong
and what to do: a user mistake (a ``FlowkitError``: a flow that does not compile, a bad
event) as much as a database or Redis that cannot be used (unreachable, unknown database,
missing tables, missing driver, ``flowkit.runtime.faults``). Status 1 is kept for a
command that ran and found something: ``check``'s errors, ``diff``'s unacknowledged
effects, ``docs --check``'s stale pages. ``--debug`` or ``FLOWKIT_DEBUG=1``
adds the traceback. URLs in the line have their passwords redacted.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, NoReturn

import click

from flowkit.errors import FlowkitError

EXIT_FAILURE = 2


def _debugging(ctx: click.Context) -> bool:
    return bool(ctx.meta.get("flowkit.debug")) or os.environ.get(
        "FLOWKIT_DEBUG", "").lower() in ("1", "true", "yes")


def _fail(ctx: click.Context, error: BaseException, line: str, status: int) -> NoReturn:
    from flowkit.runtime.services import redact_url

    if _debugging(ctx):
        traceback.print_exception(error, file=sys.stderr)
    click.secho(f"error: {redact_url(line)}", fg="red", err=True)
    sys.exit(status)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as error:
            from flowkit.runtime.faults import diagnose

            problem = diagnose(error)
            if problem is not None:
                _fail(ctx, error, str(problem), EXIT_FAILURE)
            if isinstance(error, FlowkitError):
                _fail(ctx, error, str(error), EXIT_FAILURE)
            raise


def _debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["flowkit.debug"] = True


@click.group(cls=_Group)
@click.version_option(package_name="flowkit")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_debug,
              help="Show the traceback of a failure (also FLOWKIT_DEBUG=1).")
def main() -> None:
    """flowkit: user automations as code."""

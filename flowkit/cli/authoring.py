"""Commands for flow authors and reviewers: compile, simulate, new, check, graph, docs, diff."""

from __future__ import annotations

import json
import sys

import click

from flowkit.cli._group import main


@main.command("compile")
@click.argument("sources", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the step machines as JSON.")
@click.option("--diagrams", is_flag=True, hidden=True,
              help="With --json, add each flow's Mermaid diagram (for `flowkit diff`).")
def compile_command(sources: tuple[str, ...], as_json: bool, diagrams: bool) -> None:
    """Compile flows and print their steps with ids.

    SOURCES are module names, .py files or folders (default: automations/ and tracks/).
    """
    from flowkit.runtime.discovery import load_flows

    flows = load_flows(list(sources) or None)
    if as_json:
        from flowkit.review.formats import render

        click.echo(json.dumps([{**f.ir.to_dict(), **({"mermaid": render(f)} if diagrams
                                                      else {})} for f in flows],
                              indent=2, ensure_ascii=False))
        return
    if not flows:
        click.echo("no flows found")
        return
    for flow in flows:
        click.echo(f"{flow.kind} {flow.name}  (version {flow.version}, {flow.module})")
        for trigger in flow.triggers:
            where = " where ..." if trigger.where else ""
            click.echo(f"  on {trigger.event}{where}")
        for exit_ in flow.event_exits:
            click.echo(f"  exit when {exit_.describe()}")
        for state_exit in flow.state_exits:
            click.echo(f"  exit when {state_exit.label}(run)")
        for step in flow.ir.steps:
            click.echo(f"  {step.line:>4}  {step.kind:<9} {step.id:<32} {step.call}")
        click.echo()


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--users", default=6, show_default=True, help="How many users to simulate.")
@click.option("--days", default=10, show_default=True, help="How many days to simulate.")
@click.option("--course", default="python-101", show_default=True,
              help="The course the simulated learners enroll in and complete.")
def simulate(sources: tuple[str, ...], users: int, days: int, course: str) -> None:
    """Compile your flows and simulate a small cohort on a virtual clock (no services).

    SOURCES are module names, .py files or folders (default: automations/ and tracks/).
    """
    from flowkit.demo import run_demo

    run_demo(users=users, days=days, echo=click.echo, sources=sources, course=course)


@main.command()
@click.argument("template", required=False)
@click.argument("name", required=False)
@click.option("--list", "list_only", is_flag=True, help="List the premade templates.")
@click.option("--folder", default="automations", show_default=True,
              help="Where to write the module (its email goes to emails/ beside it).")
def new(template: str | None, name: str | None, list_only: bool, folder: str) -> None:
    """Write the premade TEMPLATE as a ready automation NAME: automations/NAME.py (and
    its email). Without arguments, or with --list, list the templates."""
    from flowkit.lms import templates

    if list_only or template is None:
        click.echo("premade templates (flowkit new TEMPLATE NAME):")
        for premade in templates.list():
            click.echo(f"  {premade.slug:<18} {premade.title}: {premade.summary}")
        return
    written = templates.write(template, name or "", folder)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"edit its settings, then check it with `flowkit compile {written[0]}`")


ACKNOWLEDGE = ("repeat", "skip", "strand")


def _allowed(values: tuple[str, ...], stranded: bool) -> list[str]:
    kinds = {k.strip() for v in values for k in v.split(",") if k.strip()}
    if "all" in kinds:
        kinds = set(ACKNOWLEDGE)
    unknown = kinds - set(ACKNOWLEDGE)
    if unknown:
        raise click.UsageError(f"--allow takes {', '.join(ACKNOWLEDGE)} or all, not "
                               f"{', '.join(sorted(unknown))}")
    return sorted(kinds | ({"strand"} if stranded else set()))


@main.command()
@click.argument("ref")
@click.option("--database-url", default=None,
              help="Count the runs resting at each step in this database.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True,
              help="The report, a pull-request comment (with diagrams), or JSON.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
@click.option("--allow", multiple=True, metavar="KINDS",
              help="Acknowledge effects on waiting runs: repeat, skip, strand or all "
                   "(comma-separated or repeated); exit 0 despite them.")
@click.option("--allow-stranded", is_flag=True, hidden=True, help="Same as --allow strand.")
def diff(ref: str, database_url: str | None, fmt: str, as_json: bool,
         allow: tuple[str, ...], allow_stranded: bool) -> None:
    """What the working tree changes in each flow since the git REF, and what that does
    to the runs waiting: actions they would repeat or skip, runs stranded, deadlines and
    conditions changed. Exits 1 when a waiting run would repeat, skip or be stranded
    (without --database-url: any run that may wait at a changed place), unless --allow
    acknowledges it."""
    from pathlib import Path

    from flowkit.review import diff as review
    from flowkit.review import diff_report as report
    from flowkit.review.formats import render
    from flowkit.runtime.discovery import DEFAULT_FOLDERS, load_flows

    allowed = _allowed(allow, allow_stranded)
    before = review.snapshot_at(ref, Path.cwd())
    flows = load_flows([folder for folder in DEFAULT_FOLDERS if Path(folder).is_dir()])
    after = review.Snapshot({f.name: f.ir for f in flows}, {f.name: render(f) for f in flows})
    resting = review.resting_runs(database_url) if database_url else None
    diffs = review.compare(before.flows, after.flows, resting)
    counted = resting is not None
    if as_json or fmt == "json":
        click.echo(report.as_json(diffs))
    elif fmt == "markdown":
        click.echo(report.comment(diffs, ref, counted, before, after, allowed), nl=False)
    else:
        click.echo(report.text(diffs, ref, counted, allowed), nl=False)
    if any(d.blocking(allowed) for d in diffs):
        sys.exit(1)


@main.command("check")
@click.argument("paths", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True,
              help="One line per finding, a pull-request comment, or JSON.")
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
@click.option("--max-messages-per-day", type=click.IntRange(min=1), default=3,
              show_default=True, help="The most messages a flow may send a user in a day.")
def check_command(paths: tuple[str, ...], fmt: str, as_json: bool,
                  max_messages_per_day: int) -> None:
    """Check flows before they run: enrollment cycles, track destinations, unknown
    events, email templates and placeholders, unreachable steps, messages per day,
    duplicate names. One finding per line (file:line: severity: flow: message [check]
    (fix: hint)); exits 1 when any is an error.

    PATHS are module names, .py files or folders (default: automations/ and tracks/).
    """
    from flowkit.review.check import Options, check

    report = check(list(paths), Options(max_messages_per_day=max_messages_per_day))
    if as_json or fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        from flowkit.review.check_report import comment

        click.echo(comment(report), nl=False)
    else:
        for finding in report.findings:
            click.echo(str(finding))
        counts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in (
            (len(report.flows), "flow"), (report.errors, "error"), (report.warnings, "warning"))]
        click.echo(f"checked {counts[0]}: {counts[1]}, {counts[2]}", err=True)
    sys.exit(1 if report.errors else 0)


@main.command("graph")
@click.argument("flow")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]),
              default="mermaid", show_default=True,
              help="Mermaid (renders in pull requests), Graphviz DOT, or SVG (needs Graphviz).")
@click.option("--sources", multiple=True, help="Modules, files or folders of flows "
              "(repeatable; default: automations/ and tracks/).")
def graph_command(flow: str, fmt: str, sources: tuple[str, ...]) -> None:
    """Draw FLOW, a flow's name, as a diagram: its triggers, steps, decisions, exits.
    Other flows that do not compile, or modules that do not import, do not stop it."""
    from flowkit.review.formats import find_flow, render
    from flowkit.runtime.discovery import find_flows

    flows, problems = find_flows(list(sources) or None)
    for problem in problems:
        if problem.flow == flow or (not flows and problem is problems[-1]):
            raise problem.error
    click.echo(render(find_flow(flows, flow), fmt), nl=False)


@main.command("docs")
@click.option("--out", default="docs/flows", show_default=True,
              type=click.Path(file_okay=False), help="The folder of the generated pages.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 listing the pages that are out of date.")
@click.option("--sources", multiple=True, help="Modules, files or folders of flows "
              "(repeatable; default: automations/ and tracks/).")
def docs_command(out: str, check: bool, sources: tuple[str, ...]) -> None:
    """Write a Markdown page per flow (triggers, exits, diagram, steps) and an index,
    and remove the pages of flows that no longer exist."""
    from pathlib import Path

    from flowkit.review.docs import sync_docs
    from flowkit.runtime.discovery import load_flows

    folder = Path(out)
    report = sync_docs(load_flows(list(sources) or None), folder, check=check)
    if check:
        if report.stale:
            count = len(report.stale)
            pages = "1 page is" if count == 1 else f"{count} pages are"
            click.echo(f"{pages} out of date in {folder} (run `flowkit docs`):", err=True)
            for name in report.stale:
                why = "no longer a flow" if name in report.removed else \
                    "changed" if (folder / name).exists() else "missing"
                click.echo(f"  {folder / name}: {why}", err=True)
            sys.exit(1)
        click.echo(f"{out}: {report.pages} pages, up to date")
        return
    for name in report.written:
        click.echo(f"wrote {folder / name}")
    for name in report.removed:
        click.echo(f"removed {folder / name}")
    click.echo(f"{out}: {report.pages} pages, {len(report.written)} written, "
               f"{len(report.removed)} removed")

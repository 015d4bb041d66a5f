"""``flowkit init``: start a project of one's own in an empty folder."""

from __future__ import annotations

from pathlib import Path

import click

from flowkit.cli._group import main


def scaffold(folder: Path) -> list[Path]:
    """Write the starter project into ``folder`` (created if needed); never overwrites
    a file. Returns the files written."""
    from flowkit.cli._scaffold import FILES
    from flowkit.errors import ProjectExistsError

    name = folder.resolve().name or "school"
    existing = [folder / path for path in FILES if (folder / path).exists()]
    if existing:
        raise ProjectExistsError(folder, existing)
    written = []
    for path, text in FILES.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as file:
            file.write(text.replace("{name}", name) if path == "README.md" else text)
        written.append(target)
    return written


@main.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Start a project in FOLDER (default: here): a flow, its emails, a track, a test,
    pytest settings and a README. Never overwrites a file."""
    written = scaffold(folder)
    where = "here" if folder == Path(".") else str(folder)
    click.echo(f"created a flowkit project {where}:")
    for path in written:
        click.echo(f"  {path.relative_to(folder).as_posix()}")
    cd = "" if folder == Path(".") else f"cd {folder} && "
    click.echo(f"next: {cd}pytest, then flowkit simulate or flowkit run")

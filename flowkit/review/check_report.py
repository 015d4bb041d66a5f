"""``flowkit check --format markdown``: the findings as a pull-request comment."""

from __future__ import annotations

from flowkit.review.check import Report

MARKER = "<!-- flowkit check -->"  # lets a CI job find and update its own comment


def comment(report: Report) -> str:
    """The counts, then one table row per finding: where, the flow, what, the fix."""
    counts = (f"{_n(len(report.flows), 'flow')} checked: {_n(report.errors, 'error')}, "
              f"{_n(report.warnings, 'warning')}")
    verdict = "❌" if report.errors else "✅"
    lines = [MARKER, "## flowkit check", "", f"{verdict} **{counts}.**", ""]
    if report.findings:
        lines += ["| | where | flow | finding | fix |", "|---|---|---|---|---|"]
        for f in report.findings:
            mark = "❌ error" if f.severity == "error" else "⚠️ warning"
            lines.append(f"| {mark} | `{f.file}:{f.line}` | `{f.flow}` | "
                         f"{_cell(f.message)} ({f.check}) | {_cell(f.hint)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

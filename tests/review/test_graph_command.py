"""`flowkit graph`: a flow by name, in Mermaid, DOT or SVG; one-line errors."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from flowkit.cli import main
from tests.conftest import IN_CI
from tests.review.test_graph import ONBOARDING_DRIP_MERMAID


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_graph_prints_the_flow_in_mermaid_by_default(runner: CliRunner) -> None:
    result = runner.invoke(main, ["graph", "onboarding_drip"])
    assert result.exit_code == 0, result.output
    assert result.output == ONBOARDING_DRIP_MERMAID


def test_graph_prints_dot(runner: CliRunner) -> None:
    result = runner.invoke(main, ["graph", "day-1", "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith('digraph "day-1" {\n')
    assert "    t_track_joined -> s_send_email_day_1_welcome;\n" in result.output


def test_graph_reads_the_given_sources(runner: CliRunner) -> None:
    result = runner.invoke(main, ["graph", "three_tips", "--sources", "tests.review.graph_flows"])
    assert result.exit_code == 0, result.output
    assert "    s_wait_1d12h --> c_for_tip\n" in result.output


def test_an_unknown_flow_is_a_one_line_error_listing_the_known_ones(runner: CliRunner) -> None:
    result = runner.invoke(main, ["graph", "no_such_flow"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no flow is named 'no_such_flow'; known flows: ")
    assert "onboarding_drip" in lines[0] and "day-1" in lines[0]


@pytest.mark.skipif(shutil.which("dot") is None and not IN_CI,
                    reason="Graphviz's `dot` is not installed (apt-get install graphviz)")
def test_graph_draws_svg_with_graphviz(runner: CliRunner) -> None:
    result = runner.invoke(main, ["graph", "onboarding_drip", "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert "<svg" in result.output
    assert "completed a unit?" in result.output


def test_svg_without_graphviz_is_a_one_line_error(runner: CliRunner,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flowkit.review.dot.shutil.which", lambda name: None)
    result = runner.invoke(main, ["graph", "onboarding_drip", "--format", "svg"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: SVG needs Graphviz's `dot` program")
    assert "install graphviz" in lines[0]

"""The report page: what `flowkit report` prints, in the console."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_report_page_counts_steps_of_the_flow(console: TestClient) -> None:
    flow_page = console.get("/flows/checkout").text
    assert 'href="/flows/checkout/report"' in flow_page
    html = console.get("/flows/checkout/report").text
    assert re.search(r'id="conversion">4 runs; converted 0 \(0%\)', html)
    assert 'id="dropoff"' in html and 'id="held"' in html


def test_a_flow_the_database_does_not_know_is_a_404(console: TestClient) -> None:
    response = console.get("/flows/nope/report")
    assert response.status_code == 404
    assert "knows no flow" in response.text

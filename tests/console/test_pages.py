"""What each page shows: the counts, the diagram, a run, a user, the problems."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from flowkit.store import schema as t
from tests.console.conftest import Shop

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SVG = "{http://www.w3.org/2000/svg}"


def _cells(html: str, flow: str) -> dict[str, int]:
    row = re.search(rf'<tr data-flow="{flow}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {flow}"
    return {s: int(n) for s, n in
            re.findall(r'data-status="(\w+)">(\d+)<', row.group(1))}


def test_the_flows_page_shows_the_counts_the_database_holds(console: TestClient,
                                                             shop: Shop) -> None:
    html = console.get("/").text
    with shop.engine.db.connect() as conn:
        held = dict(conn.execute(sa.select(t.runs.c.status, sa.func.count())
                                 .where(t.runs.c.flow == "checkout")
                                 .group_by(t.runs.c.status)).all())
    checkout = _cells(html, "checkout")
    assert {s: n for s, n in checkout.items() if n} == held == {
        "waiting": 2, "parked": 1, "exited": 1}
    assert _cells(html, "starter")["waiting"] == 1


def test_the_flows_page_counts_starts_of_the_last_30_days(console: TestClient) -> None:
    html = console.get("/").text
    row = re.search(r'<tr data-flow="checkout">(.*?)</tr>', html, re.S)
    assert row is not None
    assert re.search(r'</svg> <span class="num">4</span>', row.group(1))


def test_the_diagram_shows_the_runs_resting_at_each_step(console: TestClient) -> None:
    html = console.get("/flows/checkout").text
    svg = ET.fromstring(re.search(r"<svg class=\"diagram\".*?</svg>", html, re.S).group(0))
    badges = {g.get("data-step"): g for g in svg.iter(f"{SVG}g")
              if g.get("data-step") is not None}
    assert set(badges) == {"send_email:receipt", "charge", "wait:1d", "big order?",
                           "send_email:thanks-big", "wait:30d", "send_email:review-request"}
    assert badges["wait:1d"].find(f"{SVG}text").text == "2"
    assert badges["charge"].find(f"{SVG}text").text == "1"
    assert "problem" in badges["charge"].get("class")
    assert badges["wait:30d"].find(f"{SVG}text").text == "0"


def test_the_counts_endpoint_gives_what_the_page_polls(console: TestClient) -> None:
    data = console.get("/flows/checkout/counts.json").json()
    assert data["counts"] == {"wait:1d": {"waiting": 2}, "charge": {"parked": 1}}


def test_the_flow_page_shows_source_triggers_exits_and_version(console: TestClient,
                                                               shop: Shop) -> None:
    html = console.get("/flows/checkout").text
    assert "on order.placed" in html
    assert "exit when order.cancelled" in html
    assert shop.engine.flows["checkout"].version in html
    assert "await charge(run.event[&#34;amount&#34;])" in html


def test_clicking_a_step_lists_the_runs_there(console: TestClient, shop: Shop) -> None:
    html = console.get("/flows/checkout?step=wait:1d").text
    listed = set(re.findall(r'<tr data-run="([^"]+)"', html))
    assert listed == {shop.run_of("alice"), shop.run_of("carol")}


def test_the_run_page_shows_history_locals_and_the_resting_line(console: TestClient,
                                                                shop: Shop) -> None:
    html = console.get(f"/runs/{shop.run_of('alice')}").text
    kinds = re.findall(r'<span class="kind">(\w+)</span>', html)
    assert kinds == ["started", "action", "action", "waiting"]
    assert '<span class="mono">charge(250)</span> → <span class="mono">&#34;charged 250&#34;' \
        in html
    assert "&#34;receipt&#34;: &#34;charged 250&#34;" in html  # a saved local
    resting = re.search(r'<span class="line rest" id="L(\d+)">.*?</span>(.*?)\n', html)
    assert resting and "await wait(days=1)" in resting.group(2)


def test_a_user_is_found_by_email_in_any_case(console: TestClient) -> None:
    response = console.get("/users", params={"q": "alice@school.TEST"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/users/alice"


def test_the_user_page_shows_runs_messages_tracks_and_timers(console: TestClient,
                                                             shop: Shop) -> None:
    html = console.get("/users/erin").text
    assert re.search(r'id="tracks">.*starter.*waiting', html, re.S)
    assert "starter-day-1" in html  # a message sent
    timers = re.search(r'id="timers">(.*?)</table>', html, re.S)
    assert timers and "wait:7d" in timers.group(1)
    assert shop.run_of("erin", "starter")[:8] in html


def test_problems_are_grouped_by_reason_with_their_runs(console: TestClient,
                                                        shop: Shop) -> None:
    html = console.get("/problems").text
    groups = re.findall(r'<section class="problem" data-flow="(\w+)" data-step="(\w+)">', html)
    assert groups == [("checkout", "charge")]
    assert "the card was declined" in html
    assert "<run id>" not in html and "&lt;run id&gt;" in html
    assert f'data-run="{shop.run_of("bob")}"' in html


def test_unknown_things_are_404_pages(console: TestClient) -> None:
    assert console.get("/flows/nope").status_code == 404
    assert console.get("/runs/nope").status_code == 404
    assert console.get("/users/nobody").status_code == 404


def test_with_many_problems_the_counts_stay_exact_and_reasons_are_sampled(shop: Shop) -> None:
    from flowkit.console import queries

    shop.engine.add_user("frank", fields={"card_declined": True})
    shop.engine.emit("order.placed", user="frank", amount=30)
    with shop.engine.db.connect() as conn:
        (group,) = queries.problems(conn, sample=1)
        (whole,) = queries.problems(conn)
    assert (group.count, group.sampled, [r.count for r in group.reasons]) == (2, True, [1])
    assert (whole.count, whole.sampled, [r.count for r in whole.reasons]) == (2, False, [2])


def test_runs_at_a_step_the_loaded_version_lacks_are_listed(console: TestClient,
                                                            shop: Shop) -> None:
    carol = shop.run_of("carol")
    with shop.engine.db.begin() as conn:  # as if a new version had dropped her step
        conn.execute(sa.update(t.runs).where(t.runs.c.id == carol)
                     .values(step="wait:2d", status="parked"))
    html = console.get("/flows/checkout").text
    row = re.search(r'<tr data-step="wait:2d">(.*?)</tr>', html, re.S)
    assert row and "not in the loaded version" in row.group(1)
    assert 'data-status="parked">1<' in row.group(1)

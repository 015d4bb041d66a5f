"""Retry, end and migrate from the console: asked for, confirmed, done once, and
written in the run's history with who and when."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.console.conftest import Shop

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _csrf(client: TestClient, page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(page).text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def _operator_entries(shop: Shop, run_id: str) -> list[dict[str, object]]:
    (run,) = [r for r in shop.engine.runs() if r.id == run_id]
    return [h.detail for h in run.history if h.kind == "operator"]


def test_retry_asks_first_then_moves_a_parked_run_on(console: TestClient, shop: Shop) -> None:
    # given bob's parked run, whose card now works
    parked = shop.run_of("bob")
    shop.engine.add_user("bob", email="bob@school.test", fields={"card_declined": False})
    # when the operator opens the retry, nothing happens until they confirm
    confirm = console.get(f"/runs/{parked}/retry")
    assert "Yes, retry" in confirm.text
    assert shop.status(parked) == ("parked", "charge")
    token = _csrf(console, f"/runs/{parked}/retry")
    done = console.post(f"/runs/{parked}/retry", data={"csrf": token})
    # then the run charged and waits a day, and its history says who retried it
    assert done.status_code == 200 and "Done: retried" in done.text
    assert shop.status(parked) == ("waiting", "wait:1d")
    (entry,) = _operator_entries(shop, parked)
    assert entry == {"action": "retry", "by": "ann", "role": "operator", "via": "console"}
    assert "retry</strong> by <strong>ann" in done.text


def test_retrying_a_waiting_run_is_refused_and_leaves_no_record(console: TestClient,
                                                                shop: Shop) -> None:
    waiting = shop.run_of("alice")
    response = console.post(f"/runs/{waiting}/retry",
                            data={"csrf": _csrf(console, f"/runs/{waiting}/retry")})
    assert response.status_code == 409
    assert "only failed or parked runs are retried" in response.text
    assert _operator_entries(shop, waiting) == []


def test_end_exits_a_waiting_run_and_takes_its_timer(console: TestClient, shop: Shop) -> None:
    waiting = shop.run_of("carol")
    console.post(f"/runs/{waiting}/end", data={
        "csrf": _csrf(console, f"/runs/{waiting}/end"), "reason": "asked for a refund"})
    (run,) = [r for r in shop.engine.runs() if r.id == waiting]
    assert run.status == "exited" and run.wakes_at is None
    assert run.reason == "ended by ann in the console: asked for a refund"
    assert run.kinds()[-1] == "ended"  # one entry: who, how and why, as `runs end` writes
    assert run.history[-1].detail == {"by": "ann", "how": "in the console",
                                         "reason": "asked for a refund"}
    # and the timer that was due is gone: a tick a month later does nothing for carol
    shop.engine.tick(shop.engine.clock.now().add(days=40))
    assert [a.name for a in shop.engine.actions(user="carol")] == ["send_email", "charge"]


def test_migrate_moves_the_runs_at_a_step_and_records_who(console: TestClient,
                                                          shop: Shop) -> None:
    page = console.get("/migrate", params={"flow": "checkout", "from": "wait:1d"})
    assert "Yes, migrate" in page.text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert token
    response = console.post("/migrate", data={"csrf": token.group(1), "flow": "checkout",
                                               "from": "wait:1d", "to": "wait:30d"})
    assert "moved 2 run(s) of checkout" in response.text
    for user in ("alice", "carol"):
        run_id = shop.run_of(user)
        assert shop.status(run_id) == ("waiting", "wait:30d")
        (entry,) = _operator_entries(shop, run_id)
        assert entry["by"] == "ann" and entry["to"] == "wait:30d"


def test_migrate_to_a_step_the_flow_lacks_is_refused(console: TestClient, shop: Shop) -> None:
    token = _csrf(console, "/migrate?flow=checkout&from=wait:1d")
    response = console.post("/migrate", data={"csrf": token, "flow": "checkout",
                                               "from": "wait:1d", "to": "wait:99d"})
    assert response.status_code == 409
    assert shop.status(shop.run_of("alice")) == ("waiting", "wait:1d")

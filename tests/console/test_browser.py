"""The console in a real browser: Debian's Chromium, headless, driven by Selenium.

Sign in, read the counts the database holds, retry a parked run from the problems page
and watch its count move on the open diagram, and check the read-only role has no
buttons. Each page's screenshot is taken; with ``FLOWKIT_SCREENSHOTS=1`` they replace
the ones ``docs/console.md`` shows (``docs/console/*.png``).

Without Chromium the tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from flowkit.console import create_app
from flowkit.store import schema as t
from tests.conftest import IN_CI
from tests.console.conftest import OPERATOR_PASSWORD, READONLY_PASSWORD, Shop, seed, settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1200,860", "--hide-scrollbars")


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(path)):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true but the browser tests cannot run: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="flowkit-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Shop]]:
    """The console over a seeded shop, served by uvicorn on a loopback port."""
    shop = seed(f"sqlite:///{tmp_path_factory.mktemp('console')}/shop.db")
    for n in range(24):  # a busier shop, for the screenshots: some declined, some cancel
        user = f"learner-{n:02}"
        shop.engine.add_user(user, email=f"{user}@school.test",
                             fields={"card_declined": n % 8 == 0})
        shop.engine.emit("order.placed", user=user, amount=40 + 15 * n)
        if n % 5 == 0:
            shop.engine.emit("order.cancelled", user=user)
    app = create_app(shop.url, settings(poll_seconds=0.5))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(),
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}", shop
    finally:
        server.should_exit = True
        thread.join(10)
        shop.engine.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("FLOWKIT_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def _until(driver: Any, condition: Any, what: str, timeout: float = 15) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, message=what)


def _sign_in(driver: Any, base: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/")
    _until(driver, lambda d: "/signin" in d.current_url, "the sign-in page")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.signin button").click()
    _until(driver, lambda d: d.find_elements(By.ID, "flows"), "the flows page")


def _resting(shop: Shop, step: str) -> str:
    """How many checkout runs rest at ``step``, as the database says."""
    with shop.engine.db.connect() as conn:
        return str(conn.execute(
            sa.select(sa.func.count()).select_from(t.runs)
            .where(t.runs.c.flow == "checkout", t.runs.c.step == step,
                   t.runs.c.status.in_(("waiting", "running", "parked", "failed"))))
            .scalar_one())


def _badge(driver: Any, step: str) -> str:
    from selenium.webdriver.common.by import By

    badge = driver.find_element(By.CSS_SELECTOR, f'g.count[data-step="{step}"] text')
    return str(badge.get_attribute("textContent"))


def test_the_operator_signs_in_and_sees_the_counts_the_database_holds(
        browser: Any, served: tuple[str, Shop], shots: Path) -> None:
    from selenium.webdriver.common.by import By

    base, shop = served
    browser.delete_all_cookies()
    browser.get(base + "/")
    _until(browser, lambda d: "/signin" in d.current_url, "the sign-in page")
    browser.save_screenshot(str(shots / "signin.png"))
    _sign_in(browser, base, "ann", OPERATOR_PASSWORD)
    with shop.engine.db.connect() as conn:
        held = {(f, s): n for f, s, n in conn.execute(
            sa.select(t.runs.c.flow, t.runs.c.status, sa.func.count())
            .group_by(t.runs.c.flow, t.runs.c.status))}
    shown = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "#flows tbody tr"):
        for cell in row.find_elements(By.CSS_SELECTOR, "td[data-status]"):
            if cell.text != "0":
                shown[(row.get_attribute("data-flow"), cell.get_attribute("data-status"))] = \
                    int(cell.text)
    assert shown == held
    browser.save_screenshot(str(shots / "flows.png"))
    # the flow's diagram shows the same runs on its steps
    browser.find_element(By.LINK_TEXT, "checkout").click()
    _until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.diagram"), "the diagram")
    for step in ("wait:1d", "charge", "wait:30d"):
        assert _badge(browser, step) == _resting(shop, step), step
    assert _badge(browser, "charge") != "0"
    browser.save_screenshot(str(shots / "flow.png"))
    browser.find_element(By.CSS_SELECTOR, '[data-step-link="wait:1d"]').click()
    _until(browser, lambda d: d.find_elements(By.ID, "runs"), "the runs at wait:1d")
    listed = {r.get_attribute("data-run") for r in
              browser.find_elements(By.CSS_SELECTOR, "#runs tr[data-run]")}
    assert {shop.run_of("alice"), shop.run_of("carol")} <= listed
    assert len(listed) == int(_resting(shop, "wait:1d"))
    browser.save_screenshot(str(shots / "flow-step.png"))
    browser.find_element(By.CSS_SELECTOR, f'#runs tr[data-run="{shop.run_of("alice")}"] a').click()
    _until(browser, lambda d: d.find_elements(By.ID, "history"), "the run page")
    rest = browser.find_element(By.CSS_SELECTOR, "pre.source .rest")
    assert "await wait(days=1)" in rest.text
    browser.save_screenshot(str(shots / "run.png"))
    search = browser.find_element(By.CSS_SELECTOR, "header input[type=search]")
    search.send_keys("erin@school.test\n")
    _until(browser, lambda d: d.current_url.endswith("/users/erin"), "erin's page")
    browser.save_screenshot(str(shots / "user.png"))


def test_the_read_only_role_has_no_buttons(browser: Any, served: tuple[str, Shop]) -> None:
    from selenium.webdriver.common.by import By

    base, shop = served
    _sign_in(browser, base, "rita", READONLY_PASSWORD)
    assert "rita · read-only" in browser.find_element(By.CSS_SELECTOR, "header .who").text
    assert shop.status(shop.run_of("bob"))[0] == "parked"  # the operator would see buttons
    for page in ("/problems", f"/runs/{shop.run_of('carol')}", f"/runs/{shop.run_of('bob')}"):
        browser.get(base + page)
        _until(browser, lambda d: d.find_elements(By.TAG_NAME, "h1"), page)
        buttons = browser.find_elements(By.CSS_SELECTOR, "main .button, main button")
        assert buttons == [], page


def test_retrying_a_parked_run_moves_it_on_the_open_diagram(
        browser: Any, served: tuple[str, Shop], shots: Path) -> None:
    from selenium.webdriver.common.by import By

    base, shop = served
    parked = shop.run_of("bob")
    _sign_in(browser, base, "ann", OPERATOR_PASSWORD)
    # given the checkout diagram open, bob parked at charge
    browser.get(base + "/flows/checkout")
    diagram = browser.current_window_handle
    before = (int(_resting(shop, "charge")), int(_resting(shop, "wait:1d")))
    assert (_badge(browser, "charge"), _badge(browser, "wait:1d")) == tuple(map(str, before))
    shop.engine.add_user("bob", email="bob@school.test", fields={"card_declined": False})
    # when, in another tab, the operator retries bob's run from the problems page
    browser.switch_to.new_window("tab")
    browser.get(base + "/problems")
    browser.save_screenshot(str(shots / "problems.png"))
    browser.find_element(By.CSS_SELECTOR, f'tr[data-run="{parked}"] a.button').click()
    _until(browser, lambda d: d.find_elements(By.ID, "confirm"), "the confirmation")
    browser.save_screenshot(str(shots / "confirm.png"))
    assert shop.status(parked) == ("parked", "charge")  # nothing happens before confirming
    browser.find_element(By.ID, "confirm").click()
    _until(browser, lambda d: d.find_elements(By.ID, "run-status"), "the run page")
    assert browser.find_element(By.ID, "run-status").text == "waiting"
    assert "retry by ann" in browser.find_element(By.ID, "history").text
    # then the open diagram, refreshing itself, shows bob moved from charge to the wait
    browser.close()
    browser.switch_to.window(diagram)
    moved = (str(before[0] - 1), str(before[1] + 1))
    _until(browser, lambda d: (_badge(d, "charge"), _badge(d, "wait:1d")) == moved,
           "the diagram's counts to move")
    assert shop.status(parked) == ("waiting", "wait:1d")

"""The files ``flowkit init`` writes: a project with one flow, its emails, a track, a
test on a virtual clock, pytest configuration, and a README. docs/index.md shows the same
files; tests/docs checks that it does."""

from __future__ import annotations

WELCOME = '''\
"""Welcome new learners: an email when they sign up, tips the next day."""

from flowkit import Run, on, wait
from flowkit.lms import send_email


@on("user.signed_up")
async def welcome(run: Run) -> None:
    await send_email("hello")
    await wait(days=1)
    await send_email("day-2-tips")
'''

FIRST_WEEK = '''\
"""A track: users are added to it with add_to_track("first-week")."""

from flowkit import Run, track, wait
from flowkit.lms import send_message


@track("first-week", title="First week")
async def first_week(run: Run) -> None:
    await send_message("Welcome to your first week, {{ user }}!")
    await wait(days=7)
    await send_message("That's your first week done, {{ user }}. Well done!")
'''

HELLO = '''\
Subject: Welcome, {{ user }}!

Glad you are here. Your first course is one click away.
'''

DAY_2_TIPS = '''\
Subject: Three tips for your second day

Hi {{ user }}: set a goal, block twenty minutes a day, and ask in the forum.
'''

TEST_WELCOME = '''\
from automations.welcome import welcome
from flowkit.testing import Simulation


def test_tips_come_a_day_after_the_welcome() -> None:
    with Simulation(welcome) as sim:
        sim.add_user("u1", name="Ada", email="ada@example.com")
        sim.emit("user.signed_up", user="u1")
        assert [e["subject"] for e in sim.platform.emails("u1")] == ["Welcome, Ada!"]
        sim.advance(days=1)
        assert [e["subject"] for e in sim.platform.emails("u1")] == [
            "Welcome, Ada!", "Three tips for your second day"]
'''

PYPROJECT = '''\
# Settings for pytest and flowkit; this project is not itself a package.

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]  # so that plain `pytest` imports automations/ and tracks/

[tool.flowkit]
events = []  # events your app sends that flowkit does not know, for `flowkit check`
'''

README = '''\
# {name}

User automations for our school, with [flowkit](https://pypi.org/project/flowkit/).
Flows are in `automations/` and `tracks/`, their emails in `emails/`, their tests in
`tests/`.

```sh
pytest          # the flows' tests, on a virtual clock
flowkit run     # workers, scheduler and an embedded Redis ($DATABASE_URL, $REDIS_URL)
```
'''

GITIGNORE = '''\
__pycache__/
.flowkit/
flowkit.db*
'''

FILES: dict[str, str] = {
    "automations/__init__.py": "",
    "automations/welcome.py": WELCOME,
    "tracks/__init__.py": "",
    "tracks/first_week.py": FIRST_WEEK,
    "emails/hello.txt": HELLO,
    "emails/day-2-tips.txt": DAY_2_TIPS,
    "tests/test_welcome.py": TEST_WELCOME,
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    ".gitignore": GITIGNORE,
}

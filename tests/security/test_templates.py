"""Templates render in a sandbox, and data is never a template (issue 10, items 1-2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit import Run, on
from flowkit.errors import CompileError, DefinitionError, TemplateError
from flowkit.lms import send_email, send_message, send_notification
from flowkit.lms.rendering import Limits, render_text
from flowkit.testing import Simulation

# Payloads an attacker would try if they could write a template. Each must fail closed.
INJECTIONS = {
    "attribute walk": "{{ ''.__class__.__mro__[1].__subclasses__()|length }}",
    "attribute walk by item": "{{ ''['__class__'] }}",
    "attribute walk via attr filter": "{{ ''|attr('__class__') }}",
    "cycler globals": "{{ cycler.__init__.__globals__.os }}",
    "joiner globals": "{{ joiner.__init__.__globals__ }}",
    "namespace": "{% set ns = namespace(s='ab') %}{{ ns.s }}",
    "lipsum": "{{ lipsum.__globals__ }}",
    "range globals": "{{ range.__globals__ }}",
    "self context": "{{ self._TemplateReference__context }}",
    "range bomb": "{% for i in range(10**9) %}x{% endfor %}",
    "nested range, no output": "{% for i in range(9999) %}{% for j in range(9999) %}"
                               "{% endfor %}{% endfor %}",
    "repetition bomb": "{{ 'a' * 1000000000 }}",
    "list bomb": "{{ [1] * 1000000000 }}",
    "padding filter": "{{ 'x'|center(1000000000) }}",
    "padding method": "{{ 'x'.ljust(1000000000) }}",
    "replace bomb": "{{ 'ab'|replace('', 'x' * 100000) }}",
    "concatenation doubling": "{% set a = 'x' * 100000 %}{% set b = a ~ a ~ a %}{{ b }}",
    "recursive macro": "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('ab') }}",
    "format width": "{{ '{:>999999999}'.format(1) }}",
    "format nested width": "{{ '{:>{}}'.format(1, 999999999) }}",
    "format field walk": "{{ '{0.__class__.__mro__}'.format('') }}",
    "percent width": "{{ '%0999999999d' % 1 }}",
    "percent star width": "{{ '%*d' % (999999999, 1) }}",
    "percent precision": "{{ '%.999999999f' % 1 }}",
    "format filter width": "{{ '%0999999999d'|format(1) }}",
    "include": "{% include '/etc/passwd' %}",
    "import": "{% import 'macros.txt' as m %}",
    "extends": "{% extends 'base.txt' %}",
    "mutation": "{% set l = [1] %}{{ l.append(2) }}",
    "undefined placeholder": "{{ secret_setting }}",
}


@pytest.mark.parametrize("payload", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_a_template_reaching_for_internals_or_resources_fails_closed(payload: str) -> None:
    with pytest.raises(TemplateError) as raised:
        render_text(payload, {"user": "Ada"}, name="send_notification's text")
    assert raised.value.template == "send_notification's text"
    assert raised.value.line == 1
    assert str(raised.value).startswith("send_notification's text:1: ")


@pytest.mark.parametrize("bomb", ["{{ 'a' * 1000000000 }}", "{{ [1] * 1000000000 }}",
                                  "{{ 'x'|center(1000000000) }}"])
def test_a_bomb_is_refused_before_it_is_built(bomb: str) -> None:
    with pytest.raises(TemplateError, match=r"would build 1000000000 characters|the number "
                       r"1000000000 is larger than the 200000 a template may use"):
        render_text(bomb, {})


def test_a_render_is_bounded_by_the_configured_time_and_size(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWKIT_TEMPLATE_MAX_CHARS", "50")
    assert Limits.from_env().max_chars == 50
    with pytest.raises(TemplateError, match="longer than 50 characters"):
        render_text("{% for i in range(20) %}abcd{% endfor %}", {})
    assert render_text("{% for i in range(10) %}abcd{% endfor %}", {}) == "abcd" * 10


def test_ordinary_templates_still_render() -> None:
    text = "Hi {{ user|title }}, {{ items|join(', ') }}; {{ '%.2f'|format(price) }} " \
           "{% for i in range(3) %}{{ i }}{% endfor %} {{ '{} {}'.format('a', 'b') }} " \
           "{{ 'order 1234567: %s' % price }} {{ 'ID {:>8}'.format(1234567) }}"
    assert render_text(text, {"user": "ada", "items": ["x", "y"], "price": 10 ** 7}) == \
        "Hi Ada, x, y; 10000000.00 012 a b order 1234567: 10000000 ID  1234567"


# -- the examples, end to end ----------------------------------------------------

@pytest.fixture(autouse=True)
def emails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "emails"
    folder.mkdir()
    (folder / "probe.txt").write_text(
        "Subject: Hello {{ user }}\n\nHi {{ user }},\n"
        "{{ ''.__class__.__mro__[1].__subclasses__()|length }}\n")
    (folder / "plain.txt").write_text("Subject: {{ title }} for {{ user }}\n\n{{ title }}\n")
    (folder / "rich.html").write_text("Subject: {{ title }}\n\n<p>{{ title }}</p>\n")
    (folder / "sneaky.txt").write_text("Subject: Hi\n\n{% include '../secret.txt' %}\n")
    (tmp_path / "secret.txt").write_text("the database password\n")
    (folder / "footer.txt").write_text("-- {{ user }}'s school\n")
    (folder / "signed.txt").write_text("Subject: Hi\n\nHello.\n{% include 'footer.txt' %}\n")
    monkeypatch.setenv("FLOWKIT_EMAILS", str(folder))
    return folder


@on("probe.me")
async def probe(run: Run) -> None:
    await send_email(run.event["template"])


@on("greet.me")
async def greet(run: Run) -> None:
    await send_notification("Hello {{ event.nick }}")
    await send_message("Hello {{ event.nick }}")
    await send_email("plain", title=run.event["nick"])


def test_an_email_template_reaching_for_internals_parks_the_run_and_sends_nothing() -> None:
    with Simulation(probe) as sim:
        sim.add_user("u1", name="Ada", email="ada@example.com")
        sim.emit("probe.me", user="u1", template="probe")
        run = sim.run(user="u1")  # at once: the same template would be refused again
        assert run.status == "parked"
        assert "probe.txt:4: refused by the sandbox: access to attribute '__class__'" \
            in (run.reason or "")
        assert "cannot succeed as written" in (run.reason or "")
        assert [e.kind for e in run.history].count("action_failed") == 1
        assert sim.platform.emails("u1") == []


def test_an_email_template_cannot_include_a_file_outside_its_folder() -> None:
    with Simulation(probe) as sim:
        sim.emit("probe.me", user="u1", template="sneaky")
        sim.advance(minutes=10)
        run = sim.run(user="u1")
        assert run.status == "parked"
        assert "no template '../secret.txt' to include" in (run.reason or "")
        assert sim.platform.emails("u1") == []


def test_an_email_template_may_include_another_of_its_folder() -> None:
    with Simulation(probe) as sim:
        sim.add_user("u1", name="Ada", email="ada@example.com")
        sim.emit("probe.me", user="u1", template="signed")
        (sent,) = sim.platform.emails("u1")
        assert sent["body"] == "Hello.\n-- Ada's school"


def test_a_template_name_from_data_cannot_leave_the_templates_folder() -> None:
    with Simulation(probe) as sim:
        sim.emit("probe.me", user="u1", template="../secret")
        sim.advance(minutes=10)
        assert "no email template '../secret'" in (sim.run(user="u1").reason or "")


NICK = "{{ ''.__class__.__mro__ }}"


def test_event_data_in_a_template_is_a_value_never_evaluated() -> None:
    with Simulation(greet) as sim:
        sim.add_user("u1", name="Ada", email="ada@example.com")
        sim.emit("greet.me", user="u1", nick=NICK)
        assert sim.platform.notifications("u1") == [f"Hello {NICK}"]
        assert [m["text"] for m in sim.platform.messages("u1")] == [f"Hello {NICK}"]
        (sent,) = sim.platform.emails("u1")
        assert (sent["subject"], sent["body"]) == (f"{NICK} for Ada", NICK)


def test_a_template_text_computed_from_run_data_is_refused_where_it_is_written() -> None:
    with pytest.raises(CompileError) as raised:
        @on("greet.me")
        async def fstring(run: Run) -> None:
            await send_notification(f"Hello {run.event['nick']}")

    error = raised.value
    assert (error.flow, error.line) == ("fstring", fstring_line(raised.value))
    assert "send_notification's text is a template" in error.message
    assert "send_notification('Hello {{ event.nick }}')" in error.hint


def fstring_line(error: CompileError) -> int:
    source = Path(__file__).read_text().splitlines()
    return next(n for n, line in enumerate(source, 1)
                if "await send_notification(f\"Hello {run.event['nick']}\")" in line)


@pytest.mark.parametrize("written", [
    'send_message("Hello " + run.event["nick"])',
    'send_message("Hello {}".format(run.event["nick"]))',
    'send_message("Hello %s" % run.user.name)',
    'send_message(text)',
    'send_message(run.event["text"])',
    'send_message(*texts)',
    'send_notification(**options)',
    'add_to_track("week-1", confirmation=f"Welcome {run.user.name}")',
    'add_to_track("week-1", method="manual", invitation=run.event["invite"])',
])
def test_every_way_of_computing_a_template_text_is_refused(written: str,
                                                           tmp_path: Path) -> None:
    module = tmp_path / "computed_text.py"
    module.write_text(
        "from flowkit import on\n"
        "from flowkit.lms import add_to_track, send_message, send_notification\n\n"
        "@on('x')\n"
        "async def flow(run):\n"
        "    text = texts = options = run.event\n"
        f"    await {written}\n")
    code = compile(module.read_text(), str(module), "exec")
    with pytest.raises(CompileError) as raised:
        exec(code, {"__name__": "computed_text", "__file__": str(module)})
    assert raised.value.line == 7
    assert "is a template, and this text is computed when the flow runs" in str(raised.value)


WELCOME = "Welcome {{ user }}"


def test_literals_and_module_constants_are_accepted_as_templates() -> None:
    @on("x")
    async def fine(run: Run) -> None:
        await send_message("Hi {{ user }}")
        await send_message(WELCOME)
        await send_message("Plain" if run.event.get("plain") else WELCOME)
        await send_notification("Hi {{ nick }}", nick=run.event["nick"])

    assert fine.name == "fine"


def test_an_action_declares_its_template_parameters_by_name() -> None:
    from flowkit import action

    with pytest.raises(DefinitionError, match="'body', which is not one of its parameters"):
        @action(templates=("body",))
        def post(text: str) -> None: ...

    with pytest.raises(DefinitionError, match=r"a tuple of parameter names"):
        @action(templates="text")  # type: ignore[arg-type]
        def post2(text: str) -> None: ...


def test_a_txt_email_and_every_subject_are_left_as_written_and_html_is_escaped() -> None:
    @on("send.me")
    async def both(run: Run) -> None:
        await send_email("plain", title=run.event["title"])
        await send_email("rich", title=run.event["title"])

    title = "Tom & Jerry O'Brien <3"
    with Simulation(both) as sim:
        sim.add_user("u1", name="Ada", email="ada@example.com")
        sim.emit("send.me", user="u1", title=title)
        plain, rich = sim.platform.emails("u1")
        assert plain["subject"] == f"{title} for Ada"
        assert plain["body"] == title
        assert rich["subject"] == title
        assert rich["body"] == "<p>Tom &amp; Jerry O&#39;Brien &lt;3</p>"


def test_a_name_with_a_line_break_stays_in_the_subject() -> None:
    with Simulation(greet) as sim:
        sim.add_user("u1", name="Ada\r\nBcc: everyone@example.com", email="ada@example.com")
        sim.emit("greet.me", user="u1", nick="x")
        (sent,) = sim.platform.emails("u1")
        assert sent["subject"] == "x for Ada Bcc: everyone@example.com"


def test_flowkit_check_points_at_a_computed_template_text(tmp_path: Path) -> None:
    from flowkit.review.check import check

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "computed_hello.py").write_text(
        "from flowkit import on\n"
        "from flowkit.lms import send_notification\n\n"
        "@on('user.signed_up')\n"
        "async def hello(run):\n"
        "    await send_notification(f\"Hello {run.event['nick']}\")\n")
    report = check([flows])
    (finding,) = report.findings
    assert (finding.severity, finding.line, finding.flow) == ("error", 6, "hello")
    assert finding.file.endswith("computed_hello.py")
    assert "send_notification's text is a template" in finding.message
    assert "send_notification('Hello {{ event.nick }}')" in finding.hint


def test_a_custom_action_rendering_with_the_helper_is_held_to_the_same_rules() -> None:
    from flowkit import action
    from flowkit.lms import render

    posted: list[str] = []

    @action(templates=("body",))
    def post_to_forum(body: str, *, run: Run) -> str:
        posted.append(render(body, run))
        return posted[-1]

    with pytest.raises(CompileError, match="post_to_forum's body is a template"):
        @on("forum.post")
        async def computed(run: Run) -> None:
            await post_to_forum("Hi " + run.event["nick"])

    @on("forum.post")
    async def written(run: Run) -> None:
        await post_to_forum("Hi {{ event.nick }}, {{ ''.__class__ if event.probe else user }}")

    with Simulation(written) as sim:
        sim.add_user("u1", name="Ada")
        sim.emit("forum.post", user="u1", nick=NICK, probe=False)
        assert posted == [f"Hi {NICK}, Ada"]
        sim.emit("forum.post", user="u2", nick="x", probe=True)
        sim.advance(minutes=10)
        assert "refused by the sandbox" in (sim.run(user="u2").reason or "")
        assert len(posted) == 1


def test_flowkit_check_checks_the_placeholders_of_a_custom_actions_template(
        tmp_path: Path) -> None:
    from flowkit.review.check import check

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "forum_post.py").write_text(
        "from flowkit import action, on\n"
        "from flowkit.lms import render\n\n"
        "@action(templates=('body',))\n"
        "def post_to_forum(body, *, run):\n"
        "    return render(body, run)\n\n"
        "@on('user.signed_up')\n"
        "async def forum(run):\n"
        "    await post_to_forum('Hi {{ nickname }}')\n")
    (finding,) = check([flows]).findings
    assert (finding.check, finding.line) == ("placeholder", 10)
    assert "post_to_forum's body uses {{ nickname }}, which it is not given" in finding.message

"""docs/serve.md's curl examples, run as written against a real ``flowkit serve``; each
prints what the page says it prints (request ids and timing aside)."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowkit import Engine
from flowkit.errors import ServeConfigError
from flowkit.serve import ServeSettings, create_app
from flowkit.serve.adapters import load
from tests.integration.conftest import ROOT, Processes
from tests.serve.conftest import SECRET, TestClient, signed, stored, wait_ready
from tests.serve.test_real_server import _free_port

DOC = ROOT / "docs" / "serve.md"
VOLATILE = [(re.compile(r'"ms": [0-9.]+'), '"ms": 0'),
            (re.compile(r'[0-9a-f]{32}'), "<id>"),
            (re.compile(r'"ts": "[^"]+"'), '"ts": "<ts>"'),
            (re.compile(r"(_sum|_count|_created)(\{[^}]*\})? [0-9.e+]+"), r"\1\2 <n>")]


def _blocks(text: str) -> list[tuple[str, str]]:
    """The page's fenced blocks: (language, content)."""
    blocks, lang, lines = [], None, []
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if lang is None:
                lang, lines = line[3:].strip(), []
            else:
                blocks.append((lang, "".join(lines)))
                lang = None
        elif lang is not None:
            lines.append(line)
    return blocks


def examples() -> list[tuple[str, str]]:
    """Each ``sh`` block that runs curl, with the ``text`` block after it."""
    blocks = _blocks(DOC.read_text())
    return [(command, output) for (lang, command), (next_lang, output)
            in itertools.pairwise(blocks)
            if lang == "sh" and "curl " in command and next_lang == "text"]


def _normal(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text.strip()


def test_the_page_has_examples() -> None:
    assert len(examples()) >= 8


def test_every_curl_example_prints_what_the_page_says(
        processes: Processes, tmp_path: Path) -> None:
    # given the server of the page's "Starting it": a key made by `flowkit keys add`
    env = dict(processes.env, FLOWKIT_WEBHOOK_SECRETS=SECRET)
    made = subprocess.run([sys.executable, "-m", "flowkit.cli", "keys", "add", "backend"],
                          env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    key = made.stdout.strip()
    processes.env = env
    port = str(_free_port())  # the page says 8000; another server may hold it here
    processes.start("-m", "flowkit.cli", "serve", "--port", port)
    wait_ready(f"http://127.0.0.1:{port}")
    shell_env = dict(os.environ, FLOWKIT_API_KEY=key, FLOWKIT_WEBHOOK_SECRET=SECRET)
    for command, expected in examples():
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        result = subprocess.run(["bash", "-c", command], env=shell_env, cwd=ROOT,
                                capture_output=True, text=True, timeout=30)
        if os.environ.get("FLOWKIT_DOCS_SHOW"):  # to write the page's outputs
            print(f"$ {command}{result.stdout}")
            continue
        assert _normal(result.stdout) == _normal(expected), command


def test_the_page_s_adapter_works_as_written(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [source] = [text for lang, text in _blocks(DOC.read_text()) if lang == "python"]
    (tmp_path / "school").mkdir()
    (tmp_path / "school" / "acme_webhooks.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = ServeSettings(webhook_secrets=(SECRET,),
                             adapters=("school.acme_webhooks:acme",))
    body = json.dumps({"type": "tags.changed", "student": {"id": "s1"},
                       "added": ["vip", "beta"]})
    with TestClient(create_app(engine, settings)) as client:
        response = client.post("/v1/webhooks/acme", content=body, headers=signed(body))
        assert response.status_code == 202, response.text
        unknown = json.dumps({"type": "student.deleted", "student": {"id": "s2"}})
        client.post("/v1/webhooks/acme", content=unknown, headers=signed(unknown, "m2"))
    assert [(e["event"], e["user"], e.get("tag")) for e in stored(engine)] == [
        ("tag.added", "s1", "vip"), ("tag.added", "s1", "beta"), ("webhook.unknown", "s2", None)]


def test_an_adapter_spec_that_names_nothing_is_refused_at_start() -> None:
    with pytest.raises(ServeConfigError, match=r"package\.module:attribute"):
        load(["school.nowhere:acme"])

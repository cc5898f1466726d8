"""Every example in the README runs, against a real sandbox process, and prints what the README says."""

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from betcore_sandbox.fixtures import parse_fixture

from .conftest import REPO
from .process import SandboxProcess

README = (REPO / "README.md").read_text()
FENCE = re.compile(r"(?:<!-- readme-test: (?P<marker>[^>]*) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m betcore_sandbox"
TEST = ".venv/bin/python -m pytest"


def blocks():
    return [(m["lang"], m["body"], m["marker"]) for m in FENCE.finditer(README)]


def shell_examples():
    """(command, expected output block or None) for each shell example that runs against a sandbox."""
    found = []
    items = blocks()
    for i, (lang, body, marker) in enumerate(items):
        if lang != "bash" or body.strip() in (INSTALL, TEST) or marker:
            continue
        following = items[i + 1] if i + 1 < len(items) else None
        expected = following if following and following[0] in ("json", "text") else None
        found.append((body, expected))
    return found


def test_the_two_commands_are_the_ones_ci_runs():
    assert f"```bash\n{INSTALL}\n```" in README
    assert f"```bash\n{TEST}\n```" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert ".venv/bin/pip install --quiet -e '.[dev]'" in ci
    assert f"{TEST} ||" in ci


def test_json_fixture_examples_are_valid_fixtures():
    fixtures = [body for lang, body, _ in blocks() if lang == "json" and '"counterparties"' in body]
    assert fixtures
    for body in fixtures:
        parse_fixture(json.loads(body))


def test_the_default_fixture_table_matches_the_fixture(default_fixture):
    for counterparty in default_fixture.counterparties:
        assert f"`{counterparty.id}`" in README and f"`{counterparty.secret}`" in README
    for session in default_fixture.sessions:
        assert f"`{session.id}`" in README


@pytest.fixture(scope="module")
def sandbox_port():
    sandbox = SandboxProcess("--port", "0")
    try:
        url = sandbox.wait_listening()
        yield url.rsplit(":", 1)[1]
    finally:
        sandbox.stop()


def test_shell_examples_run_in_order_and_print_what_the_readme_shows(sandbox_port):
    examples = shell_examples()
    assert len(examples) >= 3
    env = {**os.environ, "BETCORE_SANDBOX_PORT": sandbox_port,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command, expected in examples:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", command], env=env, capture_output=True,
                                timeout=30, cwd=REPO)
        assert result.returncode == 0, (command, result.stderr.decode())
        if expected is None:
            continue
        lang, body, _ = expected
        out = result.stdout.decode()
        if lang == "json":
            assert json.loads(out, parse_float=Decimal) == json.loads(body, parse_float=Decimal), command
        else:
            assert out.strip() == body.strip(), command

"""Every example in the README and in the pages of docs/ runs, against a real sandbox process, and prints what the
page says."""

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from betcore_sandbox.fixtures import parse_fixture

from .conftest import REPO
from .process import SandboxProcess

README = (REPO / "README.md").read_text()
# The front door first, then the reference pages; a page is named by its path from the repository's root.
PAGES = ["README.md", *sorted(f"docs/{path.name}" for path in (REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!-- readme-test: (?P<marker>[^>]*) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m betcore_sandbox"
TEST = ".venv/bin/python -m pytest"


def page_text(page):
    return (REPO / page).read_text()


def blocks(page=None):
    """(lang, body, marker) of each fenced block of one page, or of every page in order when none is named."""
    if page is None:
        return [block for name in PAGES for block in blocks(name)]
    return [(m["lang"], m["body"], m["marker"]) for m in FENCE.finditer(page_text(page))]


def shell_examples(page=None):
    """(command, expected output block or None) for each shell example that runs against a sandbox.

    A block marked `prelude` defines helpers; it is put in front of every later example of its page."""
    if page is None:
        return [example for name in PAGES for example in shell_examples(name)]
    found = []
    prelude = ""
    items = blocks(page)
    for i, (lang, body, marker) in enumerate(items):
        if lang != "bash" or body.strip() in (INSTALL, TEST):
            continue
        if marker == "prelude":
            prelude += body
            continue
        if marker:
            continue
        following = items[i + 1] if i + 1 < len(items) else None
        expected = following if following and following[0] in ("json", "text") else None
        found.append((prelude + body, expected))
    return found


def matches(actual, expected):
    """Equal, except that an expected string ending in '…' only fixes the start."""
    if isinstance(expected, str) and expected.endswith("…"):
        return isinstance(actual, str) and actual.startswith(expected[:-1])
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(matches(actual[k], v) for k, v in expected.items())
        )
    return actual == expected


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
    table = page_text("docs/configuration.md").split("## The default fixture", 1)[1]
    for counterparty in default_fixture.counterparties:
        assert f"`{counterparty.id}`" in table and f"`{counterparty.secret}`" in table
    for session in default_fixture.sessions:
        assert f"`{session.id}`" in table


@pytest.fixture(scope="module")
def sandbox_url():
    sandbox = SandboxProcess("--port", "0")
    try:
        yield sandbox.wait_listening()
    finally:
        sandbox.stop()


def page_examples(examples_of):
    """(page, index, example) of every page's examples, with ids that name the page and the example's number."""
    return [
        pytest.param(page, index, example, id=f"{page}#{index}")
        for page in PAGES
        for index, example in enumerate(examples_of(page))
    ]


@pytest.mark.parametrize(("page", "index", "example"), page_examples(shell_examples))
def test_shell_example_prints_what_the_page_shows(sandbox_url, page, index, example):
    command, expected = example
    port = sandbox_url.rsplit(":", 1)[1]
    urllib.request.urlopen(urllib.request.Request(f"{sandbox_url}/__admin/reset", method="POST"), timeout=5).read()
    env = {
        **os.environ,
        "BETCORE_SANDBOX_PORT": port,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    script = command.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, timeout=30, cwd=REPO
    )
    assert result.returncode == 0, result.stderr.decode()
    if expected is None:
        return
    lang, body, _ = expected
    out = result.stdout.decode()
    if lang == "text":
        assert out.strip() == body.strip()
        return
    printed = [json.loads(line, parse_float=Decimal) for line in out.splitlines() if line.strip()]
    wanted = [json.loads(line, parse_float=Decimal) for line in body.splitlines() if line.strip()]
    assert len(printed) == len(wanted), out
    for got, want in zip(printed, wanted, strict=True):
        assert matches(got, want), (got, want)


def test_there_are_examples_for_signing_admin_and_every_fault_recipe():
    scripts = "".join(command for command, _ in shell_examples())
    assert "sign GET" in scripts and "__admin/sessions" in scripts and "__admin/audit" in scripts
    for recipe in ('"phase": "after"', '"kind": "timeout"', '"skip": 2', '"seed": 42', '"insufficient_funds"'):
        assert recipe in scripts


def test_testing_time_has_admin_cli_and_pytest_examples():
    scripts = "".join(command for command, _ in shell_examples())
    for needed in ('"advanceMs": 61000', '"advanceMs": 600000', "clock --advance 30m", "clock --set", "clock --real"):
        assert needed in scripts, needed
    sources = "".join(python_examples())
    for needed in ("advance_clock(timedelta", "betcore_sandbox(clock=", "betcore_sandbox_factory(clock="):
        assert needed in sources, needed


def python_examples(page=None):
    return [body for lang, body, marker in blocks(page) if lang == "python" and "def test_" in body and not marker]


@pytest.mark.parametrize(("page", "index", "source"), page_examples(python_examples))
def test_python_examples_pass_under_the_plugin(pytester, page, index, source):
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "addopts = --strict-markers -p no:cacheprovider\nfilterwarnings = error\n"
    )
    pytester.makepyfile(test_readme_example=source)
    result = pytester.runpytest()
    result.assert_outcomes(passed=source.count("def test_"))


def test_there_are_pytest_examples_for_sync_async_marker_factory_and_faults():
    sources = "".join(python_examples())
    for needed in ("urllib.request", "aiohttp", "pytest.mark.betcore_sandbox", "betcore_sandbox_factory", "add_fault"):
        assert needed in sources


def test_docker_examples_match_what_the_image_test_runs():
    docker_blocks = [body for lang, body, marker in blocks() if marker and marker.startswith("docker")]
    assert len(docker_blocks) >= 2
    image_test = (REPO / "tests" / "test_docker.py").read_text()
    dockerfile = (REPO / "Dockerfile").read_text()
    for body in docker_blocks:
        for variable in re.findall(r"BETCORE_SANDBOX_\w+", body):
            assert variable in image_test, variable
        if "-p 8080:8080" in body:
            assert "EXPOSE 8080" in dockerfile and "BETCORE_SANDBOX_PORT=8080" in dockerfile
    compose = next(body for lang, body, _ in blocks("docs/docker.md") if lang == "yaml")
    assert '["CMD", "python", "-m", "betcore_sandbox", "healthcheck"]' in compose
    assert '["python", "-m", "betcore_sandbox", "healthcheck"]' in dockerfile


def test_the_durable_example_survives_a_kill(tmp_path):
    items = blocks("docs/shared-sandbox.md")
    [index] = [i for i, (lang, _, marker) in enumerate(items) if marker and marker.startswith("durable")]
    script, expected = items[index][1], items[index + 1]
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")},
        "BETCORE_SANDBOX_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    script = script.replace("8080", str(port))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr.decode()
    assert expected[0] == "json"
    assert json.loads(result.stdout) == json.loads(expected[1])
    assert (tmp_path / "sandbox.db").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port

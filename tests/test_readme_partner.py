"""The Games and Launch recipe (docs/games-launch.md) runs as written: the reference provider as a process, the CLI
and curl against a sandbox process, and the pytest example under the plugin."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO
from .process import SandboxProcess
from .test_readme import FENCE, blocks, page_text

PROVIDER_DIR = REPO / "examples" / "provider"
PROVIDER_README = PROVIDER_DIR / "README.md"


def provider_blocks() -> list[tuple[str, str, str | None]]:
    """The code blocks of the reference provider's own README, as `blocks()` gives the main README's."""
    return [(m["lang"], m["body"], m["marker"]) for m in FENCE.finditer(PROVIDER_README.read_text(encoding="utf-8"))]


def marked(marker: str, items: list[tuple[str, str, str | None]] | None = None) -> list[tuple[str, Any]]:
    """(body, the block after it) of each block with this readme-test marker (of the main README by default)."""
    items = blocks() if items is None else items
    return [(body, items[i + 1] if i + 1 < len(items) else None) for i, (_, body, m) in enumerate(items) if m == marker]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # polling for the listening socket, bounded by the deadline
    raise AssertionError(f"the provider did not listen on {port}")


@pytest.fixture(scope="module")
def servers():
    """A sandbox process and the reference provider started with the README's command line: (ports, replace)."""
    sandbox = SandboxProcess("--port", "0")
    provider = None
    try:
        sandbox_port = sandbox.wait_listening().rsplit(":", 1)[1]
        provider_port = str(free_port())

        def replace(text: str) -> str:
            return (
                text.replace("127.0.0.1:8080", f"127.0.0.1:{sandbox_port}")
                .replace("127.0.0.1:9090", f"127.0.0.1:{provider_port}")
                .replace("--port 9090", f"--port {provider_port}")
            )

        ((command, _),) = marked("partner-provider")
        argv = shlex.split(replace(command.strip()))
        assert argv[0] == "python"
        provider = subprocess.Popen(
            [sys.executable, *argv[1:]], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for_port(int(provider_port), provider)
        yield sandbox_port, replace
    finally:
        if provider is not None:
            provider.terminate()
            provider.wait(10)
            assert provider.stderr is not None
            provider.stderr.close()
        sandbox.stop()


def reset_sandbox(port: str) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/__admin/reset", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:  # closed here, not whenever it is collected
        response.read()


def example_env(port: str) -> dict[str, str]:
    """The environment a reader's shell has: this sandbox's port, this venv's commands first on PATH."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")},
        "BETCORE_SANDBOX_PORT": port,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }


SHELL_EXAMPLES = marked("partner") + marked("partner", provider_blocks())


@pytest.mark.parametrize("index", range(len(SHELL_EXAMPLES)))
def test_the_games_and_launch_shell_examples_print_what_the_readme_shows(servers, index):
    sandbox_port, replace = servers
    script, expected = SHELL_EXAMPLES[index]
    reset_sandbox(sandbox_port)
    env = example_env(sandbox_port)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", replace(script)], env=env, capture_output=True, timeout=30, cwd=REPO
    )
    assert result.returncode == 0, result.stderr.decode()
    assert expected is not None and expected[0] == "text"
    assert result.stdout.decode().strip() == replace(expected[1]).strip()


def pytest_recipe_path() -> Path:
    """The folder the README's pytest command puts on the import path (PYTHONPATH=... python -m pytest FILE)."""
    ((command, _),) = marked("partner-pytest-run")
    match = re.fullmatch(r"PYTHONPATH=(\S+) python -m pytest test_provider\.py", command.strip())
    assert match, command
    return REPO / match[1]


@pytest.mark.parametrize("switched_on_by", ["configuration", "marker"])
def test_the_games_and_launch_pytest_example_passes_under_the_plugin(pytester, switched_on_by):
    """In a project of its own, set up as the README's "you need" says: its configuration, or the marker."""
    ((source, _),) = marked("partner-pytest")
    ((config, _),) = marked("partner-pytest-config")
    strictness = ["-p", "no:cacheprovider", "-W", "error", "--strict-markers"]
    if switched_on_by == "configuration":
        pytester.makepyprojecttoml(config)
    else:  # pytest-asyncio's default (strict) mode: each test marked
        pytester.makepyprojecttoml('[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n')
        source = source.replace("\nasync def test_", "\n@pytest.mark.asyncio\nasync def test_")
        source = "import pytest\n" + source
    pytester.syspathinsert(pytest_recipe_path())
    pytester.makepyfile(test_provider=source)
    result = pytester.runpytest(*strictness)
    result.assert_outcomes(passed=source.count("def test_"))


def test_without_async_tests_switched_on_the_example_does_not_run(pytester):
    """Why the README's "you need" line is there: with neither the configuration nor the marker, nothing passes."""
    ((source, _),) = marked("partner-pytest")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n')
    pytester.syspathinsert(pytest_recipe_path())
    pytester.makepyfile(test_provider=source)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.parseoutcomes().get("passed", 0) == 0


def test_the_pytest_recipe_says_what_a_project_needs():
    section = page_text("docs/games-launch.md")
    assert "pip install pytest-aiohttp" in section and "@pytest.mark.asyncio" in section
    assert "stands for **your own** app factory" in section


def journal_printer() -> str:
    """The Python program of the README's journal one-liner."""
    script = next(body for body, _ in marked("partner") if "__admin/requests?sessionId=" in body)
    return script.split("python3 -c '", 1)[1].split("'", 1)[0]


def test_the_journal_one_liner_prints_a_call_that_got_no_answer():
    entries = [
        {
            "direction": "outgoing",
            "method": "POST",
            "path": "/v1/games/g/launch",
            "response": None,
            "error": "the provider did not answer: connection refused by 127.0.0.1:9",
        },
        {
            "direction": "incoming",
            "method": "GET",
            "path": "/v1/sessions/s/balance",
            "response": {"status": 200},
            "error": None,
        },
    ]
    printed = subprocess.run(
        [sys.executable, "-c", journal_printer()], input=json.dumps(entries).encode(), capture_output=True, timeout=30
    )
    assert printed.returncode == 0, printed.stderr.decode()
    assert printed.stdout.decode().splitlines() == [
        "outgoing POST /v1/games/g/launch the provider did not answer: connection refused by 127.0.0.1:9",
        "incoming GET /v1/sessions/s/balance 200",
    ]


def test_the_launch_example_prints_the_same_after_the_games_example(servers):
    """A reader who follows the section in order has called Games first: the launch example's output still holds."""
    sandbox_port, replace = servers
    games, launch = (script for script, _ in SHELL_EXAMPLES[:2])
    expected = SHELL_EXAMPLES[1][1][1]
    assert "betcore-sandbox games" in games and "betcore-sandbox launch" in launch
    reset_sandbox(sandbox_port)
    env = example_env(sandbox_port)
    script = "{\n" + replace(games) + "} > /dev/null\n" + replace(launch)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, timeout=30, cwd=REPO
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == replace(expected).strip()


def test_the_reference_provider_help_shows_its_defaults():
    shown = subprocess.run(
        [sys.executable, str(PROVIDER_DIR / "server.py"), "--help"], capture_output=True, timeout=30, env=os.environ
    )
    text = " ".join(shown.stdout.decode().split())
    for default in ("(default: 127.0.0.1)", "(default: 9090)", "(default: http://127.0.0.1:8080/v1)"):
        assert default in text


def test_the_fixture_example_shows_a_provider_url():
    example = next(
        json.loads(body)
        for lang, body, _ in blocks()
        if lang == "json" and '"counterparties"' in body and '"sessions"' in body
    )
    assert example["counterparties"][0]["providerUrl"].startswith("http://")


def test_the_provider_readme_starts_the_provider_as_the_main_readme_does():
    """The shell examples of both run against the provider that the main README's command line starts."""
    assert [body for body, _ in marked("partner-provider", provider_blocks())] == [
        body for body, _ in marked("partner-provider")
    ]
    assert len(marked("partner", provider_blocks())) == 1
    assert [lang for lang, _, _ in provider_blocks()] == ["bash", "bash", "text"]  # each one run above


def test_the_recipe_covers_games_launch_curl_demo_and_the_journal():
    scripts = "".join(body for body, _ in marked("partner"))
    for needed in (
        "betcore-sandbox games",
        "betcore-sandbox launch",
        "__admin/launches",
        "--mode demo",
        "__admin/requests",
    ):
        assert needed in scripts


def test_the_launch_body_shown_is_the_one_sent(servers):
    sandbox_port, replace = servers
    shown = next(json.loads(body) for lang, body, _ in blocks() if lang == "json" and '"gameMode": "real"' in body)
    request = urllib.request.Request(
        f"http://127.0.0.1:{sandbox_port}/__admin/launches",
        data=json.dumps(
            {"gameId": "aerobet", "providerUrl": replace("http://127.0.0.1:9090"), "currency": "EUR"}
        ).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        launched = json.loads(response.read())
    sent = json.loads(launched["request"]["body"])
    assert launched["status"] == "launched"
    assert list(sent) == list(shown)
    assert [type(v) for v in sent.values()] == [type(v) for v in shown.values()]
    assert (sent["minBet"], sent["maxBet"]) == (shown["minBet"], shown["maxBet"])

"""The page "Certify your integration" (docs/certify.md): its CI recipe runs as written (with a real game-server
round in place of the provider's own tests), its GitLab job runs the same steps, and its
tables list every scenario and check."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import xmlschema

from betcore_sandbox.conformance import CHECKS, WARNING_CHECKS
from betcore_sandbox.scenarios import SCENARIOS

from .conftest import REPO
from .test_readme import blocks, page_text

PAGE = "docs/certify.md"
SECTION = page_text(PAGE)
JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"
GAME_SERVER = "./run-game-server-tests.sh"

# A game server's test round: a pay-in, then a pay-out retried with the same bytes until acknowledged.
GAME_SERVER_TESTS = r"""#!/usr/bin/env bash
set -euo pipefail
send() {
  eval "$(python -m betcore_sandbox sign POST "/v1/sessions/session-eur/bets/$1" --body "$2" | tail -n 1)"
}
send pay-in '{"betId":"ci-1","betAmount":"1.00"}' | grep -q '"_responseCode":1'
for attempt in 1 2 3; do
  if send pay-out '{"betId":"ci-1","winAmount":"3.00"}' | grep -q '"_responseCode":1'; then exit 0; fi
done
exit 1
"""


def recipe() -> str:
    (body,) = [body for _, body, marker in blocks(PAGE) if marker and marker.startswith("ci recipe")]
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_recipe(tmp_path: Path, game_server: str) -> subprocess.CompletedProcess[bytes]:
    (tmp_path / GAME_SERVER).write_text(game_server)
    (tmp_path / GAME_SERVER).chmod(0o755)
    port = str(free_port())
    script = "trap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + recipe().replace("--port 8080", f"--port {port}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")}
    env |= {"BETCORE_SANDBOX_PORT": port, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )


def test_the_ci_recipe_publishes_a_valid_junit_file_and_passes_a_correct_game_server(tmp_path: Path) -> None:
    result = run_recipe(tmp_path, GAME_SERVER_TESTS)
    assert result.returncode == 0, result.stderr.decode()
    assert "conformance: passed" in result.stderr.decode()
    junit = (tmp_path / "conformance.xml").read_text()
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(junit)
    assert '<testsuite name="scenario pay-out-lost-answer" tests="2" failures="0"' in junit


def test_the_ci_recipe_fails_the_job_when_the_game_server_drops_a_win(tmp_path: Path) -> None:
    dropping = GAME_SERVER_TESTS.replace("for attempt in 1 2 3", "for attempt in 1")
    result = run_recipe(tmp_path, dropping.replace("exit 1\n", "exit 0\n"))  # its own tests stay green
    assert result.returncode == 1, result.stderr.decode()
    assert "conformance: FAILED (1 failed" in result.stderr.decode()
    assert "<failure" in (tmp_path / "conformance.xml").read_text()


def test_the_gitlab_job_runs_the_recipe_and_publishes_its_junit_file() -> None:
    (job,) = [body for lang, body, _ in blocks(PAGE) if lang == "yml"]
    steps = [line.strip()[2:] for line in job.splitlines() if line.strip().startswith("- ")]
    commands = [line.split("  #")[0].strip() for line in recipe().strip().splitlines()]
    assert steps[0] == "pip install ./betcore-sandbox" and steps[1:] == commands
    assert "junit: conformance.xml" in job and "when: always" in job


def test_the_tables_list_every_scenario_and_check_as_the_code_defines_them() -> None:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| (.*) \|$", SECTION, re.M)
    scenarios = {name: rest for name, rest in rows if name in SCENARIOS}
    assert list(scenarios) == list(SCENARIOS)
    for name, rest in scenarios.items():
        listed = re.findall(r"`([a-z-]+)`", rest.rsplit("|", 1)[1])
        assert listed == list(SCENARIOS[name].expects), name
    checks = {name: rest.rsplit("| ", 1)[1] for name, rest in rows if name in CHECKS}
    assert list(checks) == list(CHECKS)
    assert {name for name, finding in checks.items() if finding == "warn"} == WARNING_CHECKS


def test_the_python_api_the_section_names_exists() -> None:
    from betcore_sandbox import ConformanceReport, Sandbox

    for name in ("scenarios", "scenario", "report", "assert_conformant"):
        assert callable(getattr(Sandbox, name)) and f"{name}(" in page_text("docs/pytest.md")
    assert "`check(id)`" in SECTION and callable(ConformanceReport.check)
    assert REPO.joinpath("tests", "data", "junit.xsd").exists()

"""Smoke runs of the benchmark commands with a tiny load: they run, and print their table."""

import os
import shutil
import subprocess
import sys

import pytest

from .conftest import REPO


def _run(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_fixture_cost_benchmark():
    out = _run("benchmarks.fixture_cost", "--cycles", "20", "--max-ratio", "10")
    assert "ratio Sandbox / bare" in out and "target ratio <= 10: met" in out


def test_body_parse_benchmark():
    out = _run("benchmarks.body_parse", "--number", "200", "--repeat", "1")
    assert "| body | parse_bet_request | JSON decode only |" in out
    assert out.count(" µs |") == 2 * 8  # eight bodies, two columns each


@pytest.mark.load
@pytest.mark.timeout(300)
def test_load_benchmark_quick():
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is needed in CI (apt-get install wrk)")
        pytest.skip("wrk is not installed")
    out = _run("benchmarks.run", "--quick")
    for row in ("signed pay-in throughput", "p99 latency", "start-up to healthy", "RSS growth per settled bet"):
        assert row in out
    assert "non-2xx: sandbox 0, bare 0" in out
    assert "audit ok: True" in out

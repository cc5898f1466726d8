"""The soak in miniature: a real sandbox process, concurrent valid wallet traffic under churning faults, then the
money invariants (see benchmarks/soak.py; the long run is `python -m benchmarks.soak --seconds 600`)."""

from __future__ import annotations

import asyncio
import os
import random

import pytest

from benchmarks.soak import SoakConfig, check_server_log, free_port, run_soak, wait_healthy

from .process import SandboxProcess

LOAD_SECONDS = 10.0


@pytest.mark.soak
@pytest.mark.timeout(30)
def test_soak_under_churning_faults_keeps_the_money_invariants():
    seed = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(2**32))
    print(f"soak seed {seed} (rerun with SOAK_SEED={seed})")
    port = free_port()  # at warning level the sandbox does not print its URL: choose the port
    sandbox = SandboxProcess("--port", str(port), "--log-level", "warning")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, sandbox.proc)
        config = SoakConfig(seconds=LOAD_SECONDS, concurrency=16, seed=seed)
        report = asyncio.run(run_soak(url, config, pid=sandbox.proc.pid))
    finally:
        exit_code = sandbox.stop()
    check_server_log(report, sandbox.lines)
    print(report.summary())
    assert report.requests > 1000, report.summary()  # it really was under load
    assert report.faults_fired > 0 and report.replays > 0 and report.duplicates > 0, report.summary()
    assert report.ok, report.summary()
    assert exit_code == 0

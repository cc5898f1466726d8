"""The Docker image, built from the Dockerfile and run the way `docker run` would, without a Docker daemon."""

import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from decimal import Decimal

import pytest

from betcore_sandbox.signing import signed_headers

from . import container
from .conftest import CP, REPO, SECRET

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def image():
    reason = container.missing_tools()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Docker image test must run in CI: {reason}")
        pytest.skip(reason)
    started = time.perf_counter()
    base = container.ensure_base()
    base_seconds = time.perf_counter() - started
    started = time.perf_counter()
    container.build(REPO, base)
    build_seconds = time.perf_counter() - started
    size = container.image_size()
    print(f"\ndocker image: base ready in {base_seconds:.1f} s, built in {build_seconds:.1f} s, {size} (base {base})")
    return container.image_config()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(port: int, process, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"container exited: {process.stdout.read()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("container never became healthy")


def _call(port: int, method: str, path: str, body: bytes = b"") -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body or None,
        method=method,
        headers=signed_headers(SECRET, CP, method, body),
    )
    return json.loads(urllib.request.urlopen(request, timeout=5).read(), parse_float=Decimal)


def test_image_config(image):
    assert image["Entrypoint"] == ["python", "-m", "betcore_sandbox"]
    assert image["User"] == "10001:10001"
    assert "8080/tcp" in image["ExposedPorts"]
    env = dict(item.split("=", 1) for item in image["Env"])
    assert env["BETCORE_SANDBOX_HOST"] == "0.0.0.0" and env["BETCORE_SANDBOX_LOG_FORMAT"] == "json"
    assert image["Healthcheck"]["Test"] == ["CMD", "python", "-m", "betcore_sandbox", "healthcheck"]
    assert not image.get("Volumes")  # in memory by default: no anonymous volume per run


def test_container_serves_runs_as_non_root_and_stops_on_sigterm(image):
    port = _port()
    command = image["Entrypoint"] + image["Cmd"]
    name, process = container.start(command, {"BETCORE_SANDBOX_PORT": str(port)})
    try:
        _wait_healthy(port, process)
        health = container.run_in(name, image["Healthcheck"]["Test"][1:], {"BETCORE_SANDBOX_PORT": str(port)})
        assert health.returncode == 0, health.stdout + health.stderr

        body = b'{"betId":"docker-1","betAmount":"12.50"}'
        assert _call(port, "POST", "/v1/sessions/session-eur/bets/pay-in", body)["_responseCode"] == 1
        assert _call(port, "GET", "/v1/sessions/session-eur/balance")["balance"] == Decimal("987.50")

        servers = [(pid, *container.process_uid_and_args(pid)) for pid in container.descendants(process.pid)]
        [(pid, uid, args)] = [s for s in servers if s[2][-1:] == ["serve"] and "python" in s[2][0]]
        assert uid == 10001, args

        started = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
        logs = [json.loads(line) for line in process.stdout.read().splitlines() if line.startswith("{")]
        assert any(event.get("endpoint") == "pay-in" for event in logs)  # JSON logs by default
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        container.remove(name)


def test_custom_fixture_mount_and_admin_token(image, tmp_path):
    fixture = tmp_path / "custom.json"
    fixture.write_text(
        json.dumps(
            {
                "counterparties": [{"id": CP, "secret": SECRET}],
                "players": [{"id": "ci-player", "currency": "EUR", "balance": "42.00"}],
                "sessions": [{"id": "ci-session", "playerId": "ci-player"}],
                "faults": [{"kind": "http_error", "endpoint": "pay-in", "status": 503}],  # CI starts armed
            }
        )
    )
    fixture.chmod(0o644)
    port = _port()
    env = {
        "BETCORE_SANDBOX_PORT": str(port),
        "BETCORE_SANDBOX_FIXTURES": "/fixtures/custom.json",
        "BETCORE_SANDBOX_ADMIN_TOKEN": "ci-token",
    }
    name, process = container.start(
        image["Entrypoint"] + image["Cmd"], env, volumes=(f"{fixture}:/fixtures/custom.json:ro",)
    )
    try:
        _wait_healthy(port, process)
        assert _call(port, "GET", "/v1/sessions/ci-session/balance")["balance"] == Decimal("42.00")
        pay_in = b'{"betId":"ci-armed","betAmount":"1.00"}'
        with pytest.raises(urllib.error.HTTPError) as faulted:
            _call(port, "POST", "/v1/sessions/ci-session/bets/pay-in", pay_in)
        assert faulted.value.code == 503
        faulted.value.close()
        assert _call(port, "POST", "/v1/sessions/ci-session/bets/pay-in", pay_in)["balance"] == Decimal("41.00")
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/players", timeout=5)
        assert denied.value.code == 401
        denied.value.close()
        authorised = urllib.request.Request(
            f"http://127.0.0.1:{port}/__admin/players", headers={"Authorization": "Bearer ci-token"}
        )
        assert json.loads(urllib.request.urlopen(authorised, timeout=5).read())[0]["id"] == "ci-player"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(5)
            except Exception:
                process.kill()
        process.stdout.close()
        container.remove(name)


def test_state_on_a_volume_survives_a_new_container(image, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 10001, 10001)  # as a new named volume would be: owned like the image's /data
    env = {"BETCORE_SANDBOX_STATE": "/data/sandbox.db"}
    body = b'{"betId":"docker-durable","betAmount":"12.50"}'
    for round_no in range(2):  # a container, killed; a new container on the same volume
        port = _port()
        name, process = container.start(
            image["Entrypoint"] + image["Cmd"], {**env, "BETCORE_SANDBOX_PORT": str(port)}, (f"{data}:/data",)
        )
        pid = None
        try:
            _wait_healthy(port, process)
            servers = [(pid, *container.process_uid_and_args(pid)) for pid in container.descendants(process.pid)]
            [(pid, _, _)] = [s for s in servers if s[2][-1:] == ["serve"] and "python" in s[2][0]]
            answer = _call(port, "POST", "/v1/sessions/session-eur/bets/pay-in", body)
            # the first container books it; the second one finds it booked (a duplicate, same transaction)
            assert (answer["_responseCode"], answer["transactionId"]) == ([1, 104][round_no], "1"), answer
            assert _call(port, "GET", "/v1/sessions/session-eur/balance")["balance"] == Decimal("987.50")
            os.kill(pid, signal.SIGKILL if round_no == 0 else signal.SIGTERM)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)  # the server itself: killing buildah alone would leave it
                process.kill()
                process.wait()
            process.stdout.close()
            container.remove(name)
    assert (data / "sandbox.db").stat().st_uid == 10001

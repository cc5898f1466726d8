"""The docs' signing snippets, each run by its own language: the known-answer vectors, then a live signed balance
and PayIn against a sandbox process."""

from __future__ import annotations

import json
import socket
import uuid
from decimal import Decimal

import pytest

from ..conftest import VECTORS_COPY, vectors
from .tools import LANGUAGES, admin, admin_balance, require, run, tool_env

pytestmark = [pytest.mark.polyglot, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return tool_env(tmp_path_factory.mktemp("tools"))


@pytest.fixture(params=sorted(LANGUAGES))
def snippet(request) -> list[str]:
    command, tool, package = LANGUAGES[request.param]
    require(tool, package)
    return command


def test_every_snippet_computes_the_known_answer_vectors(snippet, env):
    result = run([*snippet, "vectors", str(VECTORS_COPY)], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"ok {case['name']}" for case in vectors()]


def test_every_snippet_reports_a_vector_it_does_not_reproduce(snippet, env, tmp_path):
    data = json.loads(VECTORS_COPY.read_text())
    wrong = data["cases"][1]
    wrong["xSign"] = wrong["xSign"][:-1] + ("0" if wrong["xSign"][-1] != "0" else "1")
    altered = tmp_path / "vectors.json"
    altered.write_text(json.dumps(data, ensure_ascii=False))
    result = run([*snippet, "vectors", str(altered)], env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAIL {wrong['name']}" in result.stdout
    assert sum(line.startswith("ok ") for line in result.stdout.splitlines()) == len(data["cases"]) - 1


def test_every_snippet_sends_a_signed_pay_in_and_balance(snippet, env, sandbox_url):
    before = admin_balance(sandbox_url)
    # A '/' in the betId: PHP sends it as '\/', and the signature still holds over the bytes as sent.
    bet_id = f"bet/{uuid.uuid4().hex[:8]}"
    result = run([*snippet, "pay-in", sandbox_url, "session-eur", bet_id, "2.50"], env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout, parse_float=Decimal)
    assert answer["_responseCode"] == 1, answer
    assert answer["balance"] == before - Decimal("2.50")
    assert admin_balance(sandbox_url) == before - Decimal("2.50")
    [bet] = [b for b in admin(sandbox_url, "GET", "/bets?sessionId=session-eur") if b["betId"] == bet_id]
    assert (bet["status"], bet["stake"]) == ("open", "2.50")

    result = run([*snippet, "balance", sandbox_url, "session-eur"], env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout, parse_float=Decimal)
    assert (answer["_responseCode"], answer["balance"]) == (1, before - Decimal("2.50"))
    journal = admin(sandbox_url, "GET", "/requests?limit=2")
    assert [(e["endpoint"], e["signature"]["verdict"]) for e in journal] == [("pay-in", "valid"), ("balance", "valid")]


def test_every_snippet_fails_loudly_without_an_answer(snippet, env):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
    result = run([*snippet, "balance", url, "session-eur"], env)
    assert result.returncode != 0 and result.stdout == "", result.stdout

"""The report on a virtual sandbox clock: timestamps are judged against sandbox time, as the sandbox judged them,
and an open bet's age is sandbox time passed."""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser

import aiohttp
import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.signing import signed_headers

pytestmark = pytest.mark.timeout(60)

START = "2030-01-01T00:00:00Z"


@pytest.fixture
def sandbox():
    with Sandbox(clock=START) as running:
        yield running
        assert running.internal_errors == []


async def send(sandbox: Sandbox, path: str, body: dict | None = None, headers: dict | None = None) -> int:
    raw = json.dumps(body).encode() if body is not None else b""
    method = "POST" if body is not None else "GET"
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, sandbox.url + path, data=raw or None, headers=headers or sandbox.signed_headers(method, raw)
        ) as answer,
    ):
        return int(json.loads(await answer.read())["_responseCode"])


async def test_timestamps_stamped_with_the_sandbox_clock_pass(sandbox: Sandbox) -> None:
    assert await send(sandbox, "/sessions/session-eur/balance") == 1
    assert await send(sandbox, "/sessions/session-eur/bets/pay-in", {"betId": "b-1", "betAmount": "1.00"}) == 1
    report = sandbox.report()
    assert report.check("timestamp-milliseconds").status == "pass", report.check("timestamp-milliseconds")
    assert report.passed
    assert report.summary["sandboxTime"].startswith("2030-01-01T00:")
    (attempt,) = report.bets[0]["attempts"]
    assert attempt["sandboxTime"].startswith("2030-01-01T00:") and not attempt["time"].startswith("2030")


async def test_a_wall_clock_timestamp_on_a_virtual_clock_is_a_timestamp_finding(sandbox: Sandbox) -> None:
    wall = signed_headers(sandbox.secret, sandbox.counterparty_id, "GET")  # stamped with wall time, not 2030
    assert await send(sandbox, "/sessions/session-eur/balance", headers=wall) == 8
    report = sandbox.report()
    found = report.check("timestamp-milliseconds")
    assert found.status == "fail" and "from the time it arrived" in found.evidence[0].message
    assert report.check("signature-valid").status == "pass"  # the signature itself was right


async def test_an_open_bet_ages_with_the_sandbox_clock(sandbox: Sandbox) -> None:
    assert await send(sandbox, "/sessions/session-eur/bets/pay-in", {"betId": "b-1", "betAmount": "1.00"}) == 1
    assert sandbox.report(grace_seconds=600).check("no-open-bets").status == "pass"
    sandbox.advance_clock(timedelta(hours=1))
    found = sandbox.report(grace_seconds=600).check("no-open-bets")
    assert found.status == "fail" and [e.bet_id for e in found.evidence] == ["b-1"]
    assert found.evidence[0].message.startswith("open for 3600 s")


async def test_the_html_timeline_shows_the_sandbox_clock(sandbox: Sandbox) -> None:
    assert await send(sandbox, "/sessions/session-eur/bets/pay-in", {"betId": "b-1", "betAmount": "1.00"}) == 1
    async with aiohttp.ClientSession() as http, http.get(f"{sandbox.admin_url}/report?format=html") as answer:
        page = (await answer.read()).decode()
    texts: list[str] = []
    parser = HTMLParser()
    parser.handle_data = texts.append  # type: ignore[method-assign]
    parser.feed(page)
    assert any(t.startswith("sandbox clock 2030-01-01T00:") for t in texts)


def test_on_wall_time_the_report_names_no_sandbox_time() -> None:
    with Sandbox() as sandbox:
        assert sandbox.report().summary["sandboxTime"] is None

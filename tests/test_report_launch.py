"""balance-after-launch on real Launch calls: the sandbox launches a game on a provider over HTTP, and the report
judges the outgoing entry the launch journaled and the wallet calls the provider made."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web

from betcore_sandbox import Sandbox

from .partners import answering, raw, reference_provider, serving

pytestmark = pytest.mark.timeout(60)

ref = reference_provider()


@pytest.fixture
def sandbox():
    with Sandbox() as running:
        yield running
        assert running.internal_errors == []


async def test_a_launch_followed_by_a_balance_passes(sandbox: Sandbox) -> None:
    async with serving(ref.create_app(sandbox.url)) as url:  # on Launch it asks the wallet for the balance
        launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="50.00")
    assert launched.status == "launched", launched.problems
    outgoing, balance = sandbox.requests()
    assert (outgoing.direction, outgoing.endpoint, balance.endpoint) == ("outgoing", "launch", "balance")
    found = sandbox.report().check("balance-after-launch")
    assert (found.status, found.summary) == ("pass", "1 launch(es), each followed by a Balance call")


async def test_a_launch_without_a_balance_fails_naming_the_launch(sandbox: Sandbox) -> None:
    frame = json.dumps({"_responseCode": 1, "frameUri": "https://game.example/play"}).encode()
    async with serving(answering(raw(frame))) as url:  # answers, but never calls the wallet
        launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="50.00")
        other = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="5.00")
    assert launched.status == other.status == "launched"
    found = sandbox.report().check("balance-after-launch")
    assert found.status == "fail"
    entries = [e.id for e in sandbox.requests() if e.direction == "outgoing"]
    assert [(list(e.entries), e.details["sessionId"]) for e in found.evidence] == [
        ([entries[0]], launched.session.id),
        ([entries[1]], other.session.id),
    ]


async def test_a_balance_of_another_session_does_not_count(sandbox: Sandbox) -> None:
    async def launch_and_ask_elsewhere(request: web.Request) -> web.StreamResponse:
        await request.read()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{sandbox.url}/sessions/session-eur/balance", headers=sandbox.signed_headers("GET")) as answer,
        ):
            assert answer.status == 200
        return web.json_response({"_responseCode": 1, "frameUri": "https://game.example/play"})

    async with serving(answering(launch_and_ask_elsewhere)) as url:
        launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="50.00")
    assert launched.status == "launched"
    assert [e.endpoint for e in sandbox.requests()] == ["launch", "balance"]
    assert sandbox.report().check("balance-after-launch").status == "fail"


@pytest.mark.parametrize(
    "answer",
    [
        b'{"_responseCode":1}',  # no frameUri: the launch itself failed
        b'{"_responseCode":2,"frameUri":"https://game.example/play"}',
        b"<html>busy</html>",
    ],
)
async def test_a_failed_launch_is_not_applicable(sandbox: Sandbox, answer: bytes) -> None:
    async with serving(answering(raw(answer))) as url:
        launched = await sandbox.launch_async("aerobet", provider_url=url, currency="EUR", balance="50.00")
    assert launched.status == "failed"
    found = sandbox.report().check("balance-after-launch")
    assert (found.status, found.summary) == ("not_applicable", "no Launch call succeeded")

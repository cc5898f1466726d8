"""What a provider sends ends up in the report: betIds and bodies with markup, CDATA ends, control characters and
bytes that are not UTF-8 leave the JUnit file valid XML for CI servers and the HTML page inert and readable."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
import xmlschema

from betcore_sandbox import Sandbox

pytestmark = pytest.mark.timeout(60)

JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"
# A betId as a provider may send it: JSON escapes decode to markup, a CDATA end, ESC, DEL and C1 controls.
HOSTILE = 'x\\u0001<b>]]>&\\u001b[31m\\u007f\\u0085\\"'
HOSTILE_TEXT = 'x\x01<b>]]>&\x1b[31m\x7f\x85"'
SHOWN = 'x\\x01<b>]]>&\\x1b[31m\\x7f\\x85"'  # how a person reads it in the JUnit file and the page


async def hostile_run(sandbox: Sandbox) -> None:
    """A changed retry (retry-identical fails) and an over-precise amount, on hostile betIds; a body that is not
    UTF-8 under a bad signature."""
    sandbox.scenario("pay-in-500-twice")
    async with aiohttp.ClientSession() as http:

        async def post(raw: bytes, headers: dict[str, str] | None = None) -> None:
            url = f"{sandbox.url}/sessions/session-eur/bets/pay-in"
            async with http.post(url, data=raw, headers=headers or sandbox.signed_headers("POST", raw)) as answer:
                await answer.read()

        await post(f'{{"betId":"{HOSTILE}","betAmount":"1.00"}}'.encode())
        await post(f'{{"betId":"{HOSTILE}","betAmount":"2.00","x\\u0002":1}}'.encode())
        await post(f'{{"betId":"{HOSTILE}-2","betAmount":"1.001"}}'.encode())
        bad = sandbox.signed_headers("POST", b"other")
        await post(b'{"betId":"\xff\xfe<]]>\x01"}', bad)


async def test_junit_stays_valid_xml_with_hostile_bet_ids_and_bodies(betcore_sandbox: Sandbox) -> None:
    await hostile_run(betcore_sandbox)
    report = betcore_sandbox.report()
    assert {e.bet_id for e in report.check("retry-identical").evidence} == {HOSTILE_TEXT}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{betcore_sandbox.admin_url}/report?format=junit") as answer,
    ):
        raw = await answer.read()
    assert answer.status == 200
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(raw.decode())
    root = ET.fromstring(raw)
    failures = {case.get("name"): case.find("failure") for case in root.iter("testcase")}
    retry = failures["retry-identical"]
    assert retry is not None and f"bet {SHOWN}: pay-in retry" in (retry.text or "")
    assert failures["amount-precision"] is not None and f"bet {SHOWN}-2" in (failures["amount-precision"].text or "")
    assert failures["signature-valid"] is not None


async def test_html_shows_hostile_bytes_escaped_and_inert(betcore_sandbox: Sandbox) -> None:
    await hostile_run(betcore_sandbox)
    async with aiohttp.ClientSession() as http, http.get(f"{betcore_sandbox.admin_url}/report?format=html") as answer:
        raw = await answer.read()
    page = raw.decode()  # valid UTF-8 throughout
    assert not any(ch in page for ch in "\x01\x1b\x7f\x85")
    tags: list[str] = []
    texts: list[str] = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: tags.append(tag)  # type: ignore[method-assign]
    parser.handle_data = texts.append  # type: ignore[method-assign]
    parser.feed(page)
    parser.close()
    assert "b" not in tags  # the betId's <b> is text, not markup
    stripped = [t.strip() for t in texts]
    assert SHOWN in stripped and f"{SHOWN}-2" in stripped  # bet headings, readable


async def test_a_huge_amount_in_an_18_decimal_currency_is_judged_not_a_crash() -> None:
    fixture = {
        "counterparties": [{"id": "cp", "secret": "s"}],
        "currencies": {"ETH": 18},
        "players": [{"id": "p", "currency": "ETH", "balance": "1"}],
        "sessions": [{"id": "s", "playerId": "p", "counterpartyId": "cp", "expiresAt": None}],
    }
    with Sandbox(fixtures=fixture) as sandbox:
        raw = b'{"betId":"b","betAmount":"99999999999.0000000000000000001"}'
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{sandbox.url}/sessions/s/bets/pay-in", data=raw, headers=sandbox.signed_headers("POST", raw)),
            http.get(f"{sandbox.admin_url}/report") as answer,
        ):
            assert answer.status == 200
            report = await answer.json()
        precision = next(c for c in report["checks"] if c["id"] == "amount-precision")
        assert precision["status"] == "fail" and precision["evidence"][0]["betId"] == "b"
        assert sandbox.internal_errors == []

"""Scenarios and the report through the admin API: listing, applying, bad input, and the three formats (JUnit
checked against the schema CI servers read, HTML parsed)."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import xmlschema

from betcore_sandbox import Sandbox
from betcore_sandbox.errors import AdminInputError
from betcore_sandbox.fixtures import FixtureError, load_fixture, parse_fixture
from betcore_sandbox.inputs import ScenarioOptions
from betcore_sandbox.scenarios import SCENARIOS
from betcore_sandbox.web.app import create_app

from .conftest import Provider
from .providers import SEEDED, FaultyProvider, wait_until
from .test_limits import while_probing_the_loop

JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"


async def admin(http: aiohttp.ClientSession, sandbox: Sandbox, method: str, path: str, body: Any = None) -> Any:
    async with http.request(method, sandbox.admin_url + path, json=body) as response:
        raw = await response.read()
        return response.status, response.content_type, raw


async def test_scenarios_are_listed_with_what_they_do_and_what_they_check(betcore_sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        status, _, raw = await admin(http, betcore_sandbox, "GET", "/scenarios")
    listed = json.loads(raw)
    assert status == 200
    assert [s["name"] for s in listed] == [
        "pay-out-lost-answer",
        "pay-out-timeout-after-commit",
        "pay-in-reset-before-commit",
        "pay-in-500-twice",
        "pay-in-insufficient-funds",
        "pay-in-out-lost-answer",
        "refund-lost-answer",
        "chaos",
    ]
    assert all(s["description"] and s["expects"] for s in listed)


async def test_applying_a_scenario_adds_its_rules_with_the_filters(betcore_sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        status, _, raw = await admin(
            http, betcore_sandbox, "POST", "/scenarios/refund-lost-answer", {"sessionId": "session-usd"}
        )
        assert status == 201
        applied = json.loads(raw)
        assert applied["name"] == "refund-lost-answer" and applied["faultIds"] == ["fault-1", "fault-2"]
        _, _, raw = await admin(http, betcore_sandbox, "GET", "/faults")
    rules = json.loads(raw)
    assert [(r["endpoint"], r["kind"], r["phase"], r["times"], r["sessionId"]) for r in rules] == [
        ("pay-in", "http_error", "after", 2, "session-usd"),
        ("refund", "http_error", "after", 1, "session-usd"),
    ]


async def test_chaos_draws_a_seed_and_shows_it_so_a_run_can_be_repeated(betcore_sandbox: Sandbox) -> None:
    drawn = betcore_sandbox.scenario("chaos")
    assert drawn.seed is not None
    again = betcore_sandbox.scenario("chaos", seed=drawn.seed)
    seeds = {f.id: f.seed for f in betcore_sandbox.faults()}
    assert [seeds[i] for i in drawn.fault_ids] == [seeds[i] for i in again.fault_ids]
    assert all(f.times is None and f.probability < 1 for f in betcore_sandbox.faults())


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/scenarios/no-such", {}, 404, "no scenario 'no-such'; the scenarios are pay-out-lost-answer"),
        ("/scenarios/chaos", {"sessionId": 5}, 400, "sessionId: must be a string"),
        ("/scenarios/chaos", {"seed": -1}, 400, "seed: must be at least 0"),
        (
            "/scenarios/pay-out-timeout-after-commit",
            {"delayMs": 3_600_001},
            400,
            "delayMs: must be an integer from 0 to 3600000",
        ),
        ("/scenarios/chaos", {"sessionID": "x"}, 400, "sessionID: unknown field"),
        ("/scenarios/chaos", [], 400, "body: must be an object"),
    ],
)
async def test_bad_scenario_input_is_refused_and_adds_nothing(
    betcore_sandbox: Sandbox, path: str, body: Any, status: int, error: str
) -> None:
    async with aiohttp.ClientSession() as http:
        got, _, raw = await admin(http, betcore_sandbox, "POST", path, body)
    assert got == status and json.loads(raw)["error"].startswith(error), raw
    assert betcore_sandbox.faults() == [] and betcore_sandbox.report().scenarios == []


GRACE_TEXTS_REFUSED = ("nan", "inf", "1e3", "-0", "1_0", "%EF%BC%95", "0x10", "%ff", "5%00", " 5", "1." + "0" * 10)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("format=xml", "format: must be one of json, junit, html"),
        ("graceSeconds=-1", "graceSeconds: must be a number of seconds"),
        ("graceSeconds=99999999999", "graceSeconds: must be from 0 to"),
        *((f"graceSeconds={text}", "graceSeconds: must be a number of seconds") for text in GRACE_TEXTS_REFUSED),
    ],
)
async def test_bad_report_queries_are_refused(betcore_sandbox: Sandbox, query: str, error: str) -> None:
    async with aiohttp.ClientSession() as http:
        status, _, raw = await admin(http, betcore_sandbox, "GET", f"/report?{query}")
    assert status == 400 and json.loads(raw)["error"].startswith(error)


async def faulty_run(sandbox: Sandbox) -> None:
    """A PayOut whose answer is lost and never retried, between two correct rounds."""
    async with aiohttp.ClientSession() as http:
        provider = FaultyProvider(http, sandbox, "dropped-win")
        await provider.round("fine-1")
        sandbox.scenario("pay-out-lost-answer", session_id="session-eur")
        await provider.round(SEEDED)
        await provider.round("fine-2")


async def test_the_json_report_over_http(betcore_sandbox: Sandbox) -> None:
    await faulty_run(betcore_sandbox)
    async with aiohttp.ClientSession() as http:
        status, content_type, raw = await admin(http, betcore_sandbox, "GET", "/report")
    report = json.loads(raw)
    assert (status, content_type) == (200, "application/json")
    assert report["passed"] is False
    assert report["summary"]["fail"] == 1 and report["summary"]["checks"] == 14 and report["summary"]["bets"] == 3
    first = report["checks"][0]
    assert first["id"] == "pay-out-acknowledged" and first["status"] == "fail"
    assert first["evidence"][0]["betId"] == SEEDED
    assert [s["name"] for s in report["scenarios"]] == ["pay-out-lost-answer"]
    assert report["bets"][0]["betId"] == SEEDED


async def test_the_junit_report_is_valid_for_ci_servers(betcore_sandbox: Sandbox) -> None:
    await faulty_run(betcore_sandbox)
    async with aiohttp.ClientSession() as http:
        status, content_type, raw = await admin(http, betcore_sandbox, "GET", "/report?format=junit")
    assert (status, content_type) == (200, "application/xml")
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(raw.decode())
    root = ET.fromstring(raw)
    checks, scenario = root.findall("testsuite")
    assert checks.get("name") == "checks" and scenario.get("name") == "scenario pay-out-lost-answer"
    assert len(checks.findall("testcase")) == 14 and checks.get("failures") == "1" and checks.get("skipped") == "4"
    failed = [case for case in checks.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["pay-out-acknowledged"]
    failure = failed[0].find("failure")
    assert failure is not None and SEEDED in (failure.text or "")
    skipped = checks.find("testcase[@name='balance-after-launch']/skipped")
    assert skipped is not None and skipped.get("message", "").startswith("not applicable")
    assert root.get("tests") == str(14 + 2) and root.get("failures") == "2"


def test_the_schema_is_strict_enough_to_catch_a_malformed_report() -> None:
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    assert schema.is_valid('<testsuites><testsuite name="s" tests="1"><testcase name="c"/></testsuite></testsuites>')
    assert not schema.is_valid('<testsuites><testsuite name="s"><testcase name="c"/></testsuite></testsuites>')
    assert not schema.is_valid('<testsuites><testsuite name="s" tests="x"><testcase/></testsuite></testsuites>')


class Page(HTMLParser):
    """What a person sees: headings in order, and every tag with a src or href."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []  # (tag, text)
        self.links: list[str] = []
        self.tags: set[str] = set()
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links += [value or "" for name, value in attrs if name in ("src", "href")]
        if tag in ("h1", "h2", "h3", "h4"):
            self._in = tag
            self.headings.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)


async def test_the_html_report_is_one_page_with_failures_first(betcore_sandbox: Sandbox) -> None:
    await faulty_run(betcore_sandbox)
    async with aiohttp.ClientSession() as http:
        status, content_type, raw = await admin(http, betcore_sandbox, "GET", "/report?format=html")
    assert (status, content_type) == (200, "text/html")
    page = Page()
    page.feed(raw.decode())
    page.close()
    assert page.links == [] and "script" not in page.tags and "link" not in page.tags  # self-contained
    texts = [text.strip() for _, text in page.headings]
    assert texts[0] == "Conformance report failed"
    checks = texts[texts.index("Checks") + 1 : texts.index("Scenarios")]
    assert checks[0] == "fail pay-out-acknowledged" and all(not t.startswith("fail") for t in checks[1:])
    bets = texts[texts.index("Bets") + 1 :]
    assert bets[0] == f"{SEEDED} pay-out-acknowledged" and set(bets[1:]) == {"fine-1", "fine-2"}
    assert "<td>pay-out</td>" in raw.decode() and "&quot;http_error&quot;" in raw.decode()


async def test_the_html_report_escapes_what_providers_sent(betcore_sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        provider = FaultyProvider(http, betcore_sandbox, "open-bet")
        await provider.round("<script>alert(1)</script>")
    raw = betcore_sandbox.report()  # the bet id is in the timeline
    assert raw.bets[0]["betId"] == "<script>alert(1)</script>"
    async with aiohttp.ClientSession() as http:
        _, _, page = await admin(http, betcore_sandbox, "GET", "/report?format=html")
    assert b"<script>" not in page and b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_fixture_applies_its_scenarios_at_start_and_on_reset() -> None:
    fixture = {
        "counterparties": [{"id": "cp", "secret": "s"}],
        "players": [{"id": "p", "currency": "EUR", "balance": "10"}],
        "sessions": [{"id": "s-1", "playerId": "p"}],
        "scenarios": [{"name": "pay-out-lost-answer", "sessionId": "s-1"}, {"name": "chaos", "seed": 3}],
    }
    with Sandbox(fixtures=fixture) as sandbox:
        first, *chaos = sandbox.faults()
        assert (first.endpoint, first.session_id) == ("pay-out", "s-1")
        assert len(chaos) == len(SCENARIOS["chaos"].rules(ScenarioOptions()))
        sandbox.clear_faults()
        sandbox.reset()
        assert [s["name"] for s in sandbox.report().scenarios] == ["pay-out-lost-answer", "chaos"]
        assert sandbox.report().scenarios[1]["seed"] == 3 and sandbox.faults()


def test_an_imported_state_applies_its_scenarios_like_a_fixture_file(betcore_sandbox: Sandbox) -> None:
    exported = betcore_sandbox.export_state()
    assert "scenarios" not in exported
    betcore_sandbox.import_state({**exported, "scenarios": [{"name": "pay-in-500-twice", "playerId": "player-eur"}]})
    (rule,) = betcore_sandbox.faults()
    assert (rule.endpoint, rule.times, rule.player_id) == ("pay-in", 2, "player-eur")
    with pytest.raises(AdminInputError, match=r"scenarios\[0\]\.name: no scenario 'x'"):
        betcore_sandbox.import_state({**exported, "scenarios": [{"name": "x"}]})
    assert len(betcore_sandbox.faults()) == 1


def test_a_fixture_naming_an_unknown_scenario_is_refused_with_its_path() -> None:
    data = json.loads(json.dumps({"counterparties": [{"id": "cp", "secret": "s"}], "scenarios": [{"name": "nope"}]}))
    with pytest.raises(FixtureError, match=r"\$\.scenarios\[0\]\.name: no scenario 'nope'"):
        parse_fixture(data)
    with pytest.raises(FixtureError, match=r"\$\.scenarios\[0\]\.name: is required"):
        parse_fixture({"counterparties": [{"id": "cp", "secret": "s"}], "scenarios": [{"sessionId": "x"}]})
    assert load_fixture().scenarios == ()


HELD_ENDED = f"pay-out session=session-eur bet={SEEDED} code=- http=- fault=timeout"  # its log line: the hold ended


async def test_a_request_held_across_a_reset_is_not_judged_after_it(betcore_sandbox: Sandbox, caplog) -> None:
    """Journaled when the hold began, it went with the reset: its end neither brings it back nor is judged."""
    betcore_sandbox.scenario("pay-out-timeout-after-commit", delay_ms=1000)
    async with aiohttp.ClientSession() as http:
        provider = FaultyProvider(http, betcore_sandbox, "dropped-win")
        assert await provider.pay_in(SEEDED)
        provider.timeout = 0.2
        await provider.pay_out(SEEDED)  # held; the client gave up and never retries
        provider.timeout = 5.0
        betcore_sandbox.reset()
        await provider.round("after-reset")
        await wait_until(lambda: any(HELD_ENDED in r.getMessage() for r in caplog.records))
    assert not any(e.bet_id == SEEDED for e in betcore_sandbox.requests())
    report = betcore_sandbox.report()
    assert report.passed and report.summary["bets"] == 1, report.failed


@pytest.mark.timeout(120)
async def test_a_report_on_a_full_journal_lets_other_requests_through(aiohttp_client, make_state) -> None:
    state = make_state()
    http = await aiohttp_client(create_app(state))
    provider = Provider(http)
    assert (await provider.pay_in("session-eur", "b-0", "1.00"))["_responseCode"] == 1
    (entry,) = state.journal
    for i in range(1, 10_000):  # the journal's default limit, of real entries but for other bets
        state.journal.record(dataclasses.replace(entry, bet_id=f"b-{i}", time=entry.time + i / 1e6))

    async def read() -> tuple[int, bytes]:
        response = await http.get("/__admin/report?format=html")
        return response.status, await response.read()

    (status, raw), longest_stall, total = await while_probing_the_loop(read())
    assert status == 200 and raw.count(b'<h3 class="bet"') == 10_000
    # Judged in one go on the loop, the stall would be all of it; off the loop the snapshot and the answer's write
    # remain, and the judging thread competes for the interpreter lock, which on a busy machine stretches them.
    assert longest_stall < total * 0.75, (longest_stall, total)
    assert await provider.balance() == Decimal("999.00")


@pytest.mark.parametrize(("text", "seconds"), [("0", 0.0), ("60", 60.0), ("0.5", 0.5), ("315360000", 315360000.0)])
async def test_grace_seconds_in_plain_decimal_notation(betcore_sandbox: Sandbox, text: str, seconds: float) -> None:
    async with aiohttp.ClientSession() as http:
        status, _, raw = await admin(http, betcore_sandbox, "GET", f"/report?graceSeconds={text}")
    assert status == 200 and json.loads(raw)["summary"]["graceSeconds"] == seconds

"""What a provider's test suite sees of the sandbox's requests: a report section on a failing test (switchable),
and the request lines through caplog and live logging."""

import pytest

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
addopts = --strict-markers -p no:cacheprovider
filterwarnings = error
{extra}
"""

HELPERS = """
import json
import logging
import urllib.error
import urllib.request

import pytest


def pay_in(sandbox, bet_id, amount, session="session-eur"):
    body = json.dumps({"betId": bet_id, "betAmount": amount}).encode()
    request = urllib.request.Request(f"{sandbox.url}/sessions/{session}/bets/pay-in", data=body,
                                     headers=sandbox.signed_headers("POST", body))
    try:
        return json.loads(urllib.request.urlopen(request, timeout=5).read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())
"""

FAILING = (
    HELPERS
    + """

def test_fails_after_a_pay_in(betcore_sandbox):
    betcore_sandbox.add_fault(endpoint="pay-in", kind="http_error", times=1)
    pay_in(betcore_sandbox, "bet-faulted", "1.00")
    pay_in(betcore_sandbox, "bet-too-big", "9999999.00")
    pay_in(betcore_sandbox, "bet-ok", "2.50")
    assert betcore_sandbox.balance("session-eur") == 0, "the provider's own assertion"


def test_passes(betcore_sandbox):
    pay_in(betcore_sandbox, "bet-passing", "1.00")


def test_fails_with_two_factory_sandboxes(betcore_sandbox_factory):
    first, second = betcore_sandbox_factory(), betcore_sandbox_factory()
    pay_in(first, "on-first", "1.00")
    pay_in(second, "on-second", "1.00")
    pay_in(second, "unknown", "1.00", session="no-such-session")
    raise AssertionError("factory test fails")


def test_fails_without_a_sandbox():
    assert False, "no sandbox here"
"""
)

P = "POST /v1/sessions/session-eur/bets/pay-in"
PAY_IN_LINES = [
    "*Captured betcore-sandbox call*",
    "sandbox http://127.0.0.1:*: 3 request(s), oldest first:",
    f"* {P} session=session-eur bet=bet-faulted http=500 code=99 fault=http_error/before *ms  "
    "injected fault fault-1 (http_error, before)",
    f"* {P} session=session-eur bet=bet-too-big http=200 code=7 *ms  betAmount 9999999.00 is above *",
    f"* {P} session=session-eur bet=bet-ok http=200 code=1 *ms",
]


def run(pytester, *args, extra=""):
    pytester.makeini(INI.format(extra=extra))
    pytester.makepyfile(test_provider=FAILING)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=3)
    return result


def test_a_failing_test_shows_the_requests_its_sandbox_received(pytester):
    result = run(pytester)
    result.stdout.fnmatch_lines(PAY_IN_LINES)
    out = result.stdout.str()
    assert "bet-passing" not in out  # a passing test adds nothing
    assert out.count("Captured betcore-sandbox call") == 2  # the test without a sandbox has none
    result.stdout.fnmatch_lines(
        [
            "*Captured betcore-sandbox call*",
            "sandbox http://127.0.0.1:*: 1 request(s), oldest first:",
            f"* {P} session=session-eur bet=on-first http=200 code=1 *ms",
            "",
            "sandbox http://127.0.0.1:*: 2 request(s), oldest first:",
            f"* {P} session=session-eur bet=on-second http=200 code=1 *ms",
            "* POST /v1/sessions/no-such-session/bets/pay-in session=no-such-session bet=unknown http=200 code=3 *ms  "
            "unknown session 'no-such-session'",
        ]
    )


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["--no-betcore-sandbox-report"], ""),
        ([], "betcore_sandbox_report = false"),
        (["--betcore-sandbox-report-lines=0"], ""),
    ],
    ids=["flag", "ini", "zero-lines"],
)
def test_the_report_can_be_switched_off(pytester, args, extra):
    result = run(pytester, *args, extra=extra)
    assert "Captured betcore-sandbox" not in result.stdout.str()
    assert "POST /v1/sessions/session-eur/bets/pay-in" not in result.stdout.str()


def test_the_flag_turns_on_what_the_ini_turned_off(pytester):
    result = run(pytester, "--betcore-sandbox-report", extra="betcore_sandbox_report = false")
    result.stdout.fnmatch_lines(PAY_IN_LINES)


@pytest.mark.parametrize(
    ("args", "extra"), [(["--betcore-sandbox-report-lines=1"], ""), ([], "betcore_sandbox_report_lines = 1")]
)
def test_how_many_lines(pytester, args, extra):
    result = run(pytester, *args, extra=extra)
    result.stdout.fnmatch_lines(
        [
            "sandbox http://127.0.0.1:*: the last 1 of 3 requests, oldest first:",
            f"* {P} session=session-eur bet=bet-ok http=200 code=1 *ms",
        ]
    )
    assert "bet=bet-faulted http=" not in result.stdout.str()  # the log lines name it, the report does not


def test_a_bad_line_count_in_the_ini_is_a_usage_error_before_any_test_runs(pytester):
    pytester.makeini(INI.format(extra="betcore_sandbox_report_lines = many"))
    pytester.makepyfile(test_provider=HELPERS + "\n\ndef test_passes(betcore_sandbox):\n    pass\n")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(["*betcore_sandbox_report_lines must be a number, not 'many'*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_passes" not in result.stdout.str()  # found before any test ran, not when one fails


def test_a_wrong_base_path_is_in_the_report_with_its_reason(pytester):
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(
        test_wrong_path=HELPERS
        + """

def test_posts_to_a_wrong_base_path(betcore_sandbox):
    body = json.dumps({"betId": "b-1", "betAmount": "1.00"}).encode()
    base = betcore_sandbox.base_url
    request = urllib.request.Request(f"{base}/api/v1/sessions/session-eur/bets/pay-in", data=body,
                                     headers=betcore_sandbox.signed_headers("POST", body))
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=5)
    assert betcore_sandbox.balance("session-eur") == 999
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Captured betcore-sandbox call*",
            "sandbox http://127.0.0.1:*: 1 request(s), oldest first:",
            "* POST /api/v1/sessions/session-eur/bets/pay-in session=- bet=- http=404 code=2 *ms  no endpoint POST "
            "/api/v1/sessions/session-eur/bets/pay-in: wallet calls go under /v1 and "
            "/betongames-mediator-service/api/v1",
        ]
    )
    assert "no requests received" not in result.stdout.str()


def test_the_report_reads_only_the_newest_lines_and_a_count(pytester):
    pytester.makeini(INI.format(extra="betcore_sandbox_report_lines = 2"))
    pytester.makepyfile(
        test_limited=HELPERS
        + """

def test_many(betcore_sandbox):
    for i in range(5):
        pay_in(betcore_sandbox, f"bet-{i}", "1.00")
    read = betcore_sandbox.requests

    def only_the_newest(**filters):
        assert filters.get("limit") == 2, f"the whole journal was read: {filters}"
        return read(**filters)

    betcore_sandbox.requests = only_the_newest
    assert False
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "sandbox http://127.0.0.1:*: the last 2 of 5 requests, oldest first:",
            f"* {P} session=session-eur bet=bet-3 http=200 code=1 *ms",
            f"* {P} session=session-eur bet=bet-4 http=200 code=1 *ms",
        ]
    )


def test_a_dropped_connection_and_a_bad_signature_read_as_such(pytester):
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(
        test_dropped=HELPERS
        + """

def test_dropped(betcore_sandbox):
    betcore_sandbox.add_fault(endpoint="balance", kind="empty_response")
    request = urllib.request.Request(betcore_sandbox.url + "/sessions/session-eur/balance",
                                     headers=betcore_sandbox.signed_headers("GET"))
    with pytest.raises(Exception):
        urllib.request.urlopen(request, timeout=5)
    unsigned = urllib.request.Request(betcore_sandbox.url + "/sessions/session-eur/bets/pay-in",
                                      data=b'{"betId":"x","betAmount":"1.00"}')
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(unsigned, timeout=5)
    assert False
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "* GET /v1/sessions/session-eur/balance session=session-eur bet=- no-answer code=- "
            "fault=empty_response/before *ms  injected fault fault-1 (empty_response, before)",
            f"* {P} session=session-eur bet=x http=401 code=8 *ms  missing header X-Counterparty-Id",
        ]
    )


LOGGING = (
    HELPERS
    + """

def test_caplog_has_the_request_lines(betcore_sandbox, caplog):
    pay_in(betcore_sandbox, "bet-logged", "1.00")
    lines = [r.getMessage() for r in caplog.records if r.name == "betcore_sandbox.requests"]
    assert len(lines) == 1 and lines[0].startswith("pay-in session=session-eur bet=bet-logged code=1 http=200")
    assert caplog.records[-1].levelname == "INFO"


def test_a_level_the_suite_set_is_kept(betcore_sandbox, caplog):
    logging.getLogger("betcore_sandbox.requests").setLevel(logging.WARNING)
    try:
        pay_in(betcore_sandbox, "bet-quiet", "1.00")
    finally:
        logging.getLogger("betcore_sandbox.requests").setLevel(logging.NOTSET)
    assert [r for r in caplog.records if r.name == "betcore_sandbox.requests"] == []


def test_factory_sandboxes_log_too(betcore_sandbox_factory, caplog):
    pay_in(betcore_sandbox_factory(), "bet-factory", "1.00")
    assert any("bet=bet-factory" in r.getMessage() for r in caplog.records)


def test_after_the_sandbox_tests_the_logger_is_as_it_was():
    assert logging.getLogger("betcore_sandbox.requests").level == logging.NOTSET
"""
)


def test_caplog_captures_the_request_lines(pytester):
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(test_logging=LOGGING)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=4)


def test_live_logging_shows_the_request_lines(pytester):
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(test_logging=LOGGING)
    result = pytester.runpytest("-o", "log_cli=true", "-o", "log_cli_level=INFO")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*live log call*",
            "INFO     betcore_sandbox.requests*pay-in session=session-eur bet=bet-logged code=1 http=200*",
        ]
    )


def test_a_journal_that_cannot_be_read_leaves_the_failure_as_it_is(pytester):
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(
        test_unreadable="""
def test_fails(betcore_sandbox):
    def broken(**kwargs):
        raise OSError("disk gone")
    betcore_sandbox.requests = broken
    assert False, "the test's own failure"
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the test's own failure*", "sandbox http://127.0.0.1:*: its journal could not be read: OSError('disk gone')"]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_the_report_does_not_keep_stopped_sandboxes_alive(pytester):
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(
        test_released="""
import gc
import weakref

seen = []


def test_first(betcore_sandbox, betcore_sandbox_factory):
    seen.extend([weakref.ref(betcore_sandbox), weakref.ref(betcore_sandbox_factory())])


def test_second():
    gc.collect()
    assert [ref() for ref in seen] == [None, None]
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)

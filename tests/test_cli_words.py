"""The command line in its user's words, through real processes: a rule or body with a key given twice, inputs
`sign` cannot turn into a request, `clock`'s refusals, an empty journal, `--port`, a mistyped command, and the
sandbox's refusals told as what to do."""

import json
import os
import subprocess
import urllib.request

import pytest

from betcore_sandbox.signing import signed_headers

from .conftest import CP, REPO, SECRET
from .process import SandboxProcess, listening, run_cli

TOKEN = "words-token"
ENV = {"BETCORE_SANDBOX_ADMIN_TOKEN": TOKEN}


@pytest.fixture(scope="module")
def served():
    with listening("--port", "0", "--admin-token", TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def url(served):
    assert cli(served.url, "reset").returncode == 0
    return served.url


def cli(url, *args, env=None, input=None):
    return run_cli(*args, env={"BETCORE_SANDBOX_URL": url, **ENV, **(env or {})}, input=input)


def err(result):
    return result.stderr.decode()


def test_a_rule_with_a_key_given_twice_is_refused_naming_the_key(url):
    twice = cli(url, "faults", "add", "--json", '{"kind":"delay","delayMs":5,"delayMs":6}')
    assert (twice.returncode, twice.stdout) == (2, b"")
    assert err(twice) == "betcore-sandbox: error: --json has the key 'delayMs' twice in one object\n"
    assert cli(url, "faults", "list").stdout == b"no fault rules\n"  # nothing was sent
    nested = cli(url, "faults", "add", "--kind", "delay", "--json", '{"delayMs":5,"x":{"a":1,"a":2}}')
    assert nested.returncode == 2 and "'a' twice in one object at $.x" in err(nested)


def test_sign_warns_of_a_body_with_a_key_given_twice_and_signs_it_as_it_is():
    body = '{"betId":"b","betAmount":"1.00","betAmount":"2.00"}'
    signed = run_cli("sign", "POST", "/v1/sessions/s/bets/pay-in", "--body", body)
    assert signed.returncode == 0
    assert err(signed) == (
        "warning: --body has the key 'betAmount' twice in one object: the provider API refuses such a body; "
        "it is signed and sent as it is\n"
    )
    assert body in signed.stdout.decode()  # the body signed is the body given


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("GET", "http://[::1/v1/x"), "PATH 'http://[::1/v1/x' is not a URL: Invalid IPv6 URL"),
        (("GET", "http://::1]/v1/x"), "PATH 'http://::1]/v1/x' is not a URL: Invalid IPv6 URL"),
        (("GET", "/v1/x", "--request-id", "a\nX-Evil: 1"), "--request-id 'a\\nX-Evil: 1' holds a control character"),
        (("GET", "/v1/x", "--request-id", "a\tb"), "--request-id 'a\\tb' holds a control character"),
        (("GET", "/v1/x", "--timestamp", "-5"), "--timestamp is epoch milliseconds, 0 or more, got -5"),
    ],
)
def test_sign_refuses_what_no_request_can_carry_in_one_line(args, said):
    result = run_cli("sign", *args, "--counterparty-id", "cp", "--secret", "s")
    assert (result.returncode, result.stdout) == (2, b"")
    assert err(result).startswith(f"betcore-sandbox: error: {said}") and err(result).count("\n") == 1, err(result)


def test_clock_refusals_are_input_errors_naming_the_flags(url):
    far = cli(url, "clock", "--advance", "9999999d")
    assert (far.returncode, far.stdout) == (2, b"")
    assert err(far) == (
        "betcore-sandbox: error: --advance: the sandbox clock must stay between 1970-01-01 and "
        "9000-01-01T00:00:00.000Z\n"
    )
    assert cli(url, "clock", "--set", "2030-01-01T00:00:00Z").returncode == 0
    booked = _pay_in(url, "clock-1", timestamp_ms=1_893_456_000_000)  # signed at the sandbox's time, 2030
    assert booked == 200
    back = cli(url, "clock", "--set", "2029-01-01T00:00:00Z")
    assert (back.returncode, back.stdout) == (2, b"")
    assert err(back).startswith("betcore-sandbox: error: --set: 2029-01-01T00:00:00.000Z is before the latest booked")
    assert err(back).endswith("(betcore-sandbox reset first)\n") and "Ms" not in err(back), err(back)


def _pay_in(url, bet_id, timestamp_ms):
    raw = json.dumps({"betId": bet_id, "betAmount": "1.00"}).encode()
    headers = {**signed_headers(SECRET, CP, "POST", raw, timestamp_ms=timestamp_ms), "Content-Type": "application/json"}
    path = "/v1/sessions/session-eur/bets/pay-in"
    with urllib.request.urlopen(urllib.request.Request(url + path, data=raw, headers=headers), timeout=10) as answer:
        return answer.status


def test_requests_on_an_empty_journal_say_so_and_print_nothing_as_json(url):
    assert cli(url, "requests").stdout == b"no requests\n"
    assert cli(url, "requests", "--json").stdout == b""
    _pay_in(url, "r-1", timestamp_ms=None)
    listed = cli(url, "requests").stdout.decode()
    assert "no requests" not in listed and "pay-in" in listed


def test_the_remote_commands_take_port_as_short_for_the_local_sandbox(served):
    port = served.url.rsplit(":", 1)[1]
    bare = {"BETCORE_SANDBOX_URL": "", "BETCORE_SANDBOX_PORT": "9"}  # else the environment would name it
    reset = cli(served.url, "reset", "--port", port, env=bare)
    assert reset.returncode == 0 and reset.stdout.startswith(b"reset: "), reset.stderr
    assert cli(served.url, "faults", "list", "--port", port, env=bare).stdout == b"no fault rules\n"
    assert cli(served.url, "clock", "--port", port, env=bare).stdout.startswith(b"sandbox time")
    assert cli(served.url, "healthcheck", "--port", port, env=bare).returncode == 0
    signed = run_cli(
        "sign", "GET", "/v1/sessions/s/balance", "--port", "18090", "--counterparty-id", "c", "--secret", "s"
    )
    assert "http://127.0.0.1:18090/v1/sessions/s/balance" in signed.stdout.decode().splitlines()[-1]
    both = cli(served.url, "reset", "--port", port, "--sandbox", served.url)
    assert both.returncode == 2 and "not allowed with argument" in err(both)
    wrong = cli(served.url, "reset", "--port", "http")
    assert wrong.returncode == 2 and "argument --port: 'http' is not a port from 1 to 65535" in err(wrong)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("fault", "list"), "unknown command 'fault' (did you mean faults?)"),
        (("blance", "x"), "unknown command 'blance' (did you mean balance?)"),
        (("frobnicate",), "unknown command 'frobnicate' (the commands: serve, healthcheck, sign,"),
    ],
)
def test_a_mistyped_command_is_named_with_the_nearest_one(args, said):
    result = run_cli(*args)
    assert (result.returncode, result.stdout) == (2, b"")
    assert err(result).startswith(f"betcore-sandbox: error: {said}") and err(result).count("\n") == 1, err(result)


def test_a_missing_or_wrong_admin_token_says_which_variable_to_set(url):
    unset = cli(url, "reset", env={"BETCORE_SANDBOX_ADMIN_TOKEN": ""})
    assert (unset.returncode, unset.stdout) == (2, b"")
    assert err(unset) == (
        f"betcore-sandbox: error: the sandbox at {url} requires its admin token: BETCORE_SANDBOX_ADMIN_TOKEN is "
        "unset; set it to that token\n"
    )
    named = cli(url, "faults", "list", "--token-env", "CI_SANDBOX_TOKEN")
    assert named.returncode == 2
    assert "requires its admin token: CI_SANDBOX_TOKEN (the variable --token-env names) is unset" in err(named)
    wrong = cli(url, "clock", env={"BETCORE_SANDBOX_ADMIN_TOKEN": "not-it"})
    assert wrong.returncode == 2
    assert err(wrong) == (
        f"betcore-sandbox: error: the sandbox at {url} refused the admin token: set BETCORE_SANDBOX_ADMIN_TOKEN to "
        "the token it was started with\n"
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--kind", "http_error", "--delay", "5"), "--delay does not apply to kind http_error"),
        (("--kind", "delay", "--code", "3", "--delay", "1"), "--code does not apply to kind delay"),
        (("--kind", "delay"), "kind delay needs --delay"),
        (("--kind", "http_error", "--status", "200"), "--status: must be an integer from 400 to 599"),
        (("--json", '{"kind": "delay", "delayMs": 1, "colour": 2}'), "the sandbox refused the rule: colour: unknown"),
    ],
)
def test_a_refused_rule_names_the_flag_that_set_the_field(url, args, said):
    result = cli(url, "faults", "add", *args)
    assert (result.returncode, result.stdout) == (2, b"")
    assert err(result).startswith(f"betcore-sandbox: error: {said}") and "Ms:" not in err(result), err(result)


def test_removing_a_rule_that_is_not_there_says_so_in_words(url):
    missing = cli(url, "faults", "remove", "fault-99")
    assert (missing.returncode, missing.stdout) == (1, b"")
    assert err(missing) == "betcore-sandbox: error: no fault rule fault-99\n"


def test_state_import_counts_one_of_a_kind_in_the_singular(url, tmp_path):
    assert _pay_in(url, "one", timestamp_ms=None) == 200
    saved = tmp_path / "state.json"
    assert cli(url, "state", "export", str(saved)).returncode == 0
    imported = cli(url, "state", "import", str(saved))
    assert imported.stdout.decode() == "imported: 7 players, 8 sessions, 1 bet, 1 transaction\n", imported.stderr


@pytest.fixture
def open_sandbox():
    """A sandbox without an admin token, as the recipes of the documentation expect."""
    sandbox = SandboxProcess("--port", "0")
    try:
        yield sandbox.wait_listening()
    finally:
        sandbox.stop()


def test_the_fault_helper_of_the_recipes_fails_on_a_rule_the_sandbox_refuses(open_sandbox):
    page = (REPO / "docs" / "admin-and-faults.md").read_text()
    [helper] = [line for line in page.splitlines() if line.startswith("fault() {")]
    port = open_sandbox.rsplit(":", 1)[1]

    def run(rule):
        script = f"{helper}\nfault '{rule}'\necho armed"
        env = {**os.environ, "BETCORE_SANDBOX_PORT": port}
        return subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, timeout=30)

    typo = run('{"endpoint": "pay-out", "kind": "http_eror"}')
    assert typo.returncode != 0 and typo.stdout == b"" and b"400" in typo.stderr, typo
    good = run('{"endpoint": "pay-out", "kind": "http_error"}')
    assert (good.returncode, good.stdout) == (0, b"armed\n"), good

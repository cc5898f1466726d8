"""What the command line says is true, through the real processes: `sign`'s curl line stays one line and sends the
exact signed bytes, `reset` and the banner name a fixture's armed faults, a wrong URL names the flag typed, flag
values JSON cannot carry are refused by the flag, and every remote command takes the admin token the same way."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from betcore_sandbox.remote import AdminClient, RemoteError

from .process import SandboxProcess, run_cli

TOKEN = "messages-token"
ENV = {"BETCORE_SANDBOX_ADMIN_TOKEN": TOKEN}
DEFAULT_FIXTURE = Path(__file__).parent.parent / "betcore_sandbox" / "default_fixture.json"


@pytest.fixture(scope="module")
def armed(tmp_path_factory):
    """A sandbox whose fixture arms one fault rule, as the Docker image in CI would start."""
    fixture = json.loads(DEFAULT_FIXTURE.read_text())
    fixture["faults"] = [{"kind": "http_error", "endpoint": "pay-in", "status": 503, "sessionId": "session-usd"}]
    path = tmp_path_factory.mktemp("armed") / "armed.json"
    path.write_text(json.dumps(fixture))
    sandbox = SandboxProcess("--port", "0", "--admin-token", TOKEN, "--fixtures", str(path))
    try:
        sandbox.wait_listening()
        yield sandbox
    finally:
        sandbox.stop()


def cli(url, *args, input=None, env=None):
    return run_cli(*args, env={"BETCORE_SANDBOX_URL": url, **ENV, **(env or {})}, input=input)


def bash(command, url):
    """`command` as a user's bash runs it, with the venv's command first on PATH and the sandbox named."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETCORE_SANDBOX_")},
        "BETCORE_SANDBOX_URL": url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(["bash", "-euo", "pipefail", "-c", command], env=env, capture_output=True, timeout=30)


# -- sign ----------------------------------------------------------------------------------------------------------


def test_a_body_file_ending_in_a_newline_keeps_the_curl_line_one_line_and_is_sent_as_signed(armed, tmp_path):
    body = tmp_path / "bet.json"
    body.write_bytes(b'{"betId":"e-2","betAmount":"2.50"}\n')  # as an editor saves it
    signed = cli(armed.url, "sign", "POST", "/v1/sessions/session-eur/bets/pay-in", "--body-file", str(body))
    assert signed.returncode == 0, signed.stderr
    assert signed.stderr.decode() == (
        f"note: --body-file {body} ends with a newline (as editors write files): it is part of the signed body "
        "and sent\n"
    )
    assert signed.stdout.decode().splitlines()[-1].endswith(f"--data-binary @{body}")
    assert "String-To-Sign: {" in signed.stdout.decode() and '"2.50"}\\n.' in signed.stdout.decode()
    # The documented pattern: the last line, eval'd, is accepted by the sandbox (the signature covers the newline).
    sent = bash(
        f'cd {tmp_path} && eval "$(betcore-sandbox sign POST /v1/sessions/session-eur/bets/pay-in '
        '--body-file bet.json 2>/dev/null | tail -n 1)"',
        armed.url,
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["_responseCode"] == 1


@pytest.mark.parametrize(
    "raw",
    [
        b'{"betId":"e-3","betAmount":"1.00"}\n',
        b'{"betId":"e-4",\r\n "betAmount":"1.00"}\t',
        '{"betId":"é-5","betAmount":"1.00"}\n'.encode(),
    ],
)
def test_a_body_from_standard_input_goes_on_one_line_in_bash_quoting_byte_for_byte(armed, tmp_path, raw):
    (tmp_path / "body").write_bytes(raw)
    signed = cli(armed.url, "sign", "POST", "/v1/sessions/session-eur/bets/pay-in", "--body-file", "-", input=raw)
    assert signed.returncode == 0, signed.stderr
    curl = signed.stdout.decode().splitlines()[-1]
    assert curl.startswith("curl ") and "--data-raw $'" in curl
    sent = bash(
        'eval "$(betcore-sandbox sign POST /v1/sessions/session-eur/bets/pay-in --body-file - '
        f'< {tmp_path / "body"} 2>/dev/null | tail -n 1)"',
        armed.url,
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["_responseCode"] == 1  # the bytes sent are the bytes signed


def test_an_empty_body_is_refused_and_a_body_that_is_not_json_is_signed_with_a_warning():
    empty = run_cli("sign", "POST", "/v1/sessions/s/bets/pay-in", "--body", "")
    assert (empty.returncode, empty.stdout) == (2, b"")
    assert empty.stderr.decode() == (
        "betcore-sandbox: error: --body is empty: a POST body is the JSON object the call sends\n"
    )
    from_stdin = run_cli("sign", "POST", "/v1/sessions/s/bets/pay-in", "--body-file", "-", input=b"")
    assert from_stdin.returncode == 2 and "the body (standard input) is empty" in from_stdin.stderr.decode()
    form = run_cli("sign", "POST", "/v1/sessions/s/bets/pay-in", "--body", "betId=1")
    assert form.returncode == 0
    assert form.stderr.decode() == (
        "warning: --body is not JSON; it is signed and sent as it is (the wallet expects a JSON object)\n"
    )
    assert form.stdout.decode().splitlines()[-1].endswith("--data-raw betId=1")
    nul = run_cli("sign", "POST", "/v1/sessions/s/bets/pay-in", "--body-file", "-", input=b'{"a":"\x00"}')
    assert nul.returncode == 2 and "give it as --body-file FILE" in nul.stderr.decode()
    plain = run_cli("sign", "POST", "/v1/sessions/s/bets/pay-in", "--body", '{"betId":"q"}')
    assert (plain.returncode, plain.stderr) == (0, b"")  # nothing to say about a plain JSON body


# -- reset and the banner ------------------------------------------------------------------------------------------


def test_reset_and_the_banner_name_the_fixtures_armed_faults(armed):
    banner = next((line for line in armed.lines if "fault armed" in line), None)
    banner = banner or armed.lines_until(lambda line: "fault armed" in line)
    assert banner.strip() == "fault armed   http_error HTTP 503 on pay-in (before) for session=session-usd 1 time"
    reset = cli(armed.url, "reset")
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.decode() == ("reset: the fixture's wallet and its 1 fault rule (fault-1), an empty journal\n")
    listed = cli(armed.url, "faults", "list", "--json")
    assert [rule["id"] for rule in json.loads(listed.stdout)] == ["fault-1"]  # what reset said is what is armed


def test_a_fixture_without_faults_has_no_fault_line_in_its_banner(tmp_path):
    sandbox = SandboxProcess("--port", "0")
    try:
        sandbox.wait_listening()
        assert cli(sandbox.url, "reset").stdout.decode() == "reset: the fixture's wallet, no faults, an empty journal\n"
    finally:
        sandbox.stop()
    assert not [line for line in sandbox.lines if "fault armed" in line]


# -- faults add ----------------------------------------------------------------------------------------------------


def test_the_faults_add_confirmation_is_one_line_whatever_a_filter_holds(armed):
    added = cli(armed.url, "faults", "add", "--kind", "http_error", "--session", "a\nb")
    assert added.returncode == 0, added.stderr
    assert added.stdout.decode().count("\n") == 1
    assert "for session=a\\nb " in added.stdout.decode()
    assert cli(armed.url, "reset").returncode == 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--probability", "nan"), "argument --probability: 'nan' is not a number from 0 to 1"),
        (("--probability", "1.5"), "argument --probability: '1.5' is not a number from 0 to 1"),
        (("--ttl", "inf"), "argument --ttl: 'inf' is not a number more than 0, at most 315360000"),
        (("--ttl", "0"), "argument --ttl: '0' is not a number more than 0, at most 315360000"),
        (("--json", '{"times": 1e400}'), "--json holds a number out of range (NaN, Infinity or one like 1e400)"),
        (("--json", '{"probability": NaN}'), "--json holds a number out of range (NaN, Infinity or one like 1e400)"),
    ],
)
def test_numbers_json_cannot_carry_are_refused_naming_the_flag(armed, args, said):
    result = cli(armed.url, "faults", "add", "--kind", "delay", "--delay", "1", *args)
    assert (result.returncode, result.stdout) == (2, b"")
    assert said in result.stderr.decode()
    assert "invalid character" not in result.stderr.decode()  # nothing reached the sandbox


def test_the_admin_client_refuses_to_send_nan_before_any_call():
    client = AdminClient("http://127.0.0.1:9")  # nothing listens: a refusal here proves nothing was sent
    with pytest.raises(RemoteError) as refused:
        client.call("POST", "/faults", {"kind": "delay", "ttlSeconds": float("inf")})
    assert "a number JSON cannot carry" in str(refused.value) and not refused.value.unreachable


# -- tokens --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("clock",),
        ("scenario",),
        ("report",),
        ("games", "--provider-url", "http://127.0.0.1:9"),
        ("faults", "list"),
        ("audit",),
    ],
)
def test_every_remote_command_takes_the_token_from_the_variable_token_env_names(armed, command):
    without = run_cli(*command, env={"BETCORE_SANDBOX_URL": armed.url, "BETCORE_SANDBOX_ADMIN_TOKEN": ""})
    assert without.returncode in (1, 2) and "requires its admin token" in without.stderr.decode(), without.stderr
    named = run_cli(*command, "--token-env", "MY_TOKEN", env={"BETCORE_SANDBOX_URL": armed.url, "MY_TOKEN": TOKEN})
    default = run_cli(*command, env={"BETCORE_SANDBOX_URL": armed.url, **ENV})
    assert "admin token" not in default.stderr.decode(), default.stderr
    assert (named.returncode, named.stdout[:12]) == (default.returncode, default.stdout[:12])
    assert "admin token" not in named.stderr.decode() and "unrecognized" not in named.stderr.decode(), named.stderr


def test_the_older_admin_token_flag_still_works_where_it_existed(armed):
    flagged = run_cli("clock", "--admin-token", TOKEN, env={"BETCORE_SANDBOX_URL": armed.url})
    assert flagged.returncode == 0, flagged.stderr
    assert "--admin-token" not in run_cli("faults", "list", "--help").stdout.decode()  # never on the new ones


# -- state ---------------------------------------------------------------------------------------------------------


def test_state_export_says_where_it_wrote_on_standard_error_only(armed, tmp_path):
    piped = cli(armed.url, "state", "export", "-")
    assert piped.returncode == 0
    assert piped.stderr == b""  # standard output is the state alone, and nothing is said
    saved = tmp_path / "state.json"
    written = cli(armed.url, "state", "export", str(saved))
    assert (written.returncode, written.stdout) == (0, b"")  # standard output stays free for a pipeline
    assert written.stderr.decode() == f"exported the state of {armed.url} to {saved}\n"
    assert json.loads(saved.read_bytes()) == json.loads(piped.stdout)


def test_a_pasted_url_with_no_usable_host_names_path_not_a_flag_never_typed():
    result = run_cli("sign", "GET", "http://127.0.0.1:99999/v1/sessions/s/balance")
    assert (result.returncode, result.stdout) == (2, b"")
    assert "betcore-sandbox: error: PATH's host must be the sandbox's URL" in result.stderr.decode()

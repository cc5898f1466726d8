import pytest

from betcore_sandbox.config import ConfigError, resolve, settings_from_env
from betcore_sandbox.settings import SettingError, Settings


def test_flags_beat_environment_beat_defaults():
    env = {"BETCORE_SANDBOX_PORT": "9000", "BETCORE_SANDBOX_HOST": "0.0.0.0", "BETCORE_SANDBOX_LOG_FORMAT": "json"}
    config = resolve({"port": "9100", "host": None}, env)
    assert (config.port, config.host, config.log_format, config.log_level) == (9100, "0.0.0.0", "json", "info")
    assert resolve({}, {}).port == 8080
    assert resolve({}, {}).loopback_only and not config.loopback_only


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"port": "http"}, "^--port: must be an integer, got 'http'$"),
        ({"port": "70000"}, "^--port: must be from 0 to 65535"),
        ({"log_format": "xml"}, "^--log-format: must be one of text, json, got 'xml'$"),
        ({"log_level": "loud"}, "^--log-level: must be one of"),
        ({"header_timeout": "soon"}, "^--header-timeout: must be a number of seconds"),
    ],
)
def test_bad_configuration_is_named(flags, message):
    with pytest.raises(ConfigError, match=message):
        resolve(flags, {})


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("port", "abc", "must be an integer, got 'abc'"),
        ("port", "-1", "must be from 0 to 65535, got -1"),
        ("log_format", "xml", "must be one of text, json, got 'xml'"),
        ("log_level", "LOUD", "must be one of debug, info, warning, error, got 'LOUD'"),
        ("header_timeout", "0", "must be more than 0 and at most 600 seconds, got 0"),
        ("fixtures_merge", "maybe", "must be true or false, got 'maybe'"),
    ],
)
def test_a_bad_environment_variable_is_named(option, value, message):
    name = f"BETCORE_SANDBOX_{option.upper()}"
    with pytest.raises(ConfigError) as caught:
        resolve({}, {name: value})
    assert str(caught.value) == f"{name}: {message}"


def test_the_server_process_names_the_bad_variable():
    from .process import run_cli

    result = run_cli(env={"BETCORE_SANDBOX_PORT": "abc"})
    err = result.stderr.decode().strip()
    assert result.returncode == 2, err
    assert err == "betcore-sandbox: error: BETCORE_SANDBOX_PORT: must be an integer, got 'abc'", err


def test_a_json_setting_with_a_key_given_twice_stops_start_up():
    with pytest.raises(
        ConfigError, match=r"^BETCORE_SANDBOX_DUPLICATE_RESPONSE: has the key 'pay-in' twice in one object$"
    ):
        settings_from_env({"BETCORE_SANDBOX_DUPLICATE_RESPONSE": '{"pay-in":"code","pay-in":"replay"}'})
    from .process import run_cli

    result = run_cli(env={"BETCORE_SANDBOX_DUPLICATE_RESPONSE": '{"refund":"code","refund":"replay"}'})
    err = result.stderr.decode().strip()
    assert result.returncode == 2 and "BETCORE_SANDBOX_DUPLICATE_RESPONSE: has the key 'refund' twice" in err, err


def test_settings_update_is_all_or_nothing():
    settings = Settings()
    with pytest.raises(SettingError, match="journalLimit: must be an integer from 1 to"):
        settings.update({"timestampToleranceMs": 5, "journalLimit": 0})
    assert settings.timestampToleranceMs == 300_000
    settings.update({"duplicateResponse": "replay", "explainSignatures": False})
    assert settings.as_dict()["duplicateResponse"] == dict.fromkeys(
        ("pay-in", "pay-in-out", "pay-out", "refund"), "replay"
    )
    assert settings.explainSignatures == "off"  # the first release's boolean still works
    with pytest.raises(SettingError, match="must be one of code, replay"):
        settings.update({"duplicateResponse": "echo"})


def test_runtime_settings_from_the_environment():
    env = {
        "BETCORE_SANDBOX_PAY_OUT_WITHOUT_BET": "reject",
        "BETCORE_SANDBOX_JOURNAL_LIMIT": "50",
        "BETCORE_SANDBOX_DUPLICATE_RESPONSE": '{"pay-in": "replay"}',
        "BETCORE_SANDBOX_ZERO_STAKE": "",
    }
    assert settings_from_env(env) == {
        "payOutWithoutBet": "reject",
        "journalLimit": 50,
        "duplicateResponse": {"pay-in": "replay"},  # as given: merged over the fixture's when the state is made
    }
    with pytest.raises(ConfigError, match="BETCORE_SANDBOX_AMOUNT_NOTATION: must be one of any, plain"):
        settings_from_env({"BETCORE_SANDBOX_AMOUNT_NOTATION": "sci"})


def test_environment_settings_reach_the_server_process():
    import json
    import urllib.request

    from .process import SandboxProcess

    sandbox = SandboxProcess(
        "--port",
        "0",
        env={"BETCORE_SANDBOX_PAY_OUT_WITHOUT_BET": "reject", "BETCORE_SANDBOX_EXPLAIN_SIGNATURES": "full"},
    )
    try:
        url = sandbox.wait_listening()
        settings = json.loads(urllib.request.urlopen(f"{url}/__admin/settings", timeout=5).read())
        assert (settings["payOutWithoutBet"], settings["explainSignatures"]) == ("reject", "full")
    finally:
        sandbox.stop()
    bad = SandboxProcess("--port", "0", env={"BETCORE_SANDBOX_ZERO_STAKE": "maybe"})
    assert bad.proc.wait(10) == 2
    bad.stop()
    assert any("BETCORE_SANDBOX_ZERO_STAKE" in line for line in bad.lines)


def test_an_environment_object_changes_only_the_endpoints_it_names_over_the_fixture():
    from betcore_sandbox import Sandbox

    fixture = {"counterparties": [{"id": "c", "secret": "s"}], "settings": {"duplicateResponse": {"refund": "code"}}}
    given = settings_from_env({"BETCORE_SANDBOX_DUPLICATE_RESPONSE": '{"pay-out": "code"}'})
    modes = Sandbox(fixture, **given).settings()["duplicateResponse"]
    assert modes == {"pay-in": "code", "pay-in-out": "code", "pay-out": "code", "refund": "code"}


def test_unknown_sandbox_variables_are_named():
    from betcore_sandbox.config import unknown_env_names

    env = {
        "BETCORE_SANDBOX_ZEROSTAKE": "reject",
        "BETCORE_SANDBOX_ZERO_STAKE": "reject",
        "BETCORE_SANDBOX_PORT": "1",
        "HOME": "/root",
    }
    assert unknown_env_names(env) == ["BETCORE_SANDBOX_ZEROSTAKE"]


def test_state_and_fixtures_merge_from_flags_or_environment():
    env = {"BETCORE_SANDBOX_STATE": "/data/sandbox.db", "BETCORE_SANDBOX_FIXTURES_MERGE": "TRUE"}
    config = resolve({"state": None, "fixtures_merge": None}, env)
    assert (config.state, config.fixtures_merge) == ("/data/sandbox.db", True)
    assert resolve({"state": "x.db", "fixtures_merge": True}, {}).fixtures_merge
    assert (resolve({}, {}).state, resolve({}, {}).fixtures_merge) == (None, False)
    assert not resolve({}, {"BETCORE_SANDBOX_FIXTURES_MERGE": "no"}).fixtures_merge
    with pytest.raises(ConfigError, match=r"^BETCORE_SANDBOX_FIXTURES_MERGE: must be true or false"):
        resolve({}, {"BETCORE_SANDBOX_FIXTURES_MERGE": "maybe"})


def test_an_environment_amount_is_read_exactly():
    from betcore_sandbox import Sandbox

    given = settings_from_env({"BETCORE_SANDBOX_DEMO_BALANCE": "12.50"})  # JSON, but never a float on the way
    assert Sandbox(**given).settings().demoBalance == "12.50"
    assert Sandbox(**settings_from_env({"BETCORE_SANDBOX_DEMO_BALANCE": "1e3"})).settings().demoBalance == "1000"


def test_an_environment_object_error_names_the_path_inside_it():
    with pytest.raises(
        ConfigError, match=r"^BETCORE_SANDBOX_DUPLICATE_RESPONSE \$\.pay-in: must be one of code, replay$"
    ):
        settings_from_env({"BETCORE_SANDBOX_DUPLICATE_RESPONSE": '{"pay-in": "bogus"}'})
    with pytest.raises(ConfigError, match=r"^BETCORE_SANDBOX_DUPLICATE_RESPONSE \$\.x: unknown endpoint"):
        settings_from_env({"BETCORE_SANDBOX_DUPLICATE_RESPONSE": '{"refund": "code", "x": "code"}'})


def test_an_environment_value_that_is_not_utf8_is_named():
    # os.environ holds a byte that is not UTF-8 as a lone surrogate: refused by name, not a traceback
    with pytest.raises(ConfigError, match=r"^BETCORE_SANDBOX_ZERO_STAKE: is not valid UTF-8$"):
        settings_from_env({"BETCORE_SANDBOX_ZERO_STAKE": "re\udcffject"})

"""Runtime settings read through one typed input (SettingsPatch) at every entry point: the admin API, a fixture's
`settings`, Sandbox keyword arguments, the pytest factory and the environment."""

import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.config import ConfigError, settings_from_env
from betcore_sandbox.errors import AdminInputError
from betcore_sandbox.fixtures import FixtureError, parse_fixture
from betcore_sandbox.inputs import SettingsPatch, json_schema, read

FIXTURE = {"counterparties": [{"id": "c", "secret": "s"}]}


@pytest.mark.parametrize(
    "change, error",
    [
        ({"journal_limit": 0}, "$.journal_limit: must be an integer from 1 to 1000000"),
        ({"journalLimit": 1.5}, "$.journalLimit: must be an integer, not a number"),
        ({"rejectReplayedRequestIds": "yes"}, "$.rejectReplayedRequestIds: must be true or false, not a string"),
        (
            {"explainSignatures": 3},
            "$.explainSignatures: must be one of full, hints, off, or true or false, not an integer",
        ),
        ({"duplicateResponse": "echo"}, "$.duplicateResponse: must be one of code, replay"),
        ({"duplicate_response": {"pay-in": "echo"}}, "$.duplicate_response.pay-in: must be one of code, replay"),
        (
            {"duplicateResponse": {"withdraw": "code"}},
            "$.duplicateResponse.withdraw: unknown endpoint (known: pay-in, pay-in-out, pay-out, refund)",
        ),
        ({"colour": "red"}, "$.colour: unknown setting (known: timestampToleranceMs, "),
    ],
)
async def test_the_admin_api_names_the_bad_setting_by_its_path_and_changes_nothing(admin, change, error):
    status, body = await admin.call("PATCH", "/settings", {"zeroStake": "reject", **change})
    assert status == 400 and body["error"].startswith(error), body
    status, settings = await admin.call("GET", "/settings")
    assert settings["zeroStake"] == "accept"


async def test_snake_case_names_and_the_first_release_switch_are_read(admin):
    status, settings = await admin.call(
        "PATCH", "/settings", {"journal_limit": 7, "explainSignatures": False, "duplicate_response": {"refund": "code"}}
    )
    assert status == 200
    assert (settings["journalLimit"], settings["explainSignatures"]) == (7, "off")
    assert settings["duplicateResponse"]["refund"] == "code" and settings["duplicateResponse"]["pay-out"] == "replay"


def test_a_fixture_names_the_bad_setting_under_settings():
    with pytest.raises(FixtureError, match=r"\$\.settings\.body_read_timeout_ms: must be an integer from 1 to 600000"):
        parse_fixture({**FIXTURE, "settings": {"body_read_timeout_ms": 0}})
    with pytest.raises(FixtureError, match=r": \$\.settings: must be an object, not an array$"):
        parse_fixture({**FIXTURE, "settings": ["zeroStake"]})


def test_keyword_settings_of_the_python_api_and_the_factory_are_checked(betcore_sandbox_factory):
    with pytest.raises(ValueError, match=r"^\$\.journal_limit: must be an integer from 1 to 1000000$"):
        Sandbox(FIXTURE, journal_limit=0)
    with pytest.raises(ValueError, match=r"^\$\.zeroStake: must be one of accept, reject$"):
        betcore_sandbox_factory(FIXTURE, zeroStake="maybe")
    sandbox = betcore_sandbox_factory(FIXTURE, zero_stake="reject", journal_limit=5)
    assert (sandbox.settings()["zeroStake"], sandbox.settings()["journalLimit"]) == ("reject", 5)
    with pytest.raises(AdminInputError, match=r"^\$\.pay_out_without_bet: must be one of accept, reject$"):
        sandbox.settings(pay_out_without_bet="sometimes")
    assert sandbox.settings()["payOutWithoutBet"] == "accept"


def test_the_environment_names_the_variable_and_the_problem():
    with pytest.raises(ConfigError, match=r"^BETCORE_SANDBOX_JOURNAL_MAX_BYTES: must be an integer from 1048576 to "):
        settings_from_env({"BETCORE_SANDBOX_JOURNAL_MAX_BYTES": "1024"})


def test_the_settings_type_gives_a_json_schema_that_the_current_settings_fit():
    schema = json_schema(SettingsPatch)
    patch = schema["$defs"]["SettingsPatch"]
    with Sandbox(FIXTURE) as sandbox:
        current = dict(sandbox.settings())
    assert set(patch["properties"]) == set(current)
    assert patch["additionalProperties"] is False and patch["required"] == []
    assert patch["properties"]["journalLimit"] == {"type": "integer", "minimum": 1, "maximum": 1_000_000}
    modes = schema["$defs"]["DuplicateModes"]
    assert set(modes["properties"]) == {"pay-in", "pay-in-out", "pay-out", "refund"}
    # What GET /__admin/settings shows can be PATCHed back as it is: the type and the output agree.
    assert read(current, SettingsPatch).journal_limit == current["journalLimit"]

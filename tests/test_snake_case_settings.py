"""Settings in snake_case or camelCase at every entry point: Sandbox(...), Sandbox.settings(...), the plugin's
factory and marker, and the admin API; as keywords or as a `settings=` dict; duplicateResponse endpoints too."""

import json
import urllib.request

import pytest

from betcore_sandbox import Sandbox
from betcore_sandbox.errors import AdminInputError
from betcore_sandbox.settings import SettingError

SNAKE = {
    "zero_stake": "reject",
    "pay_out_without_bet": "reject",
    "duplicate_response": {"pay_in": "replay", "pay_in_out": "replay"},
    "timestamp_tolerance_ms": 1000,
}
EXPECTED = {
    "zeroStake": "reject",
    "payOutWithoutBet": "reject",
    "duplicateResponse": {"pay-in": "replay", "pay-in-out": "replay", "pay-out": "replay", "refund": "replay"},
    "timestampToleranceMs": 1000,
}


def chosen(settings) -> dict:
    return {name: settings[name] for name in EXPECTED}


@pytest.mark.parametrize(
    "how",
    [
        {"settings": SNAKE},
        SNAKE,
        {
            "settings": {"zero_stake": "reject", "duplicateResponse": {"pay_in": "replay", "pay-in-out": "replay"}},
            "payOutWithoutBet": "reject",
            "timestamp_tolerance_ms": 1000,
        },
    ],
    ids=["settings-dict", "keywords", "mixed"],
)
def test_sandbox_takes_snake_case_as_a_dict_or_as_keywords(how):
    with Sandbox(**how) as sandbox:
        assert chosen(sandbox.settings()) == EXPECTED
        sandbox.settings(zero_stake="accept")
        sandbox.reset()  # back to the start-up settings, which were the snake_case ones
        assert chosen(sandbox.settings()) == EXPECTED


def test_a_setting_given_twice_is_refused_not_chosen():
    with pytest.raises(SettingError, match=r"\$\.zeroStake: zeroStake is given twice"):
        Sandbox(settings={"zero_stake": "reject"}, zeroStake="accept")
    with pytest.raises(SettingError, match="pay-in is given twice"):
        Sandbox(duplicate_response={"pay_in": "code", "pay-in": "replay"})
    with pytest.raises(SettingError, match="settings must be a dict"):
        Sandbox(settings=["zero_stake"])


def test_update_settings_takes_a_dict_and_keywords_all_or_nothing():
    with Sandbox() as sandbox:
        after = sandbox.settings(
            {"zero_stake": "reject", "duplicate_response": {"refund": "code"}}, amount_notation="plain"
        )
        assert (after["zeroStake"], after["amountNotation"], after["duplicateResponse"]["refund"]) == (
            "reject",
            "plain",
            "code",
        )
        with pytest.raises(AdminInputError, match="journal_limit"):
            sandbox.settings({"zero_stake": "accept"}, journal_limit="many")
        assert sandbox.settings()["zeroStake"] == "reject"  # the bad call changed nothing
        with pytest.raises(AdminInputError, match="given twice"):
            sandbox.settings({"journal_limit": 5}, journalLimit=6)


def test_admin_api_takes_snake_case_endpoints_in_duplicate_response():
    with Sandbox() as sandbox:
        body = json.dumps({"duplicate_response": {"pay_out": "code"}, "zero_stake": "reject"}).encode()
        request = urllib.request.Request(
            f"{sandbox.admin_url}/settings", data=body, method="PATCH", headers={"Content-Type": "application/json"}
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=5).read())
        assert answer["duplicateResponse"]["pay-out"] == "code" and answer["zeroStake"] == "reject"


PLUGIN_SUITE = f"""
import pytest

SNAKE = {SNAKE!r}
EXPECTED = {EXPECTED!r}


def chosen(sandbox):
    settings = sandbox.settings()
    return {{name: settings[name] for name in EXPECTED}}


def test_factory_with_a_settings_dict(betcore_sandbox_factory):
    assert chosen(betcore_sandbox_factory(settings=SNAKE)) == EXPECTED


def test_factory_with_keywords(betcore_sandbox_factory):
    assert chosen(betcore_sandbox_factory(**SNAKE)) == EXPECTED


@pytest.mark.betcore_sandbox(settings=SNAKE)
def test_marker_with_a_settings_dict(betcore_sandbox):
    assert chosen(betcore_sandbox) == EXPECTED


@pytest.mark.betcore_sandbox(**SNAKE)
def test_marker_with_keywords(betcore_sandbox):
    assert chosen(betcore_sandbox) == EXPECTED


@pytest.mark.betcore_sandbox(settings={{"zero_stake": "sometimes"}})
def test_marker_with_a_bad_setting(betcore_sandbox):
    pass
"""


def test_plugin_factory_and_marker_take_snake_case(pytester):
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        "addopts = --strict-markers -p no:cacheprovider\nfilterwarnings = error\n"
    )
    pytester.makepyfile(test_settings=PLUGIN_SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*SettingError: $.zero_stake: must be one of*"])

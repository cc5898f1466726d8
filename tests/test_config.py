import pytest

from betcore_sandbox.config import ConfigError, resolve
from betcore_sandbox.settings import Settings, SettingError


def test_flags_beat_environment_beat_defaults():
    env = {"BETCORE_SANDBOX_PORT": "9000", "BETCORE_SANDBOX_HOST": "0.0.0.0", "BETCORE_SANDBOX_LOG_FORMAT": "json"}
    config = resolve({"port": "9100", "host": None}, env)
    assert (config.port, config.host, config.log_format, config.log_level) == (9100, "0.0.0.0", "json", "info")
    assert resolve({}, {}).port == 8080
    assert resolve({}, {}).loopback_only and not config.loopback_only


@pytest.mark.parametrize(
    "flags, message",
    [({"port": "http"}, "port must be an integer"), ({"port": "70000"}, "from 0 to 65535"),
     ({"log_format": "xml"}, "log format"), ({"log_level": "loud"}, "log level")],
)
def test_bad_configuration_is_named(flags, message):
    with pytest.raises(ConfigError, match=message):
        resolve(flags, {})


def test_settings_update_is_all_or_nothing():
    settings = Settings()
    with pytest.raises(SettingError, match="journalLimit: must be at least 1"):
        settings.update({"timestampToleranceMs": 5, "journalLimit": 0})
    assert settings.timestampToleranceMs == 300_000
    settings.update({"duplicateResponse": "replay", "explainSignatures": False})
    assert settings.as_dict()["duplicateResponse"] == "replay"
    with pytest.raises(SettingError, match="must be one of code, replay"):
        settings.update({"duplicateResponse": "echo"})

"""Server configuration: each option from its flag, else its BETCORE_SANDBOX_* variable, else the default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import jsontext
from . import settings as runtime_settings
from .limits import DEFAULT_HEADER_TIMEOUT
from .logs import FORMATS, LEVELS

ENV_PREFIX = "BETCORE_SANDBOX_"
DEFAULT_PORT = 8080
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


SERVER_OPTIONS = (
    "host",
    "port",
    "fixtures",
    "fixtures_merge",
    "state",
    "admin_token",
    "log_format",
    "log_level",
    "header_timeout",
)
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    fixtures: str | None = None
    fixtures_merge: bool = False  # with an existing state database: add the fixture's new players and sessions
    state: str | None = None  # the SQLite database of durable mode
    admin_token: str | None = None
    log_format: str = "text"
    log_level: str = "info"
    header_timeout: float = DEFAULT_HEADER_TIMEOUT  # seconds for a request head to arrive

    @property
    def loopback_only(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")


# Read by the commands that talk to a running sandbox (see remote.py), not by the server: not a typo either.
CLIENT_OPTIONS = ("url",)


def env_name(option: str) -> str:
    return ENV_PREFIX + option.upper()


def flag_name(option: str) -> str:
    return "--" + option.replace("_", "-")


def resolve(flags: Mapping[str, object], env: Mapping[str, str]) -> ServerConfig:
    """flags holds None for an option not given on the command line. A bad value is a ConfigError whose message
    starts with where it came from: the flag (--port) or the variable (BETCORE_SANDBOX_PORT)."""

    def pick(option: str) -> tuple[str | None, str]:
        """(the value as text, where it came from); (None, ...) when neither gives one."""
        value = flags.get(option)
        if value is not None:
            return str(value), flag_name(option)
        return env.get(env_name(option)) or None, env_name(option)

    defaults = ServerConfig()
    port_text, source = pick("port")
    try:
        port = int(port_text) if port_text is not None else defaults.port
    except ValueError:
        raise ConfigError(f"{source}: must be an integer, got {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{source}: must be from 0 to 65535, got {port}")
    given, source = pick("log_format")
    log_format = (given or defaults.log_format).lower()
    if log_format not in FORMATS:
        raise ConfigError(f"{source}: must be one of {', '.join(FORMATS)}, got {given!r}")
    given, source = pick("log_level")
    log_level = (given or defaults.log_level).lower()
    if log_level not in LEVELS:
        raise ConfigError(f"{source}: must be one of {', '.join(LEVELS)}, got {given!r}")
    timeout_text, source = pick("header_timeout")
    try:
        header_timeout = float(timeout_text) if timeout_text is not None else defaults.header_timeout
    except ValueError:
        raise ConfigError(f"{source}: must be a number of seconds, got {timeout_text!r}") from None
    if not 0 < header_timeout <= 600:
        raise ConfigError(f"{source}: must be more than 0 and at most 600 seconds, got {timeout_text}")
    given, source = pick("fixtures_merge")
    merge_text = (given or "").lower()
    if merge_text not in TRUE_WORDS + FALSE_WORDS:
        raise ConfigError(f"{source}: must be true or false, got {given!r}")
    return ServerConfig(
        header_timeout=header_timeout,
        fixtures_merge=merge_text in TRUE_WORDS,
        state=pick("state")[0],
        host=pick("host")[0] or defaults.host,
        port=port,
        fixtures=pick("fixtures")[0],
        admin_token=pick("admin_token")[0],
        log_format=log_format,
        log_level=log_level,
    )


def setting_env_name(setting: str) -> str:
    """BETCORE_SANDBOX_PAY_OUT_WITHOUT_BET for payOutWithoutBet."""
    snake = "".join(f"_{c}" if c.isupper() else c for c in setting)
    return ENV_PREFIX + snake.upper()


def settings_from_env(env: Mapping[str, str]) -> dict[str, object]:
    """Runtime settings given in the environment: a value is read as JSON when it is JSON (numbers, true,
    objects), else as text (replay, accept). They beat the fixture's settings."""
    found: dict[str, object] = {}
    for name in runtime_settings.NAMES:
        text = env.get(setting_env_name(name))
        if text is None or text == "":
            continue
        raw = text.encode("utf-8", "surrogateescape")  # the bytes as set: a byte that is not UTF-8 comes back
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise ConfigError(f"{setting_env_name(name)}: is not valid UTF-8") from None
        try:
            value: object = jsontext.decode(raw)  # numbers exact: 12.50 stays 12.50
        except jsontext.JsonError:
            value = text
        else:
            try:  # JSON, so as strict as any JSON input: which of two values was meant is anyone's guess
                jsontext.refuse_duplicate_keys(raw, value)
            except jsontext.JsonError as exc:
                where = f" {exc.path}" if exc.path != "$" else ""
                raise ConfigError(f"{setting_env_name(name)}{where}: {exc.problem}") from None
        try:
            runtime_settings.validate({name: value})
        except runtime_settings.SettingError as exc:
            inside = exc.path.removeprefix(f"$.{name}")  # where in the variable's JSON object, if that is where
            where = f" ${inside}" if inside else ""
            raise ConfigError(f"{setting_env_name(name)}{where}: {exc.message}") from None
        found[name] = value  # as given: a partial duplicateResponse object is merged over the fixture's
    return found


def unknown_env_names(env: Mapping[str, str]) -> list[str]:
    """BETCORE_SANDBOX_* variables that are neither a server option nor a runtime setting (a typo, most likely)."""
    known = {env_name(option) for option in (*SERVER_OPTIONS, *CLIENT_OPTIONS)}
    known |= {setting_env_name(n) for n in runtime_settings.NAMES}
    return sorted(name for name in env if name.startswith(ENV_PREFIX) and name not in known)

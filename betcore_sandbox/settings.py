"""Runtime settings: what the admin API, fixtures, the plugin marker and the environment may change.

Rules whose real behaviour at the aggregator is unknown are settings whose defaults accept what real clients
send; a request let through by such a lenient default carries a journal warning naming the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import msgspec

from .inputs import DuplicateModes, InputError, SettingsPatch, read, snake_name, unknown_name

BET_ENDPOINTS = ("pay-in", "pay-in-out", "pay-out", "refund")
DEFAULT_DUPLICATE_RESPONSE = {"pay-in": "code", "pay-in-out": "code", "pay-out": "replay", "refund": "replay"}
# The Games and Launch fields a field-name setting sits next to: naming one would overwrite or stand in for it.
TAKEN_FIELD_NAMES = {
    "playerIdField": ("sessionId", "currency", "language", "minBet", "maxBet", "gameMode"),
    "gameNameField": ("gameId", "gameCategory", "maxOdd", "lobbyImgUrl"),
}
MONEY_SETTINGS = ("demoBalance",)  # amounts: exact, never a binary float


@dataclass(slots=True)
class Settings:
    timestampToleranceMs: int = 300_000
    rejectReplayedRequestIds: bool = True
    duplicateResponse: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_DUPLICATE_RESPONSE))
    explainSignatures: str = "hints"
    journalLimit: int = 10_000
    journalMaxBytes: int = 64 * 1024 * 1024
    bodyReadTimeoutMs: int = 10_000
    amountNotation: str = "any"
    zeroStake: str = "accept"
    payOutWithoutBet: str = "accept"
    payOutAfterPayInOut: str = "additional"
    additionalPayOuts: str = "conflict"
    partnerTimeoutMs: int = 5_000  # how long a Games or Launch call to the provider may take
    playerIdField: str = "playerId"  # the Launch request's player id field
    gameNameField: str = "gameName"  # the Games answer's display name field
    demoBalance: str = "1000.00"  # the balance of the player a demo launch creates

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Validate every change first, then apply them all: a bad value changes nothing. A duplicateResponse
        object changes only the endpoints it names."""
        checked = validate(changes, base=self.duplicateResponse)
        for name, value in checked.items():
            setattr(self, name, value)

    def replace_with(self, other: Settings) -> None:
        for f in fields(self):
            value = getattr(other, f.name)
            setattr(self, f.name, dict(value) if isinstance(value, dict) else value)

    def duplicate_mode(self, endpoint: str) -> str:
        return self.duplicateResponse[endpoint]

    def copy(self) -> Settings:
        twin = Settings()
        twin.replace_with(self)
        return twin

    def __getitem__(self, name: str) -> Any:
        """A setting by its name (camelCase or snake_case), as the admin API's JSON has it."""
        name = canonical_name(name)
        if name not in NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def keys(self) -> tuple[str, ...]:
        return NAMES

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default


NAMES = tuple(f.name for f in fields(Settings))
_SNAKE = {"".join(("_" + c.lower()) if c.isupper() else c for c in name): name for name in NAMES}


# (attribute of SettingsPatch, setting name) for every setting.
_PATCH_FIELDS = tuple((f.name, f.encode_name) for f in msgspec.structs.fields(SettingsPatch))
_ENDPOINT_FIELDS = tuple((f.name, f.encode_name) for f in msgspec.structs.fields(DuplicateModes))


class SettingError(InputError):
    """A setting that does not fit: `path` names it as given ($.settings.journal_limit), `message` says why."""


def canonical_name(name: str) -> str:
    """The camelCase name of a setting given in camelCase or snake_case (journal_limit)."""
    return _SNAKE.get(name, name)


def validate(
    changes: Mapping[str, Any], where: str = "$", *, base: Mapping[str, str] = DEFAULT_DUPLICATE_RESPONSE
) -> dict[str, Any]:
    """Checked copies of the given settings, by camelCase name; SettingError names the first bad one.

    changes: setting name (camelCase or snake_case) -> value, as JSON has it. where: the JSON path of `changes`
    in its document, for the error. base: what a duplicateResponse object that names only some endpoints keeps for
    the others."""
    if not isinstance(changes, Mapping):
        raise SettingError(where, "must be an object")
    named: dict[str, Any] = {}
    given_as: dict[str, str] = {}  # camelCase name -> the name as given, for errors
    for given, value in changes.items():
        if not isinstance(given, str):
            raise SettingError(where, f"a setting's name must be a string, not {given!r}")
        name = canonical_name(given)
        if name not in NAMES:
            raise SettingError(f"{where}.{given}", _unknown_setting(given, changes))
        if name in named:
            raise SettingError(f"{where}.{given}", f"{name} is given twice (camelCase and snake_case)")
        if name == "duplicateResponse" and isinstance(value, Mapping):
            value = _endpoint_names(value, f"{where}.{given}")
        named[name] = value
        given_as[name] = given
    try:
        patch: SettingsPatch = read(named, SettingsPatch, path=where)
    except InputError as exc:
        raise _in_given_words(exc, where, given_as) from None
    checked: dict[str, Any] = {}
    for attribute, name in _PATCH_FIELDS:
        value = getattr(patch, attribute)
        if value is msgspec.UNSET:
            continue
        if name == "explainSignatures" and isinstance(value, bool):
            value = "hints" if value else "off"
        elif name == "duplicateResponse":
            value = _duplicate_modes(value, base)
        elif name == "demoBalance":
            value = format(value, "f")
        elif name in TAKEN_FIELD_NAMES and value in TAKEN_FIELD_NAMES[name]:
            raise SettingError(
                f"{where}.{given_as[name]}",
                f"{value} is already a field of its own: {', '.join(TAKEN_FIELD_NAMES[name])}",
            )
        checked[name] = value
    return checked


def _unknown_setting(given: str, changes: Mapping[str, Any]) -> str:
    """The message for a name no setting has, listing the names in the caller's spelling: snake_case when the name
    (or, for a single word, another name given with it) is written so."""
    snake = "_" in given or (given.islower() and any(isinstance(n, str) and "_" in n for n in changes))
    return unknown_name("setting", given, [snake_name(name) for name in NAMES] if snake else list(NAMES))


def _endpoint_names(modes: Mapping[Any, Any], where: str) -> dict[Any, Any]:
    """duplicateResponse with its endpoints also accepted in snake_case (pay_in_out), as Python keywords write them."""
    named: dict[Any, Any] = {}
    for given, mode in modes.items():
        endpoint = given.replace("_", "-") if isinstance(given, str) else given
        endpoint = endpoint if endpoint in BET_ENDPOINTS else given
        if endpoint in named:
            raise SettingError(f"{where}.{given}", f"{endpoint} is given twice")
        named[endpoint] = mode
    return named


def _duplicate_modes(value: str | DuplicateModes, base: Mapping[str, str]) -> dict[str, str]:
    """The cross-field rule: one mode for every endpoint, or an object whose endpoints merge over `base`."""
    if isinstance(value, str):
        return dict.fromkeys(BET_ENDPOINTS, value)
    modes = dict(base)
    for attribute, endpoint in _ENDPOINT_FIELDS:
        mode = getattr(value, attribute)
        if mode is not msgspec.UNSET:
            modes[endpoint] = mode
    return modes


def _in_given_words(error: InputError, where: str, given_as: Mapping[str, str]) -> SettingError:
    """The error with the setting named as the caller wrote it, and an unknown name called a setting."""
    path, message = error.path, error.message
    name, _, rest = path[len(where) + 1 :].partition(".")
    if name in given_as and path.startswith(where + "."):
        path = f"{where}.{given_as[name]}" + (f".{rest}" if rest else "")
    if message.startswith("unknown field"):
        message = message.replace("unknown field", "unknown endpoint" if rest else "unknown setting", 1)
    return SettingError(path, message)

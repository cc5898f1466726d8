"""Runtime settings: what the admin API, fixtures, the plugin marker and the environment may change.

Rules whose real behaviour at the aggregator is unknown are settings whose defaults accept what real clients
send; a request let through by such a lenient default carries a journal warning naming the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .money import AmountError, parse_amount

BET_ENDPOINTS = ("pay-in", "pay-in-out", "pay-out", "refund")
DUPLICATE_RESPONSES = ("code", "replay")
DEFAULT_DUPLICATE_RESPONSE = {"pay-in": "code", "pay-in-out": "code", "pay-out": "replay", "refund": "replay"}
EXPLAIN_MODES = ("hints", "full", "off")
MAX_JOURNAL_LIMIT = 1_000_000
MAX_TOLERANCE_MS = 7 * 24 * 3600 * 1000
MAX_JOURNAL_BYTES = 4 * 1024**3
MAX_READ_TIMEOUT_MS = 600_000

# setting -> its allowed values, the lenient ones after the strict one.
CHOICES: dict[str, tuple[str, ...]] = {
    "amountNotation": ("plain", "any"),
    "zeroStake": ("reject", "accept"),
    "payOutWithoutBet": ("reject", "accept"),
    "payOutAfterPayInOut": ("conflict", "additional"),
    "additionalPayOuts": ("conflict", "additional"),
}
# (minimum, maximum) of each integer setting.
RANGES: dict[str, tuple[int, int]] = {
    "timestampToleranceMs": (0, MAX_TOLERANCE_MS),
    "journalLimit": (1, MAX_JOURNAL_LIMIT),
    "journalMaxBytes": (1024 * 1024, MAX_JOURNAL_BYTES),  # at least room for a few whole 64 KiB requests
    "bodyReadTimeoutMs": (1, MAX_READ_TIMEOUT_MS),
    "partnerTimeoutMs": (1, MAX_READ_TIMEOUT_MS),
}
# Settings naming a JSON field of the provider's Games and Launch (spellings the public docs do not show).
FIELD_NAME_SETTINGS = ("playerIdField", "gameNameField")
# The fields each of those sits next to: a setting naming one would overwrite or stand in for it.
TAKEN_FIELD_NAMES = {
    "playerIdField": ("sessionId", "currency", "language", "minBet", "maxBet", "gameMode"),
    "gameNameField": ("gameId", "gameCategory", "maxOdd", "lobbyImgUrl"),
}
MAX_FIELD_NAME = 64


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


class SettingError(ValueError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


def canonical_name(name: str) -> str:
    """The camelCase name of a setting given in camelCase or snake_case (journal_limit)."""
    return _SNAKE.get(name, name)


def validate(
    changes: Mapping[str, Any], where: str = "", *, base: Mapping[str, str] = DEFAULT_DUPLICATE_RESPONSE
) -> dict[str, Any]:
    """Checked copies of the given settings; SettingError names the first bad one. `base`: what a
    duplicateResponse object that names only some endpoints keeps for the others."""
    if not isinstance(changes, Mapping):
        raise SettingError(where or "settings", "must be an object")
    checked: dict[str, Any] = {}
    for given, value in changes.items():
        name = canonical_name(given) if isinstance(given, str) else given
        label = f"{where}.{given}" if where else str(given)
        if name not in NAMES:
            raise SettingError(label, f"unknown setting (known: {', '.join(NAMES)})")
        if name in checked:
            raise SettingError(label, f"{name} is given twice (camelCase and snake_case)")
        checked[name] = (
            _duplicate_response(value, label, base) if name == "duplicateResponse" else _check(name, value, label)
        )
    return checked


def _check(name: str, value: Any, label: str) -> Any:
    if name in RANGES:
        low, high = RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingError(label, f"must be an integer from {low} to {high}")
        return value
    if name == "rejectReplayedRequestIds":
        if not isinstance(value, bool):
            raise SettingError(label, "must be true or false")
        return value
    if name in FIELD_NAME_SETTINGS:
        if not isinstance(value, str) or not value or len(value) > MAX_FIELD_NAME or not value.isprintable():
            raise SettingError(label, f"must be a JSON field name of 1 to {MAX_FIELD_NAME} printable characters")
        if value in TAKEN_FIELD_NAMES[name]:
            raise SettingError(label, f"{value} is already a field of its own: {', '.join(TAKEN_FIELD_NAMES[name])}")
        return value
    if name == "demoBalance":
        try:
            return format(parse_amount(value), "f")
        except AmountError as exc:
            raise SettingError(label, f"must be an amount: {exc}") from None
    if name == "explainSignatures":
        if isinstance(value, bool):  # the first release's switch: true showed the diagnostics
            return "hints" if value else "off"
        if value not in EXPLAIN_MODES:
            raise SettingError(label, f"must be one of {', '.join(EXPLAIN_MODES)}")
        return value
    choices = CHOICES[name]
    if value not in choices:
        raise SettingError(label, f"must be one of {', '.join(choices)}")
    return value


def _duplicate_response(value: Any, label: str, base: Mapping[str, str]) -> dict[str, str]:
    """One mode for every endpoint, or an object per endpoint (endpoints left out keep what `base` has)."""
    if isinstance(value, str):
        if value not in DUPLICATE_RESPONSES:
            raise SettingError(label, f"must be one of {', '.join(DUPLICATE_RESPONSES)}, or an object per endpoint")
        return dict.fromkeys(BET_ENDPOINTS, value)
    if not isinstance(value, Mapping):
        raise SettingError(label, f"must be one of {', '.join(DUPLICATE_RESPONSES)}, or an object per endpoint")
    modes = dict(base)
    for endpoint, mode in value.items():
        if endpoint not in BET_ENDPOINTS:
            raise SettingError(f"{label}.{endpoint}", f"unknown endpoint (known: {', '.join(BET_ENDPOINTS)})")
        if mode not in DUPLICATE_RESPONSES:
            raise SettingError(f"{label}.{endpoint}", f"must be one of {', '.join(DUPLICATE_RESPONSES)}")
        modes[endpoint] = mode
    return modes

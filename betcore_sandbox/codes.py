"""The response-code table: fixed names, HTTP statuses, and numbers a fixture may override."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# name -> (default _responseCode, HTTP status)
TABLE: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "ok": (1, 200),
        "invalid_request": (2, 400),
        "session_not_found": (3, 200),
        "insufficient_funds": (4, 200),
        "bet_not_found": (5, 200),
        "bet_conflict": (6, 200),
        "limit_exceeded": (7, 200),
        "unauthorized": (8, 401),
        "internal_error": (99, 500),
        "already_processed": (104, 200),
    }
)

NAMES = tuple(TABLE)


class ResponseCodes:
    """The numbers in force; reset in place when fixtures are reloaded."""

    __slots__ = ("_numbers",)

    def __init__(self, overrides: Mapping[str, int] | None = None) -> None:
        self._numbers: dict[str, int] = {}
        self.reset(overrides)

    def reset(self, overrides: Mapping[str, int] | None = None) -> None:
        numbers = {name: code for name, (code, _) in TABLE.items()}
        for name, code in (overrides or {}).items():
            if name not in TABLE:
                raise KeyError(name)
            numbers[name] = code
        self._numbers = numbers

    def code(self, name: str) -> int:
        return self._numbers[name]

    @staticmethod
    def http_status(name: str) -> int:
        return TABLE[name][1]

    def overrides(self) -> dict[str, int]:
        return {name: code for name, code in self._numbers.items() if code != TABLE[name][0]}

    def as_dict(self) -> dict[str, int]:
        return dict(self._numbers)

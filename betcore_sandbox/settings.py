"""Runtime settings: what the admin API and fixtures may change while the sandbox runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

DUPLICATE_RESPONSES = ("code", "replay")


@dataclass(slots=True)
class Settings:
    timestampToleranceMs: int = 300_000
    rejectReplayedRequestIds: bool = True
    duplicateResponse: str = "code"
    explainSignatures: bool = True
    journalLimit: int = 10_000

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Validate every change first, then apply them all: a bad value changes nothing."""
        checked = validate(changes)
        for name, value in checked.items():
            setattr(self, name, value)

    def replace_with(self, other: Settings) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))


NAMES = tuple(f.name for f in fields(Settings))


class SettingError(ValueError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


def validate(changes: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Checked copies of the given settings; SettingError names the first bad one."""
    if not isinstance(changes, Mapping):
        raise SettingError(where or "settings", "must be an object")
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        label = f"{where}.{name}" if where else name
        if name not in NAMES:
            raise SettingError(label, f"unknown setting (known: {', '.join(NAMES)})")
        if name in ("timestampToleranceMs", "journalLimit"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SettingError(label, "must be a non-negative integer")
            if name == "journalLimit" and value == 0:
                raise SettingError(label, "must be at least 1")
        elif name in ("rejectReplayedRequestIds", "explainSignatures"):
            if not isinstance(value, bool):
                raise SettingError(label, "must be true or false")
        elif name == "duplicateResponse":
            if value not in DUPLICATE_RESPONSES:
                raise SettingError(label, f"must be one of {', '.join(DUPLICATE_RESPONSES)}")
        checked[name] = value
    return checked

"""Durations as people type them on the command line (30m, 1h30m, 2d, 500ms) and as the commands print them.

Shared by `clock --advance` and `faults add --delay`: one parser, one set of units.
"""

from __future__ import annotations

import argparse
import re

__all__ = ["duration_ms", "duration_text"]

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION_PART = re.compile(r"([0-9]{1,15})(ms|s|m|h|d)")


def duration_ms(text: str) -> int:
    """`text` as milliseconds: a plain number is ms; otherwise number+unit parts (ms, s, m, h, d), e.g. 1h30m.

    An argparse type: argparse.ArgumentTypeError says what is wrong with `text`."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 15:
        return int(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: give ms, or a number with a unit ms, s, m, h or d (30m, 1h30m, 2d)"
        )
    return sum(int(number) * _UNITS_MS[unit] for number, unit in parts)


def duration_text(ms: int) -> str:
    """`ms` milliseconds (not negative) as 1d2h30m, 45s, 250ms: the largest units first, zero parts left out."""
    if ms == 0:
        return "0ms"
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        count, ms = divmod(ms, _UNITS_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)

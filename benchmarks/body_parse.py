"""Isolated cost of reading a provider body: raw bytes to a validated command, in µs per body.

Next to it, in the same run, the floor: decoding the same bytes into a dict with the sandbox's JSON decoder and
nothing else. Best of several repeats, so a busy machine inflates both alike.

    python -m benchmarks.body_parse [--number 20000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import timeit

from betcore_sandbox import jsontext
from betcore_sandbox.bodies import parse_bet_request
from betcore_sandbox.settings import Settings

BODIES = {
    "pay-in, as the load benchmark sends it": (
        "pay-in",
        b'{"betId":"bench-1234","betAmount":"0.01","gameRoundId":"round-1234"}',
    ),
    "pay-in, number amount and sessionId": (
        "pay-in",
        b'{"betId":"b-8f3a","betAmount":1.25,"gameRoundId":"r-8f3a","sessionId":"s"}',
    ),
    "pay-out with winOdd": ("pay-out", b'{"betId":4178696881,"winAmount":55.25,"winOdd":11.05,"gameRoundId":"r"}'),
    "pay-in-out": ("pay-in-out", b'{"betId":"b","betAmount":"2.00","winAmount":"3.50","winOdd":1.75}'),
    "refund": ("refund", b'{"betId":"b-8f3a","gameRoundId":"r-8f3a"}'),
    "pay-in with an unknown field": (
        "pay-in",
        b'{"betId":"bench-1234","betAmount":"0.01","gameRoundId":"round-1234","currency":"EUR"}',
    ),
    "pay-in, colon inside a string": ("pay-in", b'{"betId":"b:1","betAmount":"0.01","gameRoundId":"r:1"}'),
    "pay-in, nested unknown object": (
        "pay-in",
        b'{"betId":"b","betAmount":"0.01","meta":{"a":1,"b":[{"c":2}]}}',
    ),
}


def per_body_us(fn: object, number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    settings = Settings()
    print("| body | parse_bet_request | JSON decode only |")
    print("|---|---|---|")
    for name, (endpoint, raw) in BODIES.items():
        parse = per_body_us(lambda: parse_bet_request(endpoint, raw, "s", settings), args.number, args.repeat)  # noqa: B023
        decode = per_body_us(lambda: jsontext.decode(raw), args.number, args.repeat)  # noqa: B023
        print(f"| {name} | {parse:.2f} µs | {decode:.2f} µs |")


if __name__ == "__main__":
    main()

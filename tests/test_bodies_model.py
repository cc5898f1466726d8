"""The provider body parser against a plain model of the contract, on generated bodies.

The model reads each body the slow, obvious way: the whole text with the sandbox's JSON decoder, every object
checked for a key given twice by the standard parser, then each field by the contract's rules, collecting every
problem. The parser must accept exactly what the model accepts, give the same command, unknown fields and
warnings, and when it refuses, name one of the problems the model found."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betcore_sandbox import jsontext
from betcore_sandbox.bodies import parse_bet_request
from betcore_sandbox.commands import PayIn, PayInOut, PayOut, Refund
from betcore_sandbox.errors import InvalidRequest
from betcore_sandbox.money import AmountError, parse_amount, uses_exponent
from betcore_sandbox.settings import Settings

KNOWN = {
    "pay-in": ("betId", "betAmount", "gameRoundId", "sessionId"),
    "pay-out": ("betId", "winAmount", "gameRoundId", "sessionId", "winOdd"),
    "pay-in-out": ("betId", "betAmount", "winAmount", "gameRoundId", "sessionId", "winOdd"),
    "refund": ("betId", "gameRoundId", "sessionId"),
}
KEYS = ["betId", "betAmount", "winAmount", "winOdd", "gameRoundId", "sessionId", "extra", "a:b", 'q"', "", "BAD"]
BAD = "\x01BAD"  # stands for a byte that is not UTF-8 (0xff) inside a string, written in after encoding


class _Twice(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise _Twice
    return dict(pairs)


def model(endpoint: str, raw: bytes, session: str, config: Settings) -> tuple[Any, ...]:
    """("ok", command, unknown fields, warnings) or ("refused", the first words of every problem)."""
    try:
        data = jsontext.decode(raw)
    except jsontext.JsonError:
        return ("refused", {"body"})
    if not isinstance(data, dict):
        return ("refused", {"body"})
    try:
        json.loads(raw, object_pairs_hook=_pairs)
    except _Twice:
        return ("refused", {"body"})
    problems: set[str] = set()
    warnings: list[str] = []

    def ident(name: str, required: bool = False) -> str | None:
        value = data.get(name)
        if value is None:
            if required:
                problems.add(name)
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            problems.add(name)
            return None
        if isinstance(value, Decimal) and not value.is_finite():
            problems.add(name)
            return None
        text = value if isinstance(value, str) else str(value) if isinstance(value, int) else format(value, "f")
        if len(text) > 128 or (required and not text):
            problems.add(name)
        return text

    def amount(name: str, optional: bool = False) -> Decimal | None:
        if optional and data.get(name) is None:
            return None
        if name not in data:
            problems.add(name)
            return None
        try:
            value = parse_amount(data[name], config.amountNotation)
        except AmountError:
            problems.add(name)
            return None
        if uses_exponent(data[name]):
            warnings.append(name)
        return value

    given_session = ident("sessionId")
    if given_session is not None and given_session != session:
        problems.add("sessionId")
    bet_id, round_id = ident("betId", required=True), ident("gameRoundId")
    stake = amount("betAmount") if "betAmount" in KNOWN[endpoint] else None
    win = amount("winAmount") if "winAmount" in KNOWN[endpoint] else None
    odd = amount("winOdd", optional=True) if "winOdd" in KNOWN[endpoint] else None
    if stake is not None and not stake:
        if config.zeroStake == "reject":
            problems.add("betAmount")
        else:
            warnings.append("zeroStake")
    if problems:
        return ("refused", problems)
    assert bet_id is not None
    command = {
        "pay-in": lambda: PayIn(bet_id, stake, round_id),
        "pay-out": lambda: PayOut(bet_id, win, round_id, odd),
        "pay-in-out": lambda: PayInOut(bet_id, stake, win, round_id, odd),
        "refund": lambda: Refund(bet_id, round_id),
    }[endpoint]()
    return ("ok", command, tuple(k for k in data if k not in KNOWN[endpoint]), sorted(warnings))


def parser(endpoint: str, raw: bytes, session: str, config: Settings) -> tuple[Any, ...]:
    try:
        request = parse_bet_request(endpoint, raw, session, config)
    except InvalidRequest as exc:
        return ("refused", str(exc).split(" ", 1)[0])
    # "zeroStake: ..." or "amountNotation: winOdd ...": the rule, or the field it let through
    notes = [note.split()[0 if note.startswith("zeroStake") else 1] for note in request.warnings or []]
    notes = sorted(note.rstrip(":") for note in notes)
    return ("ok", request.command, request.unknown_fields, notes)


# -- generated bodies -------------------------------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(-(10**14), 10**14).map(str),
    st.sampled_from(["0", "-0", "0.00", "1.50", "5.0E-5", "5e-05", "1e400", "1e999999999"]),
    st.sampled_from(["9" * 30, "9" * 120, "9" * 5000]),
    st.builds(lambda i, f: f"{i}.{f}", st.integers(0, 10**13), st.integers(0, 10**6)),
)
texts = st.one_of(
    st.sampled_from(["s", "S", "b-1", "0.01", "2", "0", "1e2", "-1", "a:b", 'x":1', "\\", "x" * 129, BAD]),
    st.text(max_size=6),
)
scalars = st.one_of(
    numbers,
    texts.map(json.dumps),
    st.sampled_from(["true", "false", "null", '"\\u0031.5"', '"\\ud800"']),
)


def _object(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(st.sampled_from(["a", "b", "betId"]), children)
    return st.lists(pair, max_size=3).map(lambda ps: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in ps) + "}")


values = st.recursive(scalars, lambda inner: st.one_of(inner.map(lambda v: f"[{v}]"), _object(inner)), max_leaves=4)


@st.composite
def key_text(draw: st.DrawFn) -> str:
    key = draw(st.sampled_from(KEYS))
    if key == "BAD":
        return json.dumps(BAD)
    if key and draw(st.booleans()):  # one character written as an escape: "bet\u0049d" is betId
        i = draw(st.integers(0, len(key) - 1))
        key = key[:i] + f"\\u{ord(key[i]):04x}" + key[i + 1 :]
        return f'"{key}"'
    return json.dumps(key)


GOOD = {  # a valid value for each known field: bodies start from these, so most of them are accepted or nearly
    "betId": st.sampled_from(['"b-1"', "4178696881", "1.50"]),
    "betAmount": st.sampled_from(['"0.01"', "1.25", '"2"', "0", '"5.0E-5"']),
    "winAmount": st.sampled_from(['"3.50"', "0", "55.25", "1e1"]),
    "winOdd": st.sampled_from(["1.75", "null", '"2"']),
    "gameRoundId": st.sampled_from(['"r-1"', "7", "null"]),
    "sessionId": st.sampled_from(['"s"', "null"]),
}


@st.composite
def bodies(draw: st.DrawFn, endpoint: str) -> bytes:
    pairs = []
    for name in KNOWN[endpoint]:  # each known field, valid, bad or left out
        if draw(st.integers(0, 9)) == 0:
            continue
        value = draw(values) if draw(st.integers(0, 5)) == 0 else draw(GOOD[name])
        pairs.append((json.dumps(name), value))
    pairs += draw(st.lists(st.tuples(key_text(), values), max_size=4))  # unknown fields, and keys given twice
    pairs = draw(st.permutations(pairs))
    space = st.sampled_from(["", " ", "\n"])
    text = "{" + ",".join(f"{draw(space)}{k}{draw(space)}:{draw(space)}{v}" for k, v in pairs) + "}"
    raw = text.encode("utf-8", "surrogatepass").replace(json.dumps(BAD)[1:-1].encode(), b"\xff")
    damage = draw(st.sampled_from(["none"] * 6 + ["bom", "array", "bad utf-8", "deep", "trailing"]))
    if damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif damage == "array":
        raw = b"[" + raw + b"]"
    elif damage == "bad utf-8" and len(raw) > 2:
        at = draw(st.integers(1, len(raw) - 2))
        raw = raw[:at] + b"\xff" + raw[at:]
    elif damage == "deep":  # well inside, or far past, how deep the decoder reads
        depth = draw(st.sampled_from([300, 5000]))
        raw = raw[:-1] + (b"," if pairs else b"") + b'"deep":' + b"[" * depth + b"]" * depth + b"}"
    elif damage == "trailing":
        raw += b" x"
    return raw


# Derandomized and without an example database: the same bodies on every run, nothing written to the work tree.
@settings(
    max_examples=600, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    endpoint_and_raw=st.sampled_from(sorted(KNOWN)).flatmap(lambda e: st.tuples(st.just(e), bodies(e))),
    session=st.sampled_from(["s", "S"]),
    notation=st.sampled_from(["any", "plain"]),
    zero=st.sampled_from(["accept", "reject"]),
)
def test_the_parser_reads_every_body_as_the_model_does(endpoint_and_raw, session, notation, zero):
    endpoint, raw = endpoint_and_raw
    config = Settings(amountNotation=notation, zeroStake=zero)
    expected, actual = model(endpoint, raw, session, config), parser(endpoint, raw, session, config)
    if expected[0] == "refused":
        assert actual[0] == "refused" and actual[1] in expected[1], (raw, expected, actual)
    else:
        assert actual == expected, raw

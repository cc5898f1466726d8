"""Hostile-input catalogue: odd amounts, pathological JSON, raw header bytes, bad admin input, state round trips.

Every case expects a clean answer (the stated 4xx with a JSON body: `_responseCode` on the provider API,
`{"error": ...}` on the admin API; never a 5xx or a traceback), a healthy sandbox afterwards, no internal error,
and the wallet exactly as it was — except the few cases that are valid operations and say what they book.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import pytest

from betcore_sandbox.signing import signed_headers
from betcore_sandbox.web.app import create_app

from .conftest import CP, REPO, SECRET, Admin, Provider, assert_no_failure

pytestmark = pytest.mark.timeout(30)

WRONG_SIGN = "0" * 64
KIB = 1024


# -- helpers ---------------------------------------------------------------------------------------------------


def bet_path(endpoint: str, session: str = "session-eur") -> str:
    if endpoint == "balance":
        return f"/v1/sessions/{session}/balance"
    return f"/v1/sessions/{session}/bets/{endpoint}"


async def send_signed(http, path: str, raw: bytes, *, method: str = "POST", good_sign: bool = True):
    """(HTTP status, raw answer bytes, seconds) for a request signed over exactly `raw`."""
    headers = signed_headers(SECRET, CP, method, raw)
    if not good_sign:
        headers["X-Sign"] = WRONG_SIGN
    headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    response = await http.request(method, path, data=raw if method == "POST" else None, headers=headers)
    data = await response.read()
    return response.status, data, time.perf_counter() - started


def provider_body(status: int, raw: bytes) -> dict[str, Any]:
    """A clean provider answer: no 5xx, no traceback, a JSON object with an integer `_responseCode`."""
    assert status < 500, raw[:500]
    assert b"Traceback" not in raw, raw[:500]
    body = json.loads(raw, parse_float=D)
    assert isinstance(body, dict) and isinstance(body.get("_responseCode"), int), raw[:500]
    return body


def admin_error(status: int, raw: bytes, expected: int = 400) -> str:
    """A clean admin rejection: the stated status and `{"error": "<non-empty text>"}`."""
    assert status == expected, raw[:500]
    assert b"Traceback" not in raw, raw[:500]
    body = json.loads(raw)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], raw[:500]
    return body["error"]


async def admin_raw(http, method: str, path: str, raw: bytes | None, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.request(method, f"/__admin{path}", data=raw, headers=headers)
    return response.status, await response.read()


async def observe(admin: Admin) -> dict[str, Any]:
    """Everything a hostile request must not change: the whole wallet export (settings included) and the faults."""
    return {"state": await admin.get("/state"), "faults": await admin.get("/faults")}


async def assert_unharmed(admin: Admin, caplog, before: dict[str, Any] | None) -> None:
    status, health = await admin.call("GET", "/health")
    assert status == 200 and health["status"] == "healthy", health
    if before is not None:
        assert await observe(admin) == before
    assert_no_failure(caplog)


def j(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


# -- raw sockets: the bytes go on the wire unmodified --------------------------------------------------------------


def now_ms() -> bytes:
    return str(time.time_ns() // 1_000_000).encode()


def sign_bytes(method: str, body: bytes, cp: bytes, ts: bytes, rid: bytes, secret: bytes = SECRET.encode()) -> bytes:
    message = (body + b"." if method == "POST" else b"") + b".".join((cp, ts, rid))
    return hmac.new(secret, message, hashlib.sha256).hexdigest().encode()


def wire_request(
    method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b"", *, chunked: bool = False
) -> bytes:
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: sandbox", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        payload = (
            b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 4096]), body[i : i + 4096]) for i in range(0, len(body), 4096))
            + b"0\r\n\r\n"
        )
    else:
        lines.append(b"Content-Length: %d" % len(body))
        payload = body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def provider_wire(
    method: str,
    target: bytes,
    body: bytes = b"",
    *,
    cp: bytes = CP.encode(),
    ts: bytes | None = None,
    rid: bytes | None = None,
    sign: bytes | None = None,
    chunked: bool = False,
) -> bytes:
    """A provider request signed over the exact header bytes given (unless `sign` overrides X-Sign)."""
    ts = now_ms() if ts is None else ts
    rid = uuid.uuid4().hex.encode() if rid is None else rid
    sign = sign_bytes(method, body, cp, ts, rid) if sign is None else sign
    headers = [
        (b"X-Counterparty-Id", cp),
        (b"X-Timestamp", ts),
        (b"X-Request-Id", rid),
        (b"X-Sign", sign),
        (b"Content-Type", b"application/json"),
    ]
    return wire_request(method, target, headers, body, chunked=chunked)


def _dechunk(data: bytes) -> bytes:
    out, rest = b"", data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


async def exchange(http, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send raw bytes to the test server, read to EOF: (status, body)."""
    reader, writer = await asyncio.open_connection(http.server.host, http.server.port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    assert status_line.startswith(b"HTTP/1."), data[:300]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in header_lines)}
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = _dechunk(body)
    return int(status_line.split()[1]), body


def clean_4xx(status: int, body: bytes, *, api: str = "provider") -> None:
    """Any 4xx is clean (aiohttp's own parser may refuse illegal header bytes with a text 400); when our
    handler answered, it must be the auth failure it is: 401 with code 8, or an admin 401 `error`."""
    assert 400 <= status < 500, (status, body[:500])
    assert b"Traceback" not in body, body[:500]
    try:
        data = json.loads(body)
    except ValueError:
        return  # the HTTP parser's own plain-text 400
    if api == "provider" and isinstance(data, dict) and "_responseCode" in data:
        assert (status, data["_responseCode"]) == (401, 8), data
    if api == "admin" and isinstance(data, dict) and "error" in data:
        assert status == 401, data


# -- 1. amounts exact in the currency, written with extra trailing zeros -------------------------------------------


@dataclass(frozen=True)
class Step:
    endpoint: str
    body: bytes
    balance: D  # the player's balance after it (code 1)
    session: str = "session-eur"


TRAILING_ZEROS = {
    "pay-in-string-1.500": [Step("pay-in", b'{"betId":"z-1","betAmount":"1.500"}', D("998.50"))],
    "pay-in-number-1.500": [Step("pay-in", b'{"betId":"z-1","betAmount":1.500}', D("998.50"))],
    "pay-in-string-1.50000000": [Step("pay-in", b'{"betId":"z-1","betAmount":"1.50000000"}', D("998.50"))],
    "pay-out-string-2.000": [
        Step("pay-in", b'{"betId":"z-1","betAmount":"1.00"}', D("999.00")),
        Step("pay-out", b'{"betId":"z-1","winAmount":"2.000"}', D("1001.00")),
    ],
    "pay-out-number-2.000": [
        Step("pay-in", b'{"betId":"z-1","betAmount":"1.00"}', D("999.00")),
        Step("pay-out", b'{"betId":"z-1","winAmount":2.000}', D("1001.00")),
    ],
    "pay-out-zero-0.000": [
        Step("pay-in", b'{"betId":"z-1","betAmount":"1.00"}', D("999.00")),
        Step("pay-out", b'{"betId":"z-1","winAmount":"0.000"}', D("999.00")),
    ],
    "pay-in-out-1.500-2.000": [
        Step("pay-in-out", b'{"betId":"z-1","betAmount":"1.500","winAmount":"2.000"}', D("1000.50"))
    ],
    "pay-in-1.500-then-refund": [
        Step("pay-in", b'{"betId":"z-1","betAmount":"1.500"}', D("998.50")),
        Step("refund", b'{"betId":"z-1"}', D("1000.00")),
    ],
    "btc-pay-in-0.000001000": [
        Step("pay-in", b'{"betId":"z-1","betAmount":"0.000001000"}', D("0.04999900"), session="session-btc")
    ],
}


@pytest.mark.parametrize("steps", TRAILING_ZEROS.values(), ids=TRAILING_ZEROS.keys())
async def test_trailing_zeros_exact_in_the_currency_are_valid(http, provider, admin, steps, caplog):
    for step in steps:
        status, raw, _ = await send_signed(http, bet_path(step.endpoint, step.session), step.body)
        body = provider_body(status, raw)
        assert (status, body["_responseCode"]) == (200, 1), body
        assert body["balance"] == step.balance, body
    session = steps[-1].session
    # The stored amounts must not poison later calls for that player.
    assert await provider.balance(session) == steps[-1].balance
    follow_up = "0.10" if session == "session-eur" else "0.00000100"
    answer = await provider.pay_in(session, "z-after", follow_up)
    assert answer["_responseCode"] == 1 and answer["balance"] == steps[-1].balance - D(follow_up), answer
    audit = await admin.get("/audit")
    assert audit["ok"] and audit["violations"] == [], audit
    status, _ = await admin.call("PUT", "/state", await admin.get("/state"))
    assert status == 200
    await assert_unharmed(admin, caplog, None)


async def test_repeat_of_1_500_written_as_1_50_is_the_same_bet(provider, admin, caplog):
    assert (await provider.pay_in("session-eur", "z-1", "1.500"))["_responseCode"] == 1
    repeat = await provider.pay_in("session-eur", "z-1", "1.50")
    assert repeat["_responseCode"] == 104 and repeat["balance"] == D("998.50"), repeat
    await assert_unharmed(admin, caplog, None)


# -- 1b, 2, 3. bodies that must be refused with nothing booked -----------------------------------------------------


@dataclass(frozen=True)
class Refused:
    body: bytes
    endpoint: str = "pay-in"
    session: str = "session-eur"
    status: int = 400
    code: int = 2
    good_sign: bool = True
    open_bet: bool = False  # pay-out cases: a bet "p-1" of 1.00 is taken first
    small: bool = False  # answer within 2 s, body < 4 KiB, journal entry small


def amount_case(value: bytes, **kw: Any) -> Refused:
    return Refused(b'{"betId":"h-1","betAmount":' + value + b"}", **kw)


BIG_DIGITS = b"9" * 5000
DEEP_ARRAYS = b"[" * 30_000 + b"]" * 30_000  # 60 000 bytes: under the 64 KiB limit
DEEP_OBJECTS = b'{"a":' * 10_000 + b"1" + b"}" * 10_000  # 60 001 bytes
PAD_70K = b"x" * 70_000

REFUSED: dict[str, Refused] = {
    # not exact in the currency's minor units
    "eur-string-1.005": amount_case(b'"1.005"'),
    "eur-number-1.005": amount_case(b"1.005"),
    "eur-string-1.0050": amount_case(b'"1.0050"'),
    "btc-string-0.000000001": amount_case(b'"0.000000001"', session="session-btc"),
    "btc-number-0.000000001": amount_case(b"0.000000001", session="session-btc"),
    "pay-out-win-2.005": Refused(b'{"betId":"p-1","winAmount":"2.005"}', endpoint="pay-out", open_bet=True),
    "pay-out-win-number-2.005": Refused(b'{"betId":"p-1","winAmount":2.005}', endpoint="pay-out", open_bet=True),
    # huge and odd numbers
    "betId-1e999999999": Refused(b'{"betId":1e999999999,"betAmount":"1.00"}', small=True),
    "betId-1e-999999999": Refused(b'{"betId":1e-999999999,"betAmount":"1.00"}', small=True),
    "betAmount-1e-30000000": amount_case(b"1e-30000000", small=True),
    "betAmount-1e999999999": amount_case(b"1e999999999", small=True),
    "betAmount-1e400": amount_case(b"1e400", small=True),
    "betAmount-5000-digit-integer": amount_case(BIG_DIGITS, small=True),
    "betAmount-5000-digit-decimal": amount_case(b"0." + BIG_DIGITS, small=True),
    "betId-5000-digit-integer": Refused(b'{"betId":' + BIG_DIGITS + b',"betAmount":"1.00"}', small=True),
    "winAmount-1e-30000000": Refused(
        b'{"betId":"p-1","winAmount":1e-30000000}', endpoint="pay-out", open_bet=True, small=True
    ),
    "betAmount-string-1e999999999": amount_case(b'"1e999999999"', small=True),
    "betAmount-string-1e-999999999": amount_case(b'"1e-999999999"', small=True),
    "betAmount-string-minus-1e2": amount_case(b'"-1e2"', small=True),
    "betAmount-string-NaN": amount_case(b'"NaN"', small=True),
    "betAmount-string-sNaN": amount_case(b'"sNaN"', small=True),
    "betAmount-string-Infinity": amount_case(b'"Infinity"', small=True),
    "betAmount-string-minus-Infinity": amount_case(b'"-Infinity"', small=True),
    "betAmount-literal-NaN": amount_case(b"NaN", small=True),
    "betAmount-literal-Infinity": amount_case(b"Infinity", small=True),
    "betAmount-true": amount_case(b"true", small=True),
    "betAmount-false": amount_case(b"false", small=True),
    "betAmount-null": amount_case(b"null", small=True),
    "betAmount-empty-array": amount_case(b"[]", small=True),
    "betAmount-array": amount_case(b'["1.00"]', small=True),
    "betAmount-empty-object": amount_case(b"{}", small=True),
    "betAmount-object": amount_case(b'{"value":"1.00"}', small=True),
    "betAmount-13-integer-digits-string": amount_case(b'"1000000000000"', small=True),
    "betAmount-13-integer-digits-number": amount_case(b"1000000000000", small=True),
    "betAmount-13-integer-digits-decimal": amount_case(b'"1000000000000.00"', small=True),
    "betAmount-hex-string": amount_case(b'"0x10"', small=True),
    "betId-true": Refused(b'{"betId":true,"betAmount":"1.00"}', small=True),
    "betId-array": Refused(b'{"betId":["b"],"betAmount":"1.00"}', small=True),
    # JSON shape
    "invalid-utf8": Refused(b'{"betId":"\xff\xfe","betAmount":"1.00"}'),
    "invalid-utf8-overlong": Refused(b'{"betId":"\xc0\xaf","betAmount":"1.00"}'),
    "lone-surrogate-escape": Refused(b'{"betId":"\\ud800","betAmount":"1.00"}'),
    "deep-arrays-30000": Refused(DEEP_ARRAYS),
    "deep-objects-10000": Refused(DEEP_OBJECTS),
    "empty-body": Refused(b""),
    "whitespace-body": Refused(b"  \n "),
    "top-level-array": Refused(b'[{"betId":"h-1","betAmount":"1.00"}]'),
    "top-level-string": Refused(b'"h-1"'),
    "top-level-number": Refused(b"1"),
    "top-level-null": Refused(b"null"),
    "top-level-true": Refused(b"true"),
    "duplicate-betAmount": Refused(b'{"betId":"h-1","betAmount":"1.00","betAmount":"2.00"}'),
    "duplicate-betId": Refused(b'{"betId":"h-1","betId":"h-2","betAmount":"1.00"}'),
    "duplicate-identical-keys": Refused(b'{"betId":"h-1","betAmount":"1.00","betAmount":"1.00"}'),
    "duplicate-after-spaced-colon": Refused(b'{"betId":"h-1","betAmount":"1.00","betAmount" : "2.00"}'),
    "duplicate-in-unknown-object": Refused(b'{"betId":"h-1","betAmount":"1.00","meta":{"a":1,"a":2}}'),
    "duplicate-escaped-key": Refused(b'{"betId":"h-1","betAmount":"1.00","bet\\u0041mount":"2.00"}'),
    "duplicate-colons-balanced-by-strings": Refused(b'{"betId" :"h-1","betId":"h-2","x" :"\\":","betAmount":"1.00"}'),
    "invalid-utf8-in-unknown-key": Refused(b'{"betId":"h-1","betAmount":"1.00","x\xff":1}'),
    "invalid-utf8-in-unknown-value": Refused(b'{"betId":"h-1","betAmount":"1.00","x":"\xff"}'),
    "5000-digit-integer-in-unknown-field": Refused(b'{"betId":"h-1","betAmount":"1.00","x":' + BIG_DIGITS + b"}"),
    "betId-129-chars": Refused(j({"betId": "x" * 129, "betAmount": "1.00"})),
    "betId-60000-chars": Refused(j({"betId": "x" * 60_000, "betAmount": "1.00"})),
    "trailing-garbage": Refused(b'{"betId":"h-1","betAmount":"1.00"} x'),
    "body-over-64KiB": Refused(j({"betId": "h-1", "betAmount": "1.00", "pad": PAD_70K.decode()}), status=413),
    # a wrong signature: the signature explainer parses the body too
    "wrong-sign-deep-arrays-30000": Refused(DEEP_ARRAYS, status=401, code=8, good_sign=False),
    "wrong-sign-deep-objects-10000": Refused(DEEP_OBJECTS, status=401, code=8, good_sign=False),
    "wrong-sign-invalid-utf8": Refused(b'{"betId":"\xff\xfe","betAmount":"1.00"}', status=401, code=8, good_sign=False),
    "wrong-sign-lone-surrogate-escape": Refused(
        b'{"betId":"\\ud800","betAmount":"1.00"}', status=401, code=8, good_sign=False
    ),
    "wrong-sign-betId-1e999999999": Refused(
        b'{"betId":1e999999999,"betAmount":"1.00"}', status=401, code=8, good_sign=False
    ),
    "wrong-sign-5000-digit-integer": amount_case(BIG_DIGITS, status=401, code=8, good_sign=False),
    "wrong-sign-duplicate-keys": Refused(
        b'{"betId":"h-1","betAmount":"1.00","betAmount":"2.00"}', status=401, code=8, good_sign=False
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
async def test_refused_body_books_nothing(http, provider, admin, case, caplog):
    if case.open_bet:
        assert (await provider.pay_in(case.session, "p-1", "1.00"))["_responseCode"] == 1
    before = await observe(admin)
    status, raw, seconds = await send_signed(
        http, bet_path(case.endpoint, case.session), case.body, good_sign=case.good_sign
    )
    body = provider_body(status, raw)
    assert (status, body["_responseCode"]) == (case.status, case.code), body
    assert isinstance(body.get("message"), str) and body["message"], body
    if case.small:
        assert seconds < 2.0, f"answered after {seconds:.1f} s"
        assert len(raw) < 4 * KIB, f"answer of {len(raw)} bytes"
        [entry] = await admin.get("/requests?limit=1")
        size = len(json.dumps(entry, default=str))
        assert size < len(case.body) + 8 * KIB, f"journal entry of {size} bytes"
    await assert_unharmed(admin, caplog, before)


MINUS_ZERO = {"number-minus-0.00": b"-0.00", "string-minus-0": b'"-0"', "string-minus-0.00": b'"-0.00"'}


@pytest.mark.parametrize("zero_stake", ["reject", "accept"])
@pytest.mark.parametrize("value", MINUS_ZERO.values(), ids=MINUS_ZERO.keys())
async def test_minus_zero_is_a_negative_amount(http, admin, value, zero_stake, caplog):
    """A minus sign on an amount is refused, zero or not; a JSON integer -0 is the integer 0 (JSON has no
    negative integer zero), so it counts as a zero stake."""
    status, _ = await admin.call("PATCH", "/settings", {"zeroStake": zero_stake})
    assert status == 200
    before = await observe(admin)
    status, raw, _ = await send_signed(http, bet_path("pay-in"), b'{"betId":"h-1","betAmount":' + value + b"}")
    body = provider_body(status, raw)
    assert (status, body["_responseCode"]) == (400, 2) and "must not be negative" in body["message"], body
    await assert_unharmed(admin, caplog, before)


@pytest.mark.parametrize("notation", ["any", "plain"])
async def test_an_exponent_string_is_exactly_100_unless_plain_notation_is_asked_for(
    http, provider, admin, notation, caplog
):
    await admin.call("PATCH", "/settings", {"amountNotation": notation})
    before = await observe(admin)
    status, raw, _ = await send_signed(http, bet_path("pay-in"), b'{"betId":"e-1","betAmount":"1e2"}')
    body = provider_body(status, raw)
    if notation == "plain":
        assert (status, body["_responseCode"]) == (400, 2), body
        await assert_unharmed(admin, caplog, before)
        return
    assert (status, body["_responseCode"], body["balance"]) == (200, 1, D("900.00")), body
    assert (await admin.get("/bets/e-1"))["stake"] == "100.00"
    await assert_unharmed(admin, caplog, None)


async def test_chunked_body_over_64KiB_without_content_length_is_413(http, admin, caplog):
    before = await observe(admin)
    raw = j({"betId": "h-1", "betAmount": "1.00", "pad": PAD_70K.decode()})
    status, answer = await exchange(http, provider_wire("POST", bet_path("pay-in").encode(), raw, chunked=True))
    body = provider_body(status, answer)
    assert (status, body["_responseCode"]) == (413, 2), body
    await assert_unharmed(admin, caplog, before)


# -- 4. header bytes ------------------------------------------------------------------------------------------------

BYTES = (0x00, 0x01, 0x09, 0x1B, 0x7F, 0x80, 0xC3, 0xFF)
PROVIDER_HEADERS = ("X-Counterparty-Id", "X-Timestamp", "X-Request-Id", "X-Sign")


def _with_byte(value: bytes, byte: int) -> bytes:
    """The byte in the middle of the value: leading/trailing whitespace would be trimmed by the parser."""
    middle = len(value) // 2
    return value[:middle] + bytes([byte]) + value[middle:]


def _header_request(header: str, byte: int, *, good_sign: bool, method: str = "POST") -> bytes:
    body = b'{"betId":"hdr-1","betAmount":"1.00"}' if method == "POST" else b""
    values = {
        "X-Counterparty-Id": CP.encode(),
        "X-Timestamp": now_ms(),
        "X-Request-Id": b"rid-" + uuid.uuid4().hex.encode(),
    }
    if header in values:
        values[header] = _with_byte(values[header], byte)
    cp, ts, rid = values["X-Counterparty-Id"], values["X-Timestamp"], values["X-Request-Id"]
    sign = sign_bytes(method, body, cp, ts, rid) if good_sign else WRONG_SIGN.encode()
    if header == "X-Sign":
        sign = _with_byte(sign, byte)
    target = bet_path("pay-in" if method == "POST" else "balance").encode()
    return provider_wire(method, target, body, cp=cp, ts=ts, rid=rid, sign=sign)


HEADER_CASES = [
    pytest.param(
        header, byte, good_sign, id=f"{header}-0x{byte:02x}-{'signed-over-bytes' if good_sign else 'bad-sign'}"
    )
    for header in PROVIDER_HEADERS
    for byte in BYTES
    for good_sign in (True, False)
]


ADMIN_READS = (
    "/state",
    "/bets",
    "/transactions",
    "/requests",
    "/audit",
    "/players",
    "/sessions",
    "/faults",
    "/settings",
)


async def every_admin_read_renders(http, bet_id: str) -> None:
    """Every admin view of the state, whole, as valid JSON: what a hostile byte was booked with must not break one."""
    for path in (*ADMIN_READS, f"/bets/{bet_id}"):
        status, raw = await admin_raw(http, "GET", path, None)
        assert status == 200, (path, raw[:300])
        json.loads(raw)


def legal_in_a_request_id(byte: int) -> bool:
    """HTTP allows a tab, visible ASCII and obs-text (0x80-0xFF) in a header value. A request id made of them and
    signed over exactly those bytes is authentic: refusing it would be stricter than the signature recipe."""
    return byte == 0x09 or 0x20 <= byte <= 0x7E or byte >= 0x80


@pytest.mark.parametrize("header, byte, good_sign", HEADER_CASES)
async def test_control_and_non_ascii_bytes_in_provider_headers(http, admin, header, byte, good_sign, caplog):
    before = await observe(admin)
    status, body = await exchange(http, _header_request(header, byte, good_sign=good_sign))
    status_journal, journal = await admin_raw(http, "GET", "/requests", None)
    assert status_journal == 200, journal[:500]  # the journal renders whatever bytes it holds
    if header == "X-Request-Id" and good_sign and legal_in_a_request_id(byte):
        answer = provider_body(status, body)
        assert (status, answer["_responseCode"]) == (200, 1), answer
        [entry] = json.loads(journal)
        request_id = next(value for name, value in entry["headers"] if name == "X-Request-Id")
        assert request_id.startswith("rid-") and (byte < 0x80 or "\\x" in request_id), request_id
        await every_admin_read_renders(http, "hdr-1")
        return
    clean_4xx(status, body)
    await assert_unharmed(admin, caplog, before)


@pytest.mark.parametrize("header", PROVIDER_HEADERS)
@pytest.mark.parametrize("byte", range(256), ids=lambda b: f"0x{b:02x}")
async def test_every_byte_in_every_provider_header(http, admin, header, byte, caplog):
    """A balance call (no state change either way), signed over the bytes as sent: an X-Request-Id of bytes legal
    in a header value is valid; anything else is a clean 4xx."""
    status, body = await exchange(http, _header_request(header, byte, good_sign=True, method="GET"))
    if header == "X-Request-Id" and legal_in_a_request_id(byte):
        answer = provider_body(status, body)
        assert (status, answer["_responseCode"]) == (200, 1), answer
    else:
        clean_4xx(status, body)
    status, journal = await admin_raw(http, "GET", "/requests", None)
    assert status == 200, journal[:500]
    await assert_unharmed(admin, caplog, None)


async def test_journal_renders_0xff_in_x_counterparty_id(http, admin):
    status, body = await exchange(http, _header_request("X-Counterparty-Id", 0xFF, good_sign=True))
    clean_4xx(status, body)
    status, journal = await admin_raw(http, "GET", "/requests", None)
    assert status == 200, journal[:500]
    assert json.loads(journal), "the request is journaled"


@pytest.mark.parametrize("digits", [b"9" * 5000, b"1" + b"0" * 4999, b"0" * 5000], ids=["9s", "1e4999", "zeros"])
async def test_5000_digit_timestamp_is_401(http, admin, digits, caplog):
    before = await observe(admin)
    status, raw = await exchange(
        http, provider_wire("POST", bet_path("pay-in").encode(), b'{"betId":"ts-1","betAmount":"1.00"}', ts=digits)
    )
    body = provider_body(status, raw)
    assert (status, body["_responseCode"]) == (401, 8), body
    assert len(raw) < 64 * KIB
    await assert_unharmed(admin, caplog, before)


@pytest.fixture
async def token_http(aiohttp_client, state):
    return await aiohttp_client(create_app(state, admin_token="t"))


@pytest.mark.parametrize("byte", range(256), ids=lambda b: f"0x{b:02x}")
@pytest.mark.parametrize("where", ["inside-token", "inside-scheme"])
async def test_control_and_non_ascii_bytes_in_admin_authorization(token_http, byte, where, caplog):
    admin = Admin(token_http, token="t")
    before = await observe(admin)
    value = b"Bearer t" + bytes([byte]) + b"t" if where == "inside-token" else b"Bea" + bytes([byte]) + b"rer t"
    patch = b'{"balance":"5.00"}'
    request = wire_request(
        "PATCH",
        b"/__admin/players/player-eur",
        [(b"Authorization", value), (b"Content-Type", b"application/json")],
        patch,
    )
    status, body = await exchange(token_http, request)
    clean_4xx(status, body, api="admin")
    status, journal = await admin_raw(token_http, "GET", "/requests", None, token="t")
    assert status == 200, journal[:500]
    await assert_unharmed(admin, caplog, before)


# -- 5. admin routes: wrong types, out of range ---------------------------------------------------------------------

NEW_SESSION = b'"currency":"EUR","balance":"10.00"'


def session_with(extra: bytes) -> bytes:
    return b"{" + NEW_SESSION + b"," + extra + b"}"


ADMIN_BAD: dict[str, tuple[str, str, bytes, str]] = {
    "session-ttlSeconds-1e12": ("POST", "/sessions", session_with(b'"ttlSeconds":1e12'), "ttlSeconds"),
    "session-ttlSeconds-1e400": ("POST", "/sessions", session_with(b'"ttlSeconds":1e400'), "ttlSeconds"),
    "session-ttlSeconds-2**63": ("POST", "/sessions", session_with(b'"ttlSeconds":%d' % 2**63), "ttlSeconds"),
    "session-ttlSeconds--1": ("POST", "/sessions", session_with(b'"ttlSeconds":-1'), "ttlSeconds"),
    "session-ttlSeconds-string": ("POST", "/sessions", session_with(b'"ttlSeconds":"10"'), "ttlSeconds"),
    "session-ttlSeconds-true": ("POST", "/sessions", session_with(b'"ttlSeconds":true'), "ttlSeconds"),
    "session-currency-list": ("POST", "/sessions", b'{"currency":["EUR"],"balance":"10.00"}', "currency"),
    "session-currency-object": ("POST", "/sessions", b'{"currency":{"EUR":2},"balance":"10.00"}', "currency"),
    "session-counterpartyId-list": (
        "POST",
        "/sessions",
        session_with(b'"counterpartyId":["' + CP.encode() + b'"]'),
        "counterpartyId",
    ),
    "session-counterpartyId-object": (
        "POST",
        "/sessions",
        session_with(b'"counterpartyId":{"id":"x"}'),
        "counterpartyId",
    ),
    "session-playerId-number": ("POST", "/sessions", b'{"playerId":5}', "playerId"),
    "session-minBet-abc": ("POST", "/sessions", session_with(b'"minBet":"abc"'), "minBet"),
    "session-id-object": ("POST", "/sessions", session_with(b'"id":{"a":1}'), "id"),
    "player-currency-list": ("POST", "/players", b'{"currency":["EUR"],"balance":"1.00"}', "currency"),
    "player-id-list": ("POST", "/players", b'{"id":["p"],"currency":"EUR"}', "id"),
    "session-patch-ttlSeconds-1e400": ("PATCH", "/sessions/session-eur", b'{"ttlSeconds":1e400}', "ttlSeconds"),
    "session-patch-status-list": ("PATCH", "/sessions/session-eur", b'{"status":["active"]}', "status"),
    "settings-journalLimit-2**63": ("PATCH", "/settings", b'{"journalLimit":%d}' % 2**63, "journalLimit"),
    "settings-journalLimit--1": ("PATCH", "/settings", b'{"journalLimit":-1}', "journalLimit"),
    "settings-journalLimit-string": ("PATCH", "/settings", b'{"journalLimit":"5"}', "journalLimit"),
    "settings-timestampToleranceMs-2**63": (
        "PATCH",
        "/settings",
        b'{"timestampToleranceMs":%d}' % 2**63,
        "timestampToleranceMs",
    ),
    "player-balance-1.001": ("PATCH", "/players/player-eur", b'{"balance":"1.001"}', "balance"),
    "player-balance--5": ("PATCH", "/players/player-eur", b'{"balance":-5}', "balance"),
    "player-balance-list": ("PATCH", "/players/player-eur", b'{"balance":[]}', "balance"),
    "player-balance-1e400": ("PATCH", "/players/player-eur", b'{"balance":1e400}', "balance"),
    "fault-status-101": ("POST", "/faults", b'{"kind":"http_error","status":101}', "status"),
    "fault-status-204": ("POST", "/faults", b'{"kind":"http_error","status":204}', "status"),
    "fault-status-304": ("POST", "/faults", b'{"kind":"http_error","status":304}', "status"),
    "fault-status-99": ("POST", "/faults", b'{"kind":"http_error","status":99}', "status"),
    "fault-status-600": ("POST", "/faults", b'{"kind":"http_error","status":600}', "status"),
    "fault-delayMs--1": ("POST", "/faults", b'{"kind":"delay","delayMs":-1}', "delayMs"),
    "fault-delayMs-2**63": ("POST", "/faults", b'{"kind":"delay","delayMs":%d}' % 2**63, "delayMs"),
    "fault-timeout-delayMs-2**63": ("POST", "/faults", b'{"kind":"timeout","delayMs":%d}' % 2**63, "delayMs"),
    "fault-times-0": ("POST", "/faults", b'{"kind":"http_error","times":0}', "times"),
    "fault-probability-2": ("POST", "/faults", b'{"kind":"http_error","probability":2}', "probability"),
    "fault-probability-1e400": ("POST", "/faults", b'{"kind":"http_error","probability":1e400}', "probability"),
    "fault-ttlSeconds-1e400": ("POST", "/faults", b'{"kind":"http_error","ttlSeconds":1e400}', "ttlSeconds"),
    "fault-unknown-kind": ("POST", "/faults", b'{"kind":"meteor"}', "kind"),
    "fault-kind-list": ("POST", "/faults", b'{"kind":["delay"]}', "kind"),
    "fault-endpoint-list": ("POST", "/faults", b'{"kind":"delay","delayMs":1,"endpoint":["pay-in"]}', "endpoint"),
}


@pytest.mark.parametrize("method, path, raw, field", ADMIN_BAD.values(), ids=ADMIN_BAD.keys())
async def test_bad_admin_input_is_400_naming_the_field_and_changes_nothing(
    http, admin, method, path, raw, field, caplog
):
    before = await observe(admin)
    status, answer = await admin_raw(http, method, path, raw)
    error = admin_error(status, answer)
    assert field in error, error
    await assert_unharmed(admin, caplog, before)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _settled_pay_in_out_without_win(data: dict[str, Any]) -> None:
    data["bets"][0].update(kind="pay-in-out", status="settled", win=None)


def _move_entry_to_player_usd(data: dict[str, Any]) -> None:
    entry = data["ledger"][0]
    usd = next(p for p in data["players"] if p["id"] == "player-usd")
    eur = next(p for p in data["players"] if p["id"] == "player-eur")
    entry["playerId"] = "player-usd"
    entry["balanceAfter"] = str(D(usd["openingBalance"]) + D(entry["amount"]))
    usd["balance"], eur["balance"] = entry["balanceAfter"], eur["openingBalance"]


def _tombstone_the_bet(data: dict[str, Any]) -> None:
    bet = data["bets"][0]
    data["tombstones"] = [
        {
            "betId": bet["betId"],
            "counterpartyId": bet["counterpartyId"],
            "sessionId": bet["sessionId"],
            "time": bet["createdAt"],
        }
    ]


BAD_STATES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "ledger-time-year-1-at-plus-14h": (_set(("ledger", 0, "time"), "0001-01-01T00:00:00+14:00"), "time"),
    "ledger-time-year-9999-at-minus-14h": (_set(("ledger", 0, "time"), "9999-12-31T23:59:59-14:00"), "time"),
    "bet-createdAt-year-1-at-plus-14h": (_set(("bets", 0, "createdAt"), "0001-01-01T00:00:00+14:00"), "createdAt"),
    "pay-in-out-bet-without-win": (_settled_pay_in_out_without_win, "win"),
    "eur-stake-10-decimals": (_set(("bets", 0, "stake"), "1.0000000001"), "stake"),
    "eur-ledger-amount-10-decimals": (_set(("ledger", 0, "amount"), "-1.0000000001"), "amount"),
    "bet-of-unknown-counterparty": (_set(("bets", 0, "counterpartyId"), "ghost-provider"), "counterpartyId"),
    "bet-of-unknown-session": (_set(("bets", 0, "sessionId"), "ghost-session"), "sessionId"),
    "bet-of-unknown-player": (_set(("bets", 0, "playerId"), "ghost-player"), "playerId"),
    "ledger-entry-of-unknown-player": (_set(("ledger", 0, "playerId"), "ghost-player"), "playerId"),
    "ledger-entry-amount-list": (_set(("ledger", 0, "amount"), ["-1.00"]), "amount"),
    "lastTransactionId-2**63-string": (_set(("lastTransactionId",), str(2**63)), "lastTransactionId"),
    # consistent money, wrong owner: refunding the bet would then credit player-eur with another player's stake
    "bet-entry-moved-to-another-player": (_move_entry_to_player_usd, "playerId"),
    "tombstone-for-a-bet-that-exists": (_tombstone_the_bet, "tombstones[0].betId"),
    "non-numeric-transaction-id": (_set(("ledger", 0, "transactionId"), "t-1"), "transactionId"),
    "bet-entry-without-its-bet": (_set(("ledger", 0, "betId"), None), "betId"),
}


async def test_two_operations_sharing_a_transaction_id_are_refused(provider, admin, caplog):
    for bet_id in ("t-1", "t-2"):
        assert (await provider.pay_in("session-eur", bet_id, "1.00"))["_responseCode"] == 1
    before = await observe(admin)
    bad = copy.deepcopy(before["state"])
    bad["ledger"][1]["transactionId"] = bad["ledger"][0]["transactionId"]  # adjacent, but another bet
    status, answer = await admin.call("PUT", "/state", raw=json.dumps(bad).encode())
    assert status == 400 and "used by more than one operation" in answer["error"], answer
    await assert_unharmed(admin, caplog, before)


@pytest.mark.parametrize("mutate, field", BAD_STATES.values(), ids=BAD_STATES.keys())
async def test_bad_state_import_is_400_naming_the_field_and_changes_nothing(provider, admin, mutate, field, caplog):
    assert (await provider.pay_in("session-eur", "s-1", "1.00"))["_responseCode"] == 1
    before = await observe(admin)
    bad = copy.deepcopy(before["state"])
    mutate(bad)
    status, answer = await admin.call("PUT", "/state", raw=json.dumps(bad, default=str).encode())
    assert status == 400, answer
    assert isinstance(answer.get("error"), str) and field in answer["error"], answer
    await assert_unharmed(admin, caplog, before)


BODY_ROUTES = [
    ("PUT", "/state"),
    ("POST", "/players"),
    ("PATCH", "/players/player-eur"),
    ("POST", "/sessions"),
    ("PATCH", "/sessions/session-eur"),
    ("POST", "/faults"),
    ("PATCH", "/settings"),
]
BAD_BODIES = {
    "truncated": b'{"balance":',
    "garbage": b"not json",
    "invalid-utf8": b'{"id":"\xff\xfe"}',
    "trailing-garbage": b"{} x",
    "array": b"[]",
    "string": b'"text"',
    "number": b"42",
    "null": b"null",
    "true": b"true",
    "deep-arrays-30000": DEEP_ARRAYS,
    "deep-objects-10000": DEEP_OBJECTS,
}


@pytest.mark.parametrize("name", BAD_BODIES)
@pytest.mark.parametrize("method, path", BODY_ROUTES, ids=[f"{m}-{p}" for m, p in BODY_ROUTES])
async def test_admin_invalid_json_or_non_object_body_is_400(http, admin, method, path, name, caplog):
    before = await observe(admin)
    status, answer = await admin_raw(http, method, path, BAD_BODIES[name])
    admin_error(status, answer)
    await assert_unharmed(admin, caplog, before)


# -- 6. export -> import round trip -----------------------------------------------------------------------------

NAMELESS = {
    "counterparties": [{"id": "studio", "secret": "studio-secret"}],
    "players": [{"id": "p-1", "currency": "EUR", "balance": "10.00"}],
    "sessions": [{"id": "s-1", "playerId": "p-1"}],
}


def readme_fixture() -> dict[str, Any]:
    text = (REPO / "docs" / "configuration.md").read_text()
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        if '"counterparties"' in block and '"sessions"' in block:  # the whole example, not a fragment
            return json.loads(block)
    raise AssertionError("docs/configuration.md has no ```json fixture block")


ROUND_TRIPS = {
    "default": (None, False),
    "default-after-activity": (None, True),
    "counterparty-without-name": (NAMELESS, False),
    "counterparty-without-name-after-activity": (NAMELESS, True),
    "readme-fixture": ("readme", False),
    "readme-fixture-after-activity": ("readme", True),
}


async def _activity(http) -> None:
    """A bit of everything the export carries: bets in each status, a tombstone, an adjustment."""
    exported = await Admin(http).get("/state")
    cp = exported["counterparties"][0]
    session = next(s for s in exported["sessions"] if s.get("counterpartyId") == cp["id"])
    provider, sid = Provider(http, cp["id"], cp["secret"]), session["id"]
    assert (await provider.pay_in(sid, "a-open", "1.00"))["_responseCode"] == 1
    assert (await provider.pay_in(sid, "a-won", "1.00"))["_responseCode"] == 1
    assert (await provider.pay_out(sid, "a-won", "2.50", winOdd="2.5"))["_responseCode"] == 1
    assert (await provider.pay_in(sid, "a-back", "1.00"))["_responseCode"] == 1
    assert (await provider.refund(sid, "a-back"))["_responseCode"] == 1
    assert (await provider.pay_in_out(sid, "a-both", "1.00", "0.00"))["_responseCode"] == 1
    assert (await provider.refund(sid, "a-ghost"))["_responseCode"] == 5  # leaves a tombstone
    status, _ = await Admin(http).call("PATCH", f"/players/{session['playerId']}", {"balance": "42.00"})
    assert status == 200


@pytest.mark.parametrize("fixture, active", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
async def test_export_import_round_trip_is_identical(aiohttp_client, make_state, fixture, active, caplog):
    state = make_state(readme_fixture() if fixture == "readme" else fixture)
    http = await aiohttp_client(create_app(state))
    admin = Admin(http)
    if active:
        await _activity(http)
    exported = await admin.get("/state")
    status, imported = await admin.call("PUT", "/state", exported)
    assert status == 200, imported
    assert imported["status"] == "imported" and imported["transactions"] == len(exported["ledger"])
    assert await admin.get("/state") == exported
    await assert_unharmed(admin, caplog, None)


# -- 7. an unreplaced Postman-style placeholder -------------------------------------------------------------------


PLACEHOLDERS = {
    "pay-out-literal-braces": ("POST", b"/v1/sessions/{{sessionId}}/bets/pay-out"),
    "pay-out-percent-encoded": ("POST", b"/v1/sessions/%7B%7BsessionId%7D%7D/bets/pay-out"),
    "balance-literal-braces": ("GET", b"/v1/sessions/{{sessionId}}/balance"),
    "balance-percent-encoded": ("GET", b"/v1/sessions/%7B%7BsessionId%7D%7D/balance"),
}


@pytest.mark.parametrize("method, target", PLACEHOLDERS.values(), ids=PLACEHOLDERS.keys())
async def test_unreplaced_session_placeholder_is_404_saying_so(http, admin, method, target, caplog):
    before = await observe(admin)
    body = b'{"betId":"ph-1","winAmount":"1.00"}' if method == "POST" else b""
    status, raw = await exchange(http, provider_wire(method, target, body))
    answer = provider_body(status, raw)
    assert status == 404, answer
    message = answer.get("message", "")
    assert "placeholder" in message.lower() and re.search(r"session[ _-]?id", message, re.I), message
    await assert_unharmed(admin, caplog, before)


def _opening_differs_with_no_ledger(data: dict[str, Any]) -> None:
    data["ledger"], data["bets"] = [], []
    data["players"][0]["openingBalance"] = "1.00"


def _negative_win_entry(data: dict[str, Any]) -> None:
    bet, entry = data["bets"][0], data["ledger"][0]
    data["ledger"].append(
        {
            **entry,
            "transactionId": "900",
            "type": "win",
            "amount": "3.00",
            "balanceAfter": str(D(entry["balanceAfter"]) + 3),
        }
    )
    data["ledger"].append(
        {
            **entry,
            "transactionId": "901",
            "type": "win",
            "amount": "-1.00",
            "balanceAfter": str(D(entry["balanceAfter"]) + 2),
        }
    )
    bet.update(status="settled", win="2.00")
    player = next(p for p in data["players"] if p["id"] == entry["playerId"])
    player["balance"] = str(D(entry["balanceAfter"]) + 2)


def _open_pay_out_bet_without_entries(data: dict[str, Any]) -> None:
    data["bets"].append(
        {**data["bets"][0], "betId": "ghost-jackpot", "kind": "pay-out", "stake": "0.00", "status": "open", "win": None}
    )


def _transaction_id_with_a_leading_zero(data: dict[str, Any]) -> None:
    data["ledger"][0]["transactionId"] = "01"


MORE_BAD_STATES = {
    "opening-balance-differs-with-no-ledger": (_opening_differs_with_no_ledger, "not consistent"),
    "negative-win-entry": (_negative_win_entry, "never negative"),
    "open-pay-out-bet-without-entries": (_open_pay_out_bet_without_entries, "has its win"),
    "transaction-id-with-a-leading-zero": (_transaction_id_with_a_leading_zero, "transactionId"),
}


@pytest.mark.parametrize("mutate, field", MORE_BAD_STATES.values(), ids=MORE_BAD_STATES.keys())
async def test_inconsistent_imports_are_refused(provider, admin, mutate, field, caplog):
    assert (await provider.pay_in("session-eur", "s-1", "1.00"))["_responseCode"] == 1
    before = await observe(admin)
    bad = copy.deepcopy(before["state"])
    mutate(bad)
    status, answer = await admin.call("PUT", "/state", raw=json.dumps(bad, default=str).encode())
    assert status == 400 and field in answer["error"], answer
    await assert_unharmed(admin, caplog, before)


async def test_an_export_with_balances_past_12_integer_digits_round_trips(aiohttp_client, make_state):
    state = make_state(
        {
            "counterparties": [{"id": CP, "secret": SECRET}],
            "players": [{"id": "whale", "currency": "EUR", "balance": "999999999999.99"}],
            "sessions": [{"id": "s", "playerId": "whale"}],
        }
    )
    http = await aiohttp_client(create_app(state))
    admin, provider = Admin(http), Provider(http)
    won = await provider.pay_in_out("s", "big", "0.01", "999999999999.99")
    assert won["_responseCode"] == 1 and won["balance"] == D("1999999999999.97")
    exported = await admin.get("/state")
    status, answer = await admin.call("PUT", "/state", exported)
    assert status == 200, answer
    assert await admin.get("/state") == exported


async def test_a_client_leaving_mid_body_is_journaled_and_no_sandbox_failure(http, admin, caplog):
    headers = signed_headers(SECRET, CP, "POST", b'{"betId":"gone","betAmount":"1.00"}')
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    _, writer = await asyncio.open_connection(http.server.host, http.server.port)
    writer.write(
        f"POST /v1/sessions/session-eur/bets/pay-in HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n{head}\r\n{{".encode()
    )
    await writer.drain()
    writer.transport.abort()
    deadline = time.monotonic() + 5
    while not (entries := await admin.get("/requests")):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert entries[0]["response"] is None and "before its body had arrived" in entries[0]["error"]
    assert_no_failure(caplog)
    await assert_unharmed(admin, caplog, None)


async def test_an_admin_client_leaving_mid_body_is_no_sandbox_failure(http, admin, caplog):
    _, writer = await asyncio.open_connection(http.server.host, http.server.port)
    writer.write(b'PUT /__admin/state HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"counter')
    await writer.drain()
    writer.transport.abort()
    await assert_unharmed(admin, caplog, None)


async def test_many_unknown_fields_count_in_the_journal_bytes(provider, admin):
    assert (await admin.call("PATCH", "/settings", {"journalMaxBytes": 1024 * 1024}))[0] == 200
    fields = {f"x{i}": 0 for i in range(4000)}  # a 40 KB body whose names the journal also keeps
    for i in range(8):
        body = {"betId": f"u-{i}", "betAmount": "1.00", **fields}
        status, answer = await provider.send("pay-in", "session-eur", body)
        assert (status, answer["_responseCode"]) == (200, 1)
    entries = await admin.get("/requests")
    assert len(entries[-1]["unknownFields"]) == 4000 and entries[-1]["betId"] == "u-7"
    # Counted by its body alone an entry would be about 40 KB and 1 MiB would keep all eight; with the names and
    # their objects (over 200 KB) it keeps at most four.
    assert len(entries) <= 4


async def test_a_failed_signature_is_answered_and_journaled_without_its_whole_body(http, admin):
    body = json.dumps({"betId": "b", "betAmount": "1.00", "pad": "p" * 60_000}).encode()
    headers = signed_headers("wrong-secret", CP, "POST", body)
    response = await http.post(bet_path("pay-in"), data=body, headers=headers)
    answer = await response.read()
    assert response.status == 401 and len(answer) < 8 * KIB, len(answer)
    entry = (await admin.get("/requests"))[-1]
    assert entry["truncated"]["responseSize"] == len(answer) and len(entry["response"]["body"]) <= 1024


async def test_a_pay_out_retried_after_importing_an_older_export_is_still_a_repeat(provider, admin):
    await admin.call("PATCH", "/settings", {"additionalPayOuts": "additional"})
    await provider.pay_in("session-eur", "b", "1.00", gameRoundId="R2")
    first = await provider.pay_out("session-eur", "b", "2.00")  # no gameRoundId of its own
    exported = await admin.get("/state")
    for entry in exported["ledger"]:
        del entry["gameRoundId"]  # as exports were before entries carried one
    status, _ = await admin.call("PUT", "/state", exported)
    assert status == 200
    retry = await provider.pay_out("session-eur", "b", "2.00")
    assert retry["transactionId"] == first["transactionId"] and retry["balance"] == D("1001.00")
    assert "gameRoundId" not in (await admin.get("/state"))["ledger"][1]  # still unknown, not guessed


TOMBSTONE_STATES = {
    "tombstone-of-another-counterparty-session": ({"sessionId": "session-other"}, "another counterparty"),
    "tombstone-twice": (None, "has a tombstone already"),
}


@pytest.mark.parametrize("change, message", TOMBSTONE_STATES.values(), ids=TOMBSTONE_STATES.keys())
async def test_bad_tombstones_are_refused(provider, admin, change, message, caplog):
    assert (await provider.refund("session-eur", "ghost"))["_responseCode"] == 5  # a tombstone
    before = await observe(admin)
    bad = copy.deepcopy(before["state"])
    if change is None:
        bad["tombstones"].append(dict(bad["tombstones"][0]))
    else:
        bad["tombstones"][0].update(change)
    status, answer = await admin.call("PUT", "/state", bad)
    assert status == 400 and message in answer["error"], answer
    await assert_unharmed(admin, caplog, before)


async def test_a_session_with_bets_cannot_be_deleted_so_the_export_stays_importable(provider, admin):
    await provider.pay_in("session-eur", "b", "1.00")
    status, answer = await admin.call("DELETE", "/sessions/session-eur")
    assert status == 400 and "close it instead" in answer["error"]
    status, _ = await admin.call("PUT", "/state", await admin.get("/state"))
    assert status == 200
    assert (await admin.call("DELETE", "/sessions/session-usd"))[0] == 204  # one without bets


async def test_a_balance_never_passes_its_digit_limit(aiohttp_client, make_state):
    nines = "9" * 30 + ".00"
    state = make_state(
        {
            "counterparties": [{"id": CP, "secret": SECRET}],
            "players": [{"id": "p", "currency": "EUR", "balance": nines}],
            "sessions": [{"id": "s", "playerId": "p"}],
        }
    )
    http = await aiohttp_client(create_app(state))
    answer = await Provider(http).pay_in_out("s", "b", "0.10", "2.00")
    assert answer["_responseCode"] == 2 and "30 integer digits" in answer["message"]
    assert await Admin(http).get("/transactions") == []
    status, _ = await Admin(http).call("PUT", "/state", await Admin(http).get("/state"))
    assert status == 200

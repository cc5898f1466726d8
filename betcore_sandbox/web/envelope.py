"""Response bodies, and the one place that turns a domain outcome or error into a response code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

import msgspec

from ..codes import ResponseCodes
from ..errors import SandboxError
from ..money import minor_text, to_text
from ..settings import Settings
from ..signing import public_diagnostics
from ..wallet import Outcome

encoder = msgspec.json.Encoder()


class Reply(NamedTuple):
    status: int
    code: int | None  # None when the body carries no code (an injected malformed body)
    body: bytes
    close: bool = False  # close the connection after answering (a body left unread)
    reason: str | None = None  # the message the answer carries, for the request log line


class BodyTooLarge(SandboxError):
    code_name = "invalid_request"
    http_status = 413
    close_connection = True  # the rest of the body is never read


class BodyTimeout(SandboxError):
    code_name = "invalid_request"
    http_status = 408
    close_connection = True


def money(amount: Decimal, scale: int) -> msgspec.Raw:
    """A JSON number with the exact decimal value, written in the currency's minor units (1588.50)."""
    return msgspec.Raw(to_text(amount, scale).encode())


def balance(codes: ResponseCodes, result: Outcome) -> Reply:
    code = codes.code("ok")
    text = minor_text(result.balance_units, result.scale)
    return Reply(
        200,
        code,
        b'{"_responseCode":%d,"balance":%s,"currency":%s}' % (code, text.encode(), encoder.encode(result.currency)),
    )


def outcome(codes: ResponseCodes, settings: Settings, endpoint: str, result: Outcome) -> Reply:
    """A first application answers ok. A repeat carries the original transactionId and today's balance, with
    code 104, or in `replay` mode (setting duplicateResponse, per endpoint) with code 1."""
    replayed = not result.repeated or settings.duplicate_mode(endpoint) == "replay"
    name = "ok" if replayed else "already_processed"
    code = codes.code(name)
    body = b'{"_responseCode":%d,"transactionId":"%d","balance":%s,"currency":%s' % (
        code,
        result.transaction_id,
        minor_text(result.balance_units, result.scale).encode(),
        encoder.encode(result.currency),
    )
    if replayed:
        return Reply(codes.http_status(name), code, body + b"}")
    message = f"already processed as transaction {result.transaction_id}"
    body += b',"message":"%s"' % message.encode()
    return Reply(codes.http_status(name), code, body + b"}", reason=message)


def failure(
    codes: ResponseCodes,
    error: SandboxError,
    *,
    balance_now: tuple[Decimal, str, int] | None = None,
    explain: str = "hints",
) -> Reply:
    """An error body: code, message, and where the session is known its balance and currency."""
    code = codes.code(error.code_name)
    body = _with_balance({"_responseCode": code, "message": error.message}, balance_now)
    if error.debug is not None and (debug := public_diagnostics(error.debug, explain)) is not None:
        body["_debug"] = debug
    status = getattr(error, "http_status", None) or codes.http_status(error.code_name)
    return Reply(status, code, encoder.encode(body), getattr(error, "close_connection", False), error.message)


def injected(code: int, message: str, balance_now: tuple[Decimal, str, int] | None) -> Reply:
    """An injected `response_code` answer: HTTP 200 with that code."""
    body = _with_balance({"_responseCode": code, "message": message}, balance_now)
    return Reply(200, code, encoder.encode(body), reason=message)


def internal_error(codes: ResponseCodes, message: str, status: int | None = None) -> Reply:
    code = codes.code("internal_error")
    body = encoder.encode({"_responseCode": code, "message": message})
    return Reply(status or codes.http_status("internal_error"), code, body, reason=message)


BET_ANSWER_CUT = b'{"_responseCode":1,"transactionId":"'  # a bet endpoint's answer, cut off mid-value


def malformed(answer: bytes | None) -> Reply:
    """An injected malformed body, shaped as the endpoint's own: its answer cut off one character into the first
    value past its middle (no shorter piece of a JSON object is JSON). answer: that answer; None before a bet was
    applied, when a bet answer's beginning stands for it."""
    if not answer:
        return Reply(200, None, BET_ANSWER_CUT)
    middle = len(answer) // 2
    colon = answer.find(b'":', middle)
    cut = colon + 3 if 0 <= colon < len(answer) - 3 else middle
    return Reply(200, None, answer[:cut])


def _with_balance(body: dict[str, Any], balance_now: tuple[Decimal, str, int] | None) -> dict[str, Any]:
    if balance_now is not None:
        amount, currency, scale = balance_now
        body["balance"] = money(amount, scale)
        body["currency"] = currency
    return body

"""The X-Sign recipe: HMAC-SHA256 over the raw request, and explanations for a mismatch.

The key is the counterparty's secret as literal UTF-8 bytes; the message is the parts joined with '.':
POST  <raw body>.<X-Counterparty-Id>.<X-Timestamp>.<X-Request-Id>
GET   <X-Counterparty-Id>.<X-Timestamp>.<X-Request-Id>
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

from .text import clip_strings, printable_bytes

BODYLESS_METHODS = frozenset({"GET", "HEAD"})


def header_bytes(value: str) -> bytes:
    """A header value as the bytes that were sent (the server keeps undecodable bytes as surrogates)."""
    return value.encode("utf-8", "surrogateescape")


def string_to_sign(method: str, body: bytes, counterparty_id: str, timestamp: str, request_id: str) -> bytes:
    tail = header_bytes(f"{counterparty_id}.{timestamp}.{request_id}")
    if method.upper() in BODYLESS_METHODS:
        return tail
    return body + b"." + tail


def compute_sign(secret: str | bytes, message: bytes) -> str:
    """Lowercase hex HMAC-SHA256 (RFC 2104) of the message under the secret's literal bytes."""
    inner, outer = _pads(secret if isinstance(secret, bytes) else secret.encode())
    inner = inner.copy()
    inner.update(message)
    outer = outer.copy()
    outer.update(inner.digest())
    signature: str = outer.hexdigest()
    return signature


@functools.lru_cache(maxsize=256)
def _pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states after the key's inner and outer pads: each signature then costs two state copies, not an
    HMAC set-up (about 3 times faster than hmac.digest on this hot path)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_INNER)), hashlib.sha256(key.translate(_OUTER))


_BLOCK = 64  # SHA-256's block size
_INNER = bytes(b ^ 0x36 for b in range(256))
_OUTER = bytes(b ^ 0x5C for b in range(256))


def signs_match(expected: str, received: str) -> bool:
    """Constant-time comparison; upper-case hex is accepted."""
    return hmac.compare_digest(expected.encode(), received.lower().encode("utf-8", "replace"))


def signed_headers(
    secret: str,
    counterparty_id: str,
    method: str,
    body: bytes = b"",
    *,
    timestamp_ms: int | None = None,
    request_id: str | None = None,
) -> dict[str, str]:
    """The four headers a provider sends; a fresh timestamp and request id unless given."""
    timestamp = str(time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms)
    request_id = request_id or uuid.uuid4().hex
    message = string_to_sign(method, body, counterparty_id, timestamp, request_id)
    return {
        "X-Counterparty-Id": counterparty_id,
        "X-Timestamp": timestamp,
        "X-Request-Id": request_id,
        "X-Sign": compute_sign(secret, message),
    }


def explain_mismatch(
    *,
    method: str,
    body: bytes,
    counterparty_id: str,
    timestamp: str,
    request_id: str,
    secret: str,
    received: str,
    other_secrets: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """What the sandbox signed, what it expected, and hints at the likely mistake. Never the secret.

    `expectedSign` is for the journal and the `full` mode only: shown to the caller, it would let anyone resend
    a request with the revealed signature (see `public_diagnostics`)."""
    message = string_to_sign(method, body, counterparty_id, timestamp, request_id)
    expected = compute_sign(secret, message)
    matched = [
        hint
        for hint, candidate in _mistakes(
            method, body, counterparty_id, timestamp, request_id, secret, expected, other_secrets or {}
        )
        if candidate() == received.strip().lower()
    ]
    return {
        "stringToSign": printable_bytes(message),
        "parts": {
            "body": None if method.upper() in BODYLESS_METHODS else printable_bytes(body),
            "counterpartyId": printable_bytes(header_bytes(counterparty_id)),
            "timestamp": printable_bytes(header_bytes(timestamp)),
            "requestId": printable_bytes(header_bytes(request_id)),
        },
        "expectedSign": expected,
        "receivedSign": printable_bytes(header_bytes(received)),
        "hints": matched[:1] or _checklist(method, secret, received),
    }


def public_diagnostics(debug: dict[str, object], mode: str) -> dict[str, object] | None:
    """What a 401 may show for `explainSignatures` mode hints | full | off. The body is echoed only in its
    first KiB (the sender has it anyway; a 64 KiB body must not come back twice)."""
    if mode == "off":
        return None
    shown = clip_strings(debug, ECHOED_BODY_CHARS)
    if mode == "full":
        return shown  # type: ignore[no-any-return]
    return {key: value for key, value in shown.items() if key != "expectedSign"}


ECHOED_BODY_CHARS = 1024


def _mistakes(
    method: str,
    body: bytes,
    cp: str,
    timestamp: str,
    request_id: str,
    secret: str,
    expected: str,
    other_secrets: Mapping[str, str],
) -> Iterator[tuple[str, Callable[[], str]]]:
    """(explanation, lazily computed signature) for each common mistake we can reproduce."""
    sign = compute_sign
    tail = header_bytes(f"{cp}.{timestamp}.{request_id}")
    digest = bytes.fromhex(expected)
    yield (
        "X-Sign is the right HMAC but base64-encoded: send it as lowercase hex",
        lambda: base64.b64encode(digest).decode().lower(),
    )
    if method.upper() in BODYLESS_METHODS:
        yield ("a GET string to sign has no body part: drop the leading '.'", lambda: sign(secret, b"." + tail))
    else:
        # Before the re-serialisations: a stray newline would otherwise be reported as the JSON spelling it matched.
        if body.rstrip() != body:
            yield (
                "the body was sent with trailing whitespace or a newline the signed body lacks: sign the exact bytes",
                partial(sign, secret, body.rstrip() + b"." + tail),
            )
        yield (
            "the signed body ended with a newline the body sent lacks (e.g. a JSON encoder's): sign the exact bytes",
            partial(sign, secret, body + b"\n." + tail),
        )
        for label, variant in _reserialisations(body):
            yield (
                f"body was re-serialised before signing ({label}): sign the exact bytes you send",
                partial(sign, secret, variant + b"." + tail),
            )
        yield ("the body part was left out of a POST string to sign", lambda: sign(secret, tail))
    decoded = _decoded_secret(secret)
    if decoded is not None:
        yield (
            "the secret was base64-decoded: use its literal UTF-8 bytes as the HMAC key",
            lambda: sign(decoded, string_to_sign(method, body, cp, timestamp, request_id)),
        )
    if timestamp.isdigit() and len(timestamp) >= 4:
        seconds = timestamp[:-3]
        yield (
            "the string to sign has the timestamp in seconds: use X-Timestamp exactly as sent (milliseconds)",
            lambda: sign(secret, string_to_sign(method, body, cp, seconds, request_id)),
        )
    yield (
        "X-Request-Id was left out of the string to sign",
        lambda: sign(secret, string_to_sign(method, body, cp, timestamp, "")[:-1]),
    )
    for other_id, other_secret in other_secrets.items():
        if other_id != cp:
            yield (
                f"signed with the secret of counterparty '{other_id}', not of X-Counterparty-Id '{cp}'",
                partial(sign, other_secret, string_to_sign(method, body, cp, timestamp, request_id)),
            )


def _reserialisations(body: bytes) -> Iterable[tuple[str, bytes]]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return []
    try:
        variants = _variants(data)
    except (ValueError, RecursionError):  # e.g. deeply nested: no re-serialisation worth suggesting
        return []
    return [
        (label, text.encode("utf-8", "surrogatepass"))
        for label, text in variants.items()
        if text.encode("utf-8", "surrogatepass") != body
    ]


def _variants(data: object) -> dict[str, str]:
    return {
        "compact JSON": json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        "JSON with spaces": json.dumps(data, ensure_ascii=False),
        "keys sorted": json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True),
        "non-ASCII escaped": json.dumps(data, separators=(",", ":")),
        "'/' escaped as '\\/'": json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/"),
    }


def _decoded_secret(secret: str) -> bytes | None:
    try:
        decoded = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded != secret.encode() else None


def _checklist(method: str, secret: str, received: str) -> list[str]:
    hints = []
    if len(received) != 64 or any(c not in "0123456789abcdefABCDEF" for c in received):
        hints.append(f"X-Sign should be 64 hex characters (HMAC-SHA256), got {len(received)} characters")
    if method.upper() in BODYLESS_METHODS:
        hints.append("GET signs '<X-Counterparty-Id>.<X-Timestamp>.<X-Request-Id>' with no body part")
    else:
        hints.append(
            "sign the raw body bytes exactly as sent: no re-serialisation, same key order, spacing and escapes"
        )
    if _decoded_secret(secret) is not None:
        hints.append("the secret looks like base64 but is used as literal UTF-8 bytes: do not decode it")
    hints.append("use the secret of the counterparty named in X-Counterparty-Id, and the header values exactly as sent")
    return hints

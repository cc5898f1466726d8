"""The sandbox's HTTP client for the calls it makes to a provider (Games, Launch).

Everything that can go wrong on the provider's side becomes an `Answer` with an `error`, never an exception:
refused or reset connections, no answer within the timeout, an answer over MAX_PARTNER_ANSWER bytes (read no
further, so a hostile provider cannot exhaust memory; the limit applies after decompression).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from ..limits import MAX_PARTNER_ANSWER
from ..partner import Answer, OutgoingRequest

# The client's own defaults (5 min in all, 30 s to connect) would cut a call short of a longer partnerTimeoutMs
# and be reported as that timeout: the one deadline is the asyncio.timeout around the call.
_NO_CLIENT_TIMEOUT = aiohttp.ClientTimeout()


async def send(request: OutgoingRequest, timeout: float) -> Answer:
    """Send one request; the answer within `timeout` seconds (connecting and reading included)."""
    started = time.perf_counter()
    answer = Answer()
    try:
        async with asyncio.timeout(timeout):
            # A session per call: calls are rare, and nothing of one provider's connection leaks into the next.
            async with (
                aiohttp.ClientSession(trust_env=False, timeout=_NO_CLIENT_TIMEOUT) as http,
                http.request(
                    request.method,
                    request.url,
                    data=request.body if request.method == "POST" else None,
                    headers=request.headers,
                    allow_redirects=False,
                ) as response,
            ):
                answer.status = response.status
                answer.body = await _bounded(response.content)
                if len(answer.body) > MAX_PARTNER_ANSWER:
                    answer.body = answer.body[:MAX_PARTNER_ANSWER]
                    answer.error = f"the answer is over {MAX_PARTNER_ANSWER} bytes: the sandbox read no further"
    except TimeoutError:
        answer.error = f"no answer within {timeout * 1000:.0f} ms (setting partnerTimeoutMs)"
    except (aiohttp.ClientError, OSError) as exc:
        answer.error = f"the provider did not answer: {_reason(exc)}"
    except ValueError as exc:  # the client refused to send it: a header it will not write, a URL it cannot use
        answer.error = f"the request could not be sent: {_reason(exc)}"
    answer.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    return answer


async def _bounded(stream: aiohttp.StreamReader) -> bytes:
    """The body, but no more than one byte past the limit."""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_PARTNER_ANSWER:
        chunk = await stream.read(MAX_PARTNER_ANSWER + 1 - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):  # its own text adds "ssl:default [Connect call failed ...]"
        where = f"{exc.host}:{exc.port}"
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused by {where}"
        return f"cannot connect to {where}: {exc.os_error.strerror or type(exc.os_error).__name__}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text

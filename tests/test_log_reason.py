"""The request log line gives the same reason as the journal view, the feed and the report: one rule
(`views.reason`), so what caplog shows and what the failing test's report shows agree."""

from __future__ import annotations

import contextlib
import logging

import pytest

from .conftest import Admin, Provider


@pytest.fixture
def lines(caplog):
    caplog.set_level(logging.INFO, logger="betcore_sandbox.requests")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "betcore_sandbox.requests"]


@pytest.mark.parametrize(
    ("kind", "endpoint"),
    [("malformed_body", "balance"), ("empty_response", "balance"), ("connection_reset", "balance")],
)
async def test_a_fault_that_leaves_no_message_is_named_on_the_log_line_as_in_the_journal(
    provider: Provider, admin: Admin, lines, kind, endpoint
):
    await admin.fault(endpoint=endpoint, kind=kind)
    with contextlib.suppress(Exception):  # the fault cut the answer: what the client sees is not the point here
        await provider.send(endpoint, "session-eur")
    [entry] = await admin.get(f"/requests?endpoint={endpoint}")
    assert entry["reason"] == f"injected fault fault-1 ({kind}, before)"
    [line] = lines()
    assert line.startswith(f"{endpoint} session=session-eur ") and line.endswith(f" reason={entry['reason']}")


async def test_a_refused_signature_and_a_wallet_error_give_the_journals_reason(provider: Provider, admin: Admin, lines):
    await provider.pay_in("session-eur", "too-big", "9999999.00")
    [entry] = await admin.get("/requests")
    assert entry["reason"].startswith("betAmount 9999999.00 is above")
    [line] = lines()
    assert line.endswith(f" reason={entry['reason']}")

"""Concurrent requests, duplicates included, give exactly the effects of some serial order."""

import asyncio
from decimal import Decimal as D

from betcore_sandbox.web.app import create_app

from .conftest import CP, Admin, Provider

FIFTY = {
    "counterparties": [{"id": CP, "secret": "sandbox-secret-key-123"}],
    "players": [{"id": "p", "currency": "EUR", "balance": "50.00"}],
    "sessions": [{"id": "s", "playerId": "p"}],
}


async def test_64_concurrent_identical_pay_ins_debit_once(provider, admin):
    answers = await asyncio.gather(*(provider.pay_in("session-eur", "same", "10.00") for _ in range(64)))
    codes = sorted(a["_responseCode"] for a in answers)
    assert codes == [1] + [104] * 63
    assert {a["transactionId"] for a in answers} == {answers[0]["transactionId"]}
    assert await provider.balance() == D("990.00")
    assert len(await admin.get("/transactions")) == 1


async def test_120_concurrent_distinct_pay_ins_on_50_never_overdraw(aiohttp_client, make_state):
    http = await aiohttp_client(create_app(make_state(FIFTY)))
    provider = Provider(http)
    answers = await asyncio.gather(*(provider.pay_in("s", f"bet-{i}", "1.00") for i in range(120)))
    codes = [a["_responseCode"] for a in answers]
    assert codes.count(1) == 50 and codes.count(4) == 70
    assert min(a["balance"] for a in answers) == D("0.00")
    assert await provider.balance("s") == D("0.00")
    assert all(D(e["balanceAfter"]) >= 0 for e in await Admin(http).get("/transactions"))


async def test_concurrent_pay_out_and_refund_of_one_bet_settle_it_once(provider, admin):
    await provider.pay_in("session-eur", "race", "10.00")
    answers = await asyncio.gather(
        *(provider.pay_out("session-eur", "race", "30.00") for _ in range(10)),
        *(provider.refund("session-eur", "race") for _ in range(10)),
    )
    balance = await provider.balance()
    assert balance in (D("1020.00"), D("1000.00"))
    # one operation won; the other kind's requests got 6, and repeats of the winner its transaction
    winners = {a["transactionId"] for a in answers if a["_responseCode"] in (1, 104)}
    assert len(winners) == 1
    assert len(await admin.get("/transactions")) == 2

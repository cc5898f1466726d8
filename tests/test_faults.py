"""Fault rules as a domain: parsing, matching, counters, seeds and expiry (no HTTP)."""

import pytest

from betcore_sandbox.errors import AdminInputError, NotFound
from betcore_sandbox.faults import FaultBook


class Monotonic:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def fired(book, n, endpoint="pay-in", session="s", player="p", bet=None):
    return [book.fire(endpoint, session, player, bet) is not None for _ in range(n)]


def test_defaults():
    rule = FaultBook().add({"kind": "http_error"})
    view = rule.view()
    assert (view["endpoint"], view["phase"], view["status"], view["times"], view["skip"]) == ("*", "before", 500, 1, 0)
    assert (view["fired"], view["remaining"], view["probability"]) == (0, 1, 1.0)
    assert view["id"].startswith("fault-")


def test_timeout_defaults_to_30_seconds_and_delay_needs_a_duration():
    assert FaultBook().add({"kind": "timeout"}).delay_ms == 30_000
    with pytest.raises(AdminInputError, match="delayMs: is required"):
        FaultBook().add({"kind": "delay"})


@pytest.mark.parametrize(
    "spec, message",
    [
        ({}, "kind: is required \\(one of http_error, response_code"),
        ({"kind": "explode"}, "kind: must be one of"),
        ({"kind": "delay", "delayMs": -1}, "delayMs: must be an integer from 0 to 3600000"),
        ({"kind": "http_error", "endpoint": "withdraw"}, "endpoint: must be one of"),
        ({"kind": "http_error", "phase": "during"}, "phase: must be one of after, before"),
        ({"kind": "http_error", "status": 99}, "status: must be an integer from 400 to 599"),
        ({"kind": "http_error", "status": 204}, "status: must be an integer from 400 to 599"),
        ({"kind": "http_error", "times": 0}, "times: must be at least 1"),
        ({"kind": "http_error", "times": "2"}, "times: must be an integer"),
        ({"kind": "http_error", "skip": -1}, "skip: must be at least 0"),
        ({"kind": "http_error", "probability": 1.5}, "probability: must be from 0 to 1"),
        ({"kind": "http_error", "ttlSeconds": 0}, "ttlSeconds: must be greater than 0"),
        ({"kind": "http_error", "colour": "red"}, "colour: unknown field"),
        ([], "must be an object, not an array"),
    ],
)
def test_bad_rules_name_the_field(spec, message):
    with pytest.raises(AdminInputError, match=message):
        FaultBook().add(spec)


def test_times_and_skip_make_a_sequence():
    book = FaultBook()
    book.add({"kind": "http_error", "skip": 1, "times": 2})
    assert fired(book, 5) == [False, True, True, False, False]
    [rule] = book.rules()
    assert (rule.fired, rule.remaining, rule.matched) == (2, 0, 3)


def test_unlimited_times():
    book = FaultBook()
    book.add({"kind": "http_error", "times": None})
    assert all(fired(book, 50))
    assert book.rules()[0].remaining is None


def test_same_seed_same_sequence_over_40_calls():
    def sequence(seed):
        book = FaultBook()
        book.add({"kind": "http_error", "times": None, "probability": 0.3, "seed": seed})
        return fired(book, 40)

    first = sequence(7)
    assert first == sequence(7)
    assert first != sequence(8)
    assert 4 <= sum(first) <= 24


def test_a_rule_past_its_ttl_stays_listed_as_expired_and_never_fires():
    clock = Monotonic()
    book = FaultBook(clock)
    rule = book.add({"kind": "http_error", "times": None, "ttlSeconds": 2})
    assert fired(book, 1) == [True]
    assert book.get(rule.id).view()["state"] == "active"
    clock.now += 2.5
    assert fired(book, 1) == [False]
    assert book.get(rule.id).view()["state"] == "expired"
    assert [r.id for r in book.rules()] == [rule.id]
    book.remove(rule.id)
    with pytest.raises(NotFound):
        book.get(rule.id)


def test_filters():
    book = FaultBook()
    book.add(
        {"kind": "http_error", "times": None, "endpoint": "pay-out", "sessionId": "s1", "playerId": "p1", "betId": "b1"}
    )
    assert book.fire("pay-out", "s1", "p1", "b1") is not None
    assert book.fire("pay-in", "s1", "p1", "b1") is None
    assert book.fire("pay-out", "s2", "p1", "b1") is None
    assert book.fire("pay-out", "s1", "p2", "b1") is None
    assert book.fire("pay-out", "s1", "p1", "b2") is None


def test_creation_order_decides_and_a_skipping_rule_lets_later_ones_fire():
    book = FaultBook()
    first = book.add({"kind": "http_error", "skip": 1})
    second = book.add({"kind": "empty_response", "times": None})
    assert book.fire("pay-in", "s", "p", None) is second  # first is skipping its first match
    assert book.fire("pay-in", "s", "p", None) is first
    assert book.fire("pay-in", "s", "p", None) is second


def test_remove_and_clear():
    book = FaultBook()
    rule = book.add({"kind": "http_error"})
    book.remove(rule.id)
    with pytest.raises(NotFound):
        book.remove(rule.id)
    book.add({"kind": "http_error"})
    book.clear()
    assert book.rules() == []

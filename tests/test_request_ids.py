from betcore_sandbox.request_ids import SeenRequestIds


def test_an_id_is_refused_within_the_window_and_per_counterparty():
    seen = SeenRequestIds()
    assert seen.first_sighting("cp", "r1", now_ms=1000, window_ms=300_000)
    assert not seen.first_sighting("cp", "r1", now_ms=2000, window_ms=300_000)
    assert seen.first_sighting("other", "r1", now_ms=2000, window_ms=300_000)


def test_ids_are_forgotten_after_the_window():
    seen = SeenRequestIds()
    seen.first_sighting("cp", "r1", now_ms=0, window_ms=1000)
    assert not seen.first_sighting("cp", "r1", now_ms=1000, window_ms=1000)
    assert seen.first_sighting("cp", "r1", now_ms=1001 + 1000, window_ms=1000)


def test_memory_is_bounded_by_capacity():
    seen = SeenRequestIds(capacity=100)
    for i in range(1000):
        assert seen.first_sighting("cp", f"r{i}", now_ms=i, window_ms=0)
    assert len(seen) == 100
    assert not seen.first_sighting("cp", "r999", now_ms=1000, window_ms=0)
    assert seen.first_sighting("cp", "r0", now_ms=1000, window_ms=0)  # pushed out by capacity


def test_clear_forgets_everything():
    seen = SeenRequestIds()
    seen.first_sighting("cp", "r1", now_ms=0, window_ms=1000)
    seen.clear()
    assert len(seen) == 0
    assert seen.first_sighting("cp", "r1", now_ms=0, window_ms=1000)

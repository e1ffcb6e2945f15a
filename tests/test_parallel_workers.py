"""The parallel test workers' own Redis databases: never shared, never outside Redis's 0-15."""

from tests.parallel_workers import _redis_url_for, _worker_number


def test_workers_count_down_from_the_configured_redis_database():
    # given the database CI configures
    url = "redis://127.0.0.1:6379/15"
    # then each worker has its own, and the first keeps the configured one
    assert [_redis_url_for(url, n) for n in range(3)] == [
        "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/13"]


def test_a_low_redis_database_counts_up_instead_of_going_negative():
    assert _redis_url_for("redis://:secret@localhost:6380/1", 2) == "redis://:secret@localhost:6380/3"
    assert _redis_url_for("redis://localhost:6379", 1) == "redis://localhost:6379/1"


def test_worker_ids_are_read_as_numbers():
    assert _worker_number("gw0") == 0
    assert _worker_number("gw11") == 11

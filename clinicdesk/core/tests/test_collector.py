"""The cyclic collector held off for a batch: nested and shared pauses, and the collector's state given back."""

import gc

import pytest

from clinicdesk.core.collector import collector_paused


@pytest.fixture(autouse=True)
def _collector_restored():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_restarts_only_when_the_outermost_pause_ends():
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_error_in_the_batch_still_restarts_the_collector():
    gc.enable()

    @collector_paused()
    def failing_batch():
        assert not gc.isenabled()
        raise ValueError("bad row")

    with pytest.raises(ValueError):
        failing_batch()
    assert gc.isenabled()

"""Python's cyclic garbage collector held off while a batch service posts hundreds of rows.

Posting a review queue or a lockbox file builds and drops tens of thousands of short-lived objects (model rows,
line specs, SQL parameters) per batch. Reference counting frees them; but each 2,000 allocations start a
collection, and every few of those walk the older generations, which in a long-running worker hold everything
the process keeps (tens of thousands of rows in a big import): about a sixth of a batch's Python time, measured
on the billing posting benchmark, for cycles a batch does not make. The pause is bounded by the batch; when the
last paused batch ends the collector runs as before, and the objects a batch did leave in cycles are collected then.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
_was_enabled = True


@contextmanager
def collector_paused():
    """Hold the cyclic collector off for the block (nestable, and shared by threads: it restarts when the last
    paused block in the process ends, and only if it was running before the first)."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()

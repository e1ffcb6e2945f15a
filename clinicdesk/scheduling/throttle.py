"""Limits on the public pages of the schedule (online booking, calendar feeds), counted in Django's cache.

allauth's `allauth.core.ratelimit` is tied to allauth's own settings and marked for removal from its
public API, so the public booking pages count with this small fixed-window limiter instead. The cache
is per process with the default LocMemCache and shared across machines with Redis (REDIS_URL).

Rates are "<count>/<period>" with the period in s, m, h or d (e.g. "10/h"); the defaults below can be
changed with the ONLINE_BOOKING_RATE_LIMITS setting (a dict of the same names).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

DEFAULT_RATES = {
    # A booking request sent from one client address, and for one e-mail address (every one sends an e-mail).
    "request_ip": "10/h",
    "request_email": "5/h",
    # Opening or confirming verification links from one address (the tokens cannot be guessed; this stops trying).
    "verify_ip": "60/h",
    # The public page and its JSON of free times, from one address (each runs a slot search).
    "times_ip": "120/m",
    # Calendar feed fetches from one address (calendar apps poll every few minutes at most).
    "feed_ip": "120/h",
}
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Throttled(Exception):
    """Over a limit: `retry_after` seconds until the window ends."""

    def __init__(self, *, limit: str, retry_after: int):
        super().__init__(f"Too many attempts ({limit}); try again in {retry_after} s.")
        self.limit = limit
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        count, _, period = text.partition("/")
        unit = period[-1:]
        amount = int(period[:-1] or 1)
        return cls(count=int(count), seconds=amount * _PERIODS[unit])


def rate_for(limit: str) -> Rate:
    overrides = getattr(settings, "ONLINE_BOOKING_RATE_LIMITS", None) or {}
    text = overrides.get(limit) or DEFAULT_RATES[limit]
    try:
        return Rate.parse(text)
    except (ValueError, KeyError):
        # A mistyped setting keeps the default limit rather than turning every public page into an error.
        logger.error("Ignoring the unreadable rate %r for %s; using %s", text, limit, DEFAULT_RATES[limit])
        return Rate.parse(DEFAULT_RATES[limit])


def hit(limit: str, key: str | None) -> None:
    """Count one attempt against `limit` for `key` (an address, an e-mail); raise Throttled when over it.

    A missing key (no client address) is counted under one shared key rather than not at all.
    """
    rate = rate_for(limit)
    now = time.time()
    window = int(now // rate.seconds)
    # The key is hashed: e-mail addresses never appear in the cache's keys.
    digest = hashlib.sha256((key or "-").strip().lower().encode()).hexdigest()[:32]
    cache_key = f"throttle:{limit}:{digest}:{window}"
    cache.add(cache_key, 0, timeout=rate.seconds + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=rate.seconds + 1)
        count = 1
    if count > rate.count:
        retry_after = max(1, int((window + 1) * rate.seconds - now))
        raise Throttled(limit=limit, retry_after=retry_after)

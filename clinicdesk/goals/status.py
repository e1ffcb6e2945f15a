"""On track, at risk or off track: the current value against the straight line from the baseline (at the start of
the period) to the target (at its end).

    expected(d) = baseline + (target − baseline) × elapsed(d),  elapsed = days gone ÷ days in the period (0…1)

A value at or beyond the expected one (on the good side, given the direction) is on track; one that has reached
the target is on track whatever the date. A value short of the expected one by no more than a tenth of the whole
distance |target − baseline| is at risk; further short is off track. No value: no data.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .choices import Direction, KeyResultStatus

TOLERANCE = Decimal("0.10")


def elapsed(*, start: date, end: date, on: date) -> Decimal:
    """The share of the period gone by the end of `on` (the last day counts whole)."""
    if on < start:
        return Decimal(0)
    if on >= end:
        return Decimal(1)
    return Decimal((on - start).days + 1) / Decimal((end - start).days + 1)


def expected_value(*, baseline: Decimal, target: Decimal, start: date, end: date, on: date) -> Decimal:
    share = elapsed(start=start, end=end, on=on)
    return (baseline + (target - baseline) * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def key_result_status(*, value: Decimal | None, baseline: Decimal, target: Decimal, direction: str, start: date,
                      end: date, on: date) -> str:
    if value is None:
        return KeyResultStatus.NO_DATA
    sign = 1 if direction == Direction.AT_LEAST else -1
    if sign * (value - target) >= 0:
        return KeyResultStatus.ON_TRACK
    expected = expected_value(baseline=baseline, target=target, start=start, end=end, on=on)
    shortfall = sign * (expected - value)  # how far on the wrong side of the line
    if shortfall <= 0:
        return KeyResultStatus.ON_TRACK
    if shortfall <= abs(target - baseline) * TOLERANCE:
        return KeyResultStatus.AT_RISK
    return KeyResultStatus.OFF_TRACK

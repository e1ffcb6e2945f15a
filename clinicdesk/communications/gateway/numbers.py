"""The local gateway's test numbers, modelled on Twilio's test credentials (+1 500 555 0xxx).

| To                     | what happens                                                                    |
| ---------------------- | ------------------------------------------------------------------------------- |
| +15005550001           | refused, 400, error 21211 (invalid 'To' number)                                 |
| +15005550002           | refused, 400, error 21612 (cannot route to this number)                         |
| +15005550003           | refused, 400, error 21408 (sending to this region is not enabled)               |
| +15005550004           | refused, 400, error 21610 (the number replied STOP)                             |
| +15005550009           | refused, 400, error 21614 (not a mobile number)                                 |
| +15005550100 … 0199    | 503 Service Unavailable, nothing stored (a gateway that is down: retry)         |
| +15005550200 … 0299    | stored, then the answer is held SMS_GATEWAY_STALL_SECONDS (a hang mid-send)     |
| +15005550300 … 0399    | taken, then the delivery receipt says undelivered (error 30003, unreachable)    |
| any other E.164 number | taken (201, status queued), then the receipt says delivered                     |
"""

from __future__ import annotations

import re

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

PERMANENT = {
    "+15005550001": (21211, "The 'To' number is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient."),
    "+15005550009": (21614, "'To' number is not a valid mobile number."),
}
UNDELIVERABLE_ERROR = (30003, "Unreachable destination handset.")
# The numbers `undeliverable` names, as a SQL LIKE pattern (the gateway writes receipts with one UPDATE).
UNDELIVERABLE_LIKE = "+150055503__"


def _in_block(number: str, block: int) -> bool:
    return number.startswith("+1500555") and len(number) == 12 and number[8:10] == f"0{block}"


def is_down(number: str) -> bool:
    return _in_block(number, 1)


def stalls(number: str) -> bool:
    return _in_block(number, 2)


def undeliverable(number: str) -> bool:
    return _in_block(number, 3)

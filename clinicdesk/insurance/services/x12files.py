"""Control numbers and the record of X12 files, shared by the eligibility and claim-batch services."""

from __future__ import annotations

import hashlib

from clinicdesk.insurance.models import ControlNumber, X12Exchange


def control_numbers_take(*, organization) -> tuple[int, int]:
    """The next interchange (ISA13) and group (GS06) control numbers, under a row lock (call inside atomic)."""
    ControlNumber.objects.get_or_create(organization=organization)
    row = ControlNumber.objects.select_for_update().get(organization=organization)
    interchange, group = row.next_interchange, row.next_group
    row.next_interchange = interchange + 1 if interchange < 999_999_999 else 1
    row.next_group = group + 1 if group < 999_999_999 else 1
    row.save(update_fields=["next_interchange", "next_group"])
    return interchange, group


def x12_exchange_keep(*, organization, transaction: str, direction: str, content: str, clearinghouse=None,
                      batch=None, file_name: str = "", summary: str = "", errors=None) -> X12Exchange:
    return X12Exchange.objects.create(
        organization=organization, transaction=transaction, direction=direction, clearinghouse=clearinghouse,
        batch=batch, file_name=file_name[:200], sha256=hashlib.sha256(content.encode()).hexdigest(),
        content=content, summary=summary[:300], errors=errors or [],
    )

"""The clearinghouse interface: files out, files back, all of them X12 text.

`send_270(content)` answers an eligibility inquiry with a 271; `submit_837(content)` takes a batch of claims and
answers with the 999 (was the file well formed) and the 277CA (which claims the payers took); `remittances_for()`
hands over the 835s waiting for the office. The setting CLEARINGHOUSE_ADAPTER names the class (a dotted path); it
is made with the office's Clearinghouse row, whose submitter and receiver ids fill the envelopes.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_ADAPTER = "clinicdesk.insurance.clearinghouse.local.LocalClearinghouse"


class ClearinghouseError(Exception):
    """The clearinghouse could not take or answer a file; the message says why in plain words."""


class ClearinghouseAdapter(Protocol):
    def send_270(self, content: str) -> str: ...

    def submit_837(self, content: str) -> tuple[str, str]: ...

    def remittances_for(self, *, payer_id: str | None = None) -> list[str]: ...


def clearinghouse_adapter(clearinghouse) -> ClearinghouseAdapter:
    """The adapter of the setting CLEARINGHOUSE_ADAPTER for this Clearinghouse row."""
    path = getattr(settings, "CLEARINGHOUSE_ADAPTER", "") or DEFAULT_ADAPTER
    return import_string(path)(clearinghouse)

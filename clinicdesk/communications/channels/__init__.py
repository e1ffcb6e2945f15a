"""The ways a message leaves the practice: e-mail through Django's mail backends, text messages through an
SMS provider's HTTP API. Each channel answers with a receipt or raises a temporary or permanent failure."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderReceipt:
    """What the provider said when it took the message: its own id for it, and its status word."""

    provider_message_id: str
    status: str


class DeliveryFailure(Exception):
    """The provider did not take the message; `reason` is shown on the message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:300]


class TemporaryFailure(DeliveryFailure):
    """Worth trying again later: the network, a timeout, rate limiting (429), the provider's 5xx."""


class PermanentFailure(DeliveryFailure):
    """Trying again will not help: an invalid number, a refused sender, any other 4xx."""

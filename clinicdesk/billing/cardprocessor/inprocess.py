"""The local processor reached inside this process, without a web server: a WSGI app over Django's own handler
that leaves the caller's database connection open (the demo seeds through it; the tests run inside their
transaction through it)."""

from __future__ import annotations

import httpx
from django.conf import settings
from django.test.client import ClientHandler

from ..cards import StripeProcessor


class InProcessWsgi:
    """A WSGI app over Django's request handler that does not close the database connection after a request."""

    def __init__(self) -> None:
        self.handler = ClientHandler(enforce_csrf_checks=True)

    def __call__(self, environ, start_response):
        response = self.handler(environ)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [b"".join(response.streaming_content) if response.streaming else response.content]


def in_process_client(base_url: str) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=InProcessWsgi()), base_url=base_url)


def in_process_processor(client: httpx.Client, base_url: str) -> StripeProcessor:
    """The adapter talking to the local processor under `base_url` through `client`."""
    return StripeProcessor(base_url=f"{base_url}/card-processor", secret_key=settings.CARD_PROCESSOR_SECRET_KEY,
                           client=client)

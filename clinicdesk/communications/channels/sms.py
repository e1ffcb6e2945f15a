"""Text messages through a hosted SMS provider's HTTP API.

The one adapter speaks Twilio's Programmable Messaging REST API (2010-04-01): POST
{base}/2010-04-01/Accounts/{AccountSid}/Messages.json with the form fields To, From, Body and
StatusCallback, HTTP Basic auth AccountSid:AuthToken, a JSON reply with sid and status. The local
gateway (clinicdesk.communications.gateway) serves the same API, so one adapter covers both.

Exactly once: every send carries an `Idempotency-Key` header (the message's own key). The local gateway
honours it (same key, same sid, never a second text). Twilio's public API documents no such header for
creating messages, so against the hosted API the guarantee is at most one send per lease: a message is
sent again only after its worker's lease ran out without an answer (the worker died mid-call), and
`lookup_sent` lets an operator find a text Twilio took for a number before sending it again by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import select
import threading
import urllib.request
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings

from . import PermanentFailure, ProviderReceipt, TemporaryFailure

SIGNATURE_HEADER = "X-Twilio-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class SmsProvider(Protocol):
    """Anything that can hand one text message to a carrier network."""

    name: str

    def send(self, *, to: str, from_: str, body: str, idempotency_key: str, status_callback: str) -> ProviderReceipt:
        """Send one text; raises TemporaryFailure (retry) or PermanentFailure (give up with the reason)."""
        ...


def twilio_signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(auth token, full URL + each POST name+value, sorted by name))."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(url: str, params: dict[str, str], auth_token: str, signature: str) -> bool:
    """True when `signature` is Twilio's signature of this request under `auth_token` (compared in constant time)."""
    if not auth_token or not signature:
        return False
    return hmac.compare_digest(twilio_signature(url, params, auth_token), signature)


# One connection pool per process and thread: a worker sending thousands of texts reuses its connections.
_clients = threading.local()


@dataclass(frozen=True)
class FormResponse:
    """The provider's answer to a form post: what `TwilioProvider` reads of an httpx response."""

    status_code: int
    reason_phrase: str
    content: bytes

    def json(self):
        return json.loads(self.content)


class KeepAliveClient:
    """Form posts over HTTP/1.1 keep-alive with the standard library's client, one connection per host (a client
    belongs to one thread). A worker posts thousands of texts a minute and httpx costs about three times the CPU
    per request. Errors are httpx's, so callers handle both clients alike.

    A kept-alive connection the server has closed is noticed before it is used (it reads as closed) and opened
    again. One the server closes just as the request goes out fails before any answer (reset, or closed with no
    status line): such a request is posted once more on a new connection, as HTTP clients do with idle pooled
    connections; a server closes an idle connection only between requests, and the Idempotency-Key makes the
    repeat harmless where it is honoured. Any other failure is not repeated: the caller retries later with the
    same key."""

    _STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.is_closed = False
        self._connections: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def post(self, url: str, *, data: dict[str, str], auth: tuple[str, str], headers: dict[str, str]) -> FormResponse:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {credentials}",
                   **headers}
        path, body = parts.path + (f"?{parts.query}" if parts.query else ""), urlencode(data)
        for attempt in (1, 2):
            connection, reused = self._connection(*key)
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
            except TimeoutError as exc:
                self._drop(*key)
                raise httpx.ReadTimeout(str(exc) or "timed out") from None
            except self._STALE as exc:
                self._drop(*key)
                if reused and attempt == 1:
                    continue
                raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
            except (http.client.HTTPException, OSError) as exc:
                self._drop(*key)
                raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
            if response.will_close:
                self._drop(*key)
            return FormResponse(status_code=response.status, reason_phrase=response.reason, content=content)
        raise httpx.ConnectError("The connection was closed.")  # not reached: the second attempt returns or raises

    def _connection(self, scheme: str, netloc: str) -> tuple[http.client.HTTPConnection, bool]:
        """The kept-alive connection to the host and True, or a new one and False."""
        connection = self._connections.get((scheme, netloc))
        if connection is not None and connection.sock is not None and select.select([connection.sock], [], [], 0)[0]:
            # Readable while idle: the server closed it (its keep-alive ran out). Open a new one.
            self._drop(scheme, netloc)
            connection = None
        if connection is not None:
            return connection, True
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = self._connections[(scheme, netloc)] = kind(netloc, timeout=self.timeout)
        return connection, False

    def _drop(self, scheme: str, netloc: str) -> None:
        connection = self._connections.pop((scheme, netloc), None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self._connections):
            self._drop(*key)
        self.is_closed = True


def _client(timeout: float) -> httpx.Client | KeepAliveClient:
    client = getattr(_clients, "client", None)
    if client is None or client.is_closed:
        if urllib.request.getproxies():
            # Only httpx goes through the proxy the environment names.
            client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        else:
            client = KeepAliveClient(timeout)
        _clients.client = client
    return client


class TwilioProvider:
    """Twilio's Programmable Messaging API (or the local gateway that speaks it)."""

    name = "twilio"

    def __init__(self, *, base_url: str, account_sid: str, auth_token: str, timeout: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.timeout = timeout
        self._own_client = client

    @property
    def client(self) -> httpx.Client | KeepAliveClient:
        return self._own_client or _client(self.timeout)

    def messages_url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def send(self, *, to: str, from_: str, body: str, idempotency_key: str, status_callback: str) -> ProviderReceipt:
        if not self.account_sid or not self.auth_token:
            raise PermanentFailure("The SMS provider is not configured (SMS_ACCOUNT_SID, SMS_AUTH_TOKEN).")
        data = {"To": to, "From": from_, "Body": body}
        if status_callback:
            data["StatusCallback"] = status_callback
        try:
            response = self.client.post(
                self.messages_url(), data=data, auth=(self.account_sid, self.auth_token),
                headers={IDEMPOTENCY_HEADER: idempotency_key, "Accept": "application/json"},
            )
        except httpx.TimeoutException:
            raise TemporaryFailure("The SMS provider did not answer in time.") from None
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"The SMS provider could not be reached ({type(exc).__name__}).") from None
        return self._receipt(response)

    def lookup_sent(self, *, to: str) -> list[dict]:
        """Texts the provider holds for `to` (newest first): the check before re-sending by hand under at-most-once."""
        client = self.client
        if not isinstance(client, httpx.Client):  # the lean client only posts texts
            with httpx.Client(timeout=self.timeout) as own:
                return self._listed(own, to)
        return self._listed(client, to)

    def _listed(self, client: httpx.Client, to: str) -> list[dict]:
        response = client.get(self.messages_url(), params={"To": to}, auth=(self.account_sid, self.auth_token))
        response.raise_for_status()
        return response.json().get("messages", [])

    @staticmethod
    def _receipt(response: httpx.Response | FormResponse) -> ProviderReceipt:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code in (200, 201):
            sid = str(payload.get("sid") or "")
            if not sid:
                raise TemporaryFailure("The SMS provider answered without a message id.")
            if payload.get("error_code"):
                raise PermanentFailure(_error_text(payload.get("error_code"), payload.get("error_message")))
            return ProviderReceipt(provider_message_id=sid, status=str(payload.get("status") or "queued"))
        text = _error_text(payload.get("code"), payload.get("message") or response.reason_phrase)
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryFailure(f"The SMS provider is busy or down (HTTP {response.status_code}): {text}")
        raise PermanentFailure(f"The SMS provider refused the message (HTTP {response.status_code}): {text}")


def _error_text(code, message) -> str:
    return f"{message or 'no reason given'}" + (f" (error {code})" if code else "")


def sms_provider() -> SmsProvider:
    """The configured provider (settings.SMS_PROVIDER)."""
    if settings.SMS_PROVIDER != "twilio":
        raise PermanentFailure(f"Unknown SMS provider '{settings.SMS_PROVIDER}'.")
    return TwilioProvider(base_url=settings.SMS_API_BASE_URL, account_sid=settings.SMS_ACCOUNT_SID,
                          auth_token=settings.SMS_AUTH_TOKEN, timeout=settings.SMS_TIMEOUT_SECONDS)

"""The SMS adapter (Twilio's API) against the local gateway, its signature, and the e-mail channel's failures."""

import base64
import http.server
import json
import smtplib
import socketserver
import threading
from urllib.parse import parse_qsl

import httpx
import pytest
from django.core.mail.backends.base import BaseEmailBackend

from ..channels import PermanentFailure, TemporaryFailure
from ..channels.email import email_send
from ..channels.sms import TwilioProvider, signature_valid, twilio_signature
from . import factories_delivery
from .factories_delivery import TEST_BASE

local_gateway = factories_delivery.local_gateway  # the fixture, shared by the delivery tests

pytestmark = pytest.mark.django_db


def test_the_signature_matches_twilios_published_example():
    # The example of Twilio's "Validating requests" page.
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert signature_valid(url, params, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signature_valid(url, {**params, "Digits": "1235"}, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signature_valid(url, params, "", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def _provider(settings, **overrides):
    return TwilioProvider(base_url=settings.SMS_API_BASE_URL, account_sid=overrides.get("sid", settings.SMS_ACCOUNT_SID),
                          auth_token=overrides.get("token", settings.SMS_AUTH_TOKEN))


def test_the_adapter_sends_and_gets_the_providers_id(settings, local_gateway):
    receipt = _provider(settings).send(to="+12025550100", from_="+15005550006", body="Hello", idempotency_key="k-1",
                                       status_callback=f"{TEST_BASE}/webhooks/sms/status/")
    assert receipt.provider_message_id.startswith("SM") and len(receipt.provider_message_id) == 34
    assert receipt.status == "queued"
    looked_up = _provider(settings).lookup_sent(to="+12025550100")
    assert [m["sid"] for m in looked_up] == [receipt.provider_message_id]


@pytest.mark.parametrize(("to", "code"), [("+15005550001", "21211"), ("+15005550004", "21610"), ("555-0100", "21211")])
def test_refused_numbers_are_permanent_failures(settings, local_gateway, to, code):
    with pytest.raises(PermanentFailure, match=code):
        _provider(settings).send(to=to, from_="+15005550006", body="Hello", idempotency_key=f"k-{to}", status_callback="")


def test_wrong_credentials_are_a_permanent_failure(settings, local_gateway):
    with pytest.raises(PermanentFailure, match="HTTP 403"):
        _provider(settings, token="wrong").send(to="+12025550100", from_="+15005550006", body="Hi",
                                                idempotency_key="k-2", status_callback="")


def test_a_down_or_unreachable_provider_is_a_temporary_failure(settings, local_gateway):
    with pytest.raises(TemporaryFailure, match="HTTP 503"):
        _provider(settings).send(to="+15005550150", from_="+15005550006", body="Hi", idempotency_key="k-3",
                                 status_callback="")
    # Nothing listens on port 9 of this machine: the connection is refused.
    unreachable = TwilioProvider(base_url="http://127.0.0.1:9", account_sid="AC1", auth_token="t", timeout=2,
                                 client=httpx.Client(timeout=2))
    with pytest.raises(TemporaryFailure, match="could not be reached"):
        unreachable.send(to="+12025550100", from_="+15005550006", body="Hi", idempotency_key="k-4", status_callback="")


class RefusingBackend(BaseEmailBackend):
    """A mail backend whose server refuses the recipient (550), as an SMTP server does."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"nobody@example.com": (550, b"5.1.1 No such user")})


class DownBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


def test_mail_server_answers_map_to_permanent_and_temporary(settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingBackend"}}
    with pytest.raises(PermanentFailure, match="550 5.1.1 No such user"):
        email_send(to="nobody@example.com", subject="s", body="b", html_body="", idempotency_key="e-1")
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.DownBackend"}}
    with pytest.raises(TemporaryFailure, match="could not be reached"):
        email_send(to="nobody@example.com", subject="s", body="b", html_body="", idempotency_key="e-2")


class _ProviderStub(http.server.BaseHTTPRequestHandler):
    """Answers every post like the provider, closing the connection after the second request it serves on it
    (as a server whose keep-alive ran out), and records what it received."""

    protocol_version = "HTTP/1.1"
    received: list[dict] = []

    def do_POST(self):  # noqa: N802  (the standard library's name)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.received.append({"path": self.path, "form": dict(parse_qsl(body)), "key": self.headers["Idempotency-Key"],
                              "auth": self.headers["Authorization"], "connection": self.client_address[1]})
        answer = json.dumps({"sid": f"SM{len(self.received):032d}", "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        if sum(r["connection"] == self.client_address[1] for r in self.received) >= 2:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def provider_stub():
    _ProviderStub.received = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ProviderStub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_default_client_posts_the_form_over_kept_alive_connections(provider_stub, monkeypatch):
    # given: no client set for this thread, no proxy in the environment
    from ..channels import sms

    monkeypatch.setattr(sms._clients, "client", None, raising=False)
    monkeypatch.setattr(sms.urllib.request, "getproxies", dict)
    provider = TwilioProvider(base_url=provider_stub, account_sid="AC1", auth_token="secret", timeout=5)
    # the closed connection is not seen before use (the server closes it as the third request goes out)
    monkeypatch.setattr(sms.select, "select", lambda *args: ([], [], []))
    # when: three texts, the server closing the connection after two
    sids = [provider.send(to="+12025550100", from_="+15005550006", body=f"Hello {n}", idempotency_key=f"k-{n}",
                          status_callback="https://example.org/webhooks/sms/status/?m=abc").provider_message_id
            for n in range(3)]
    # then: each was posted once, as the provider's API expects, the third again on a new connection
    assert isinstance(sms._clients.client, sms.KeepAliveClient)
    assert sids == [f"SM{n:032d}" for n in (1, 2, 3)]
    first = _ProviderStub.received[0]
    assert first["path"] == "/2010-04-01/Accounts/AC1/Messages.json" and first["key"] == "k-0"
    assert first["form"] == {"To": "+12025550100", "From": "+15005550006", "Body": "Hello 0",
                             "StatusCallback": "https://example.org/webhooks/sms/status/?m=abc"}
    assert first["auth"] == "Basic " + base64.b64encode(b"AC1:secret").decode()
    connections = [r["connection"] for r in _ProviderStub.received]
    assert connections[0] == connections[1] != connections[2]
    sms._clients.client.close()


def test_the_default_client_reports_an_unreachable_provider_as_temporary(monkeypatch):
    from ..channels import sms

    monkeypatch.setattr(sms._clients, "client", None, raising=False)
    monkeypatch.setattr(sms.urllib.request, "getproxies", dict)
    unreachable = TwilioProvider(base_url="http://127.0.0.1:9", account_sid="AC1", auth_token="t", timeout=2)
    with pytest.raises(TemporaryFailure, match="could not be reached"):
        unreachable.send(to="+12025550100", from_="+15005550006", body="Hi", idempotency_key="k-5", status_callback="")


def test_a_proxy_in_the_environment_keeps_httpx(monkeypatch):
    from ..channels import sms

    monkeypatch.setattr(sms._clients, "client", None, raising=False)
    monkeypatch.setattr(sms.urllib.request, "getproxies", lambda: {"https": "http://proxy.example.org:3128"})
    assert isinstance(sms._client(5.0), httpx.Client)
    sms._clients.client.close()

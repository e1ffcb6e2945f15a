"""Request-wide rules: the caller's address for throttling and the audit trail, NUL bytes in URLs,
and deny-by-default for views that declare nothing."""

import pytest
from django.test import RequestFactory

from clinicdesk.core.middleware import DenyByDefaultMiddleware, client_ip, is_self_guarded
from clinicdesk.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.5"


def test_behind_one_proxy_the_address_the_proxy_saw_is_used(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    # the client wrote 6.6.6.6 itself; the proxy appended the address it really came from
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "203.0.113.9"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "999.1.1.1", "1.2.3.4, <script>"])
def test_a_malformed_forwarded_for_falls_back_to_the_peer(settings, forwarded):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == "10.0.0.1"


def test_audit_rows_get_the_real_address(settings, client, front_desk):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    client.post("/accounts/login/", {"login": front_desk.username, "password": "wrong-password"},
                REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert AuditEvent.objects.get(action="auth.login_failed").ip_address == "203.0.113.9"


@pytest.mark.parametrize("url", ["/?q=%00", "/patients/?q=a%00b", "/practice/audit/?user=%00"])
def test_nul_in_the_url_is_a_400(client_as, administrator, url):
    assert client_as(administrator).get(url).status_code == 400


def test_an_undeclared_view_is_refused(rf, front_desk):
    def undeclared(request):
        raise AssertionError("must not run")

    request = rf.get("/x")
    request.user = front_desk
    with pytest.raises(Exception, match="declared"):
        DenyByDefaultMiddleware(lambda r: None).process_view(request, undeclared, (), {})


def test_admin_views_count_as_guarding_themselves():
    from django.urls import resolve

    # the admin's own views, and the ones it wraps from elsewhere (contenttypes, a RedirectView)
    for url in ("/admin/", "/admin/r/1/1/", "/admin/auth/group/1/"):
        assert is_self_guarded(resolve(url).func), url
    assert not is_self_guarded(resolve("/practice/users/").func)

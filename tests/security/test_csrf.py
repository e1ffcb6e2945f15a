"""CSRF: every unsafe request without the token is refused, on every page and on the session-authenticated API."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent

from .conftest import World
from .kwargs import build_url
from .urlwalk import UNSAFE_METHODS, all_routes

ROUTES = all_routes()
PAGES = [r for r in ROUTES if not r.api_operations and r.access != "bearer_token"]
# Views that accept only their own bearer tokens (the FHIR API) take no cookies, so they need no CSRF token; a
# signed-in session gets nowhere there.
BEARER_ROUTES = [r for r in ROUTES if r.access == "bearer_token"]
API_UNSAFE = [(r, op, m) for r in ROUTES for op in r.api_operations for m in op.methods if m in UNSAFE_METHODS]


def strict_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("route", PAGES, ids=[r.label for r in PAGES])
def test_every_page_refuses_a_post_without_the_csrf_token(route, world: World):
    admin = world.users[Role.ADMINISTRATOR]
    url = build_url(route, "own", world, admin)
    for user in (admin, None):
        response = strict_client(user).post(url, {"anything": "x"})
        assert response.status_code == 403, f"POST {url} as {user or 'anonymous'} without a CSRF token: {response.status_code}"


@pytest.mark.parametrize("route, op, method", API_UNSAFE, ids=[f"{m} {r.label}" for r, _, m in API_UNSAFE])
def test_session_api_refuses_unsafe_calls_without_the_csrf_token(route, op, method, world: World):
    admin = world.users[Role.ADMINISTRATOR]
    url = build_url(route, "own", world, admin)
    response = strict_client(admin).generic(method, url, data="{}", content_type="application/json")
    assert response.status_code == 403, f"{method} {url}: {response.status_code}"
    assert "CSRF" in response.json()["detail"]


@pytest.mark.parametrize("route", BEARER_ROUTES, ids=[r.label for r in BEARER_ROUTES])
def test_bearer_token_views_refuse_a_session(route, world: World):
    admin = world.users[Role.ADMINISTRATOR]
    url = build_url(route, "own", world, admin)
    for method in ("GET", *UNSAFE_METHODS):
        response = strict_client(admin).generic(method, url, data="{}", content_type="application/json")
        assert response.status_code == 401, f"{method} {url} with a session: {response.status_code}"


def test_the_api_has_unsafe_operations_to_check():
    assert API_UNSAFE, "no unsafe API operation found: the CSRF test of the API would prove nothing"


@pytest.mark.parametrize("route, op, method", API_UNSAFE, ids=[f"{m} {r.label}" for r, _, m in API_UNSAFE])
def test_api_tokens_need_no_csrf_token(route, op, method, world: World):
    """A Bearer token is not sent by the browser on its own, so it is not a CSRF risk and needs no token."""
    admin = world.users[Role.ADMINISTRATOR]
    url = build_url(route, "own", world, admin)
    response = strict_client().generic(
        method, url, data="{}", content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.tokens[Role.ADMINISTRATOR]}",
    )
    assert not (response.status_code == 403 and "CSRF" in response.content.decode()), f"{method} {url}"


def test_a_post_with_the_token_goes_through(world: World):
    """The refusals above are the CSRF check's doing: the same form with its token is accepted."""
    admin = world.users[Role.ADMINISTRATOR]
    client = strict_client(admin)
    page = client.get(reverse("core:organization_settings"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(reverse("core:organization_settings"), {
        "csrfmiddlewaretoken": token, "idle_timeout_minutes": "20", "session_max_hours": "10",
    })
    assert response.status_code == 302
    world.own.org.refresh_from_db()
    assert world.own.org.idle_timeout_minutes == 20


def test_session_api_with_the_token_goes_through(world: World):
    admin = world.users[Role.ADMINISTRATOR]
    client = strict_client(admin)
    page = client.get(reverse("core:api_tokens"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.patch(
        f"/api/v1/patients/{world.own.patient.public_id}", data="{}", content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code != 403


def test_csrf_refusals_are_audited_and_shown_in_the_product_layout(world: World):
    admin = world.users[Role.ADMINISTRATOR]
    response = strict_client(admin).post(reverse("core:user_create"), {})
    assert response.status_code == 403
    assert b'class="brand"' in response.content
    assert AuditEvent.objects.filter(action="access.csrf_rejected", actor=admin).exists()

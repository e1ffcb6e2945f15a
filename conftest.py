"""Fixtures shared by every app's tests, and the browser fixtures: one Chromium for the session (pytest-playwright),
a fresh context per test, the live server from pytest-django, and a quick way in as a given user."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import Page

from clinicdesk.core.choices import Role

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

# Property tests check behaviour, never speed: no per-example deadline (a busy machine would fail them at random).
hypothesis_settings.register_profile("clinicdesk", deadline=None)
hypothesis_settings.load_profile("clinicdesk")

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"
PASSWORD = "correct-horse-battery"  # noqa: S105  (test accounts only)


@pytest.fixture
def org(db):
    from clinicdesk.core.tests.factories import OrganizationFactory

    return OrganizationFactory(name="Riverside Test Practice", slug="riverside-test")


@pytest.fixture
def other_org(db):
    from clinicdesk.core.tests.factories import OrganizationFactory

    return OrganizationFactory(name="Elsewhere Clinic", slug="elsewhere")


@pytest.fixture
def make_user(db, org):
    from clinicdesk.core.tests.factories import UserFactory

    def make(role: str = Role.FRONT_DESK, organization=None, **kwargs):
        return UserFactory(role=role, organization=organization or org, **kwargs)

    return make


@pytest.fixture
def front_desk(make_user):
    return make_user(Role.FRONT_DESK, username="frontdesk")


@pytest.fixture
def administrator(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin1")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor1")


@pytest.fixture
def client_as(client):
    """`client_as(user)` signs the test client in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (present in CI and developer checkouts only)")
    return SHARED_DATA


# Browser tests: Debian's Chromium, never a downloaded browser.
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic",
        ],
    }


# Fail in seconds, not the default 30: every page here is served by a local process.
ACTION_TIMEOUT_MS = 5_000


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 860},
        "locale": "en-US",
        "timezone_id": settings.TIME_ZONE,
    }


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.set_default_navigation_timeout(ACTION_TIMEOUT_MS * 2)
    return page


@pytest.fixture
def url(live_server):
    """`url("/path")` on the live server."""
    return lambda path: f"{live_server.url}{path}"


@pytest.fixture
def sign_in(page: Page, live_server):
    """`sign_in(user)`: the browser carries a signed-in session for user (the sign-in form has its own tests)."""

    def sign_in_as(user) -> Page:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
        return page

    return sign_in_as


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: allauth's sign-in throttling and used-TOTP-code marks live there."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _urls_loaded_before_any_frozen_clock():
    """Import the URLconf (and with it the API's pydantic schemas) once, up front: if a test under freezegun's
    freeze_time were the first to load it, `datetime.date` would be freezegun's fake and the schemas would fail."""
    import config.urls  # noqa: F401

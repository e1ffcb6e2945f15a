"""Browser fixtures: one Chromium for the session (pytest-playwright), a fresh context per test, the
live server from pytest-django, and a quick way in as a given user without typing the password."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page

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

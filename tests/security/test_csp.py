"""The Content-Security-Policy (Django's ContentSecurityPolicyMiddleware with settings.SECURE_CSP) is on
every page and forbids inline script; the pages themselves need no inline script or style to work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from clinicdesk.core.choices import Role

from .conftest import World
from .kwargs import build_url
from .test_xss import scan
from .urlwalk import all_routes

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "clinicdesk"]
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_strict(directives: dict[str, list[str]]) -> None:
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts, "no script-src or default-src"
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        assert unsafe not in scripts, f"script-src allows {unsafe}"
    assert "'unsafe-inline'" not in directives.get("style-src", directives.get("default-src", []))
    assert directives.get("object-src") == ["'none'"]
    assert directives.get("frame-ancestors") == ["'none'"]
    assert directives.get("base-uri") == ["'self'"]
    assert directives.get("default-src") == ["'self'"]


def test_pages_carry_a_strict_policy(client, client_as, front_desk):
    responses = [
        client.get(reverse("account_login")),
        client.get("/no-such-page/"),
        client_as(front_desk).get(reverse("home")),
        client_as(front_desk).get(reverse("core:audit_log")),  # a 403
        client_as(front_desk).get("/api/v1/me"),
    ]
    for response in responses:
        assert_strict(policy(response))
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


def test_no_template_has_inline_script_style_or_handlers():
    problems = []
    for base in TEMPLATE_DIRS:
        for path in base.rglob("*.html"):
            text = path.read_text()
            for label, pattern in (("inline <script>", INLINE_SCRIPT), ("inline style", INLINE_STYLE),
                                   ("inline event handler", INLINE_HANDLER)):
                if pattern.search(text):
                    problems.append(f"{path.relative_to(ROOT)}: {label}")
    assert not problems, "the CSP would block these:\n  " + "\n  ".join(problems)


PAGES = [r for r in all_routes() if not r.api_operations and not r.is_admin]


@pytest.mark.parametrize("route", PAGES, ids=[r.label for r in PAGES])
def test_rendered_pages_need_no_inline_script_or_style(route, world: World):
    """Including allauth's pages (sign-in, two-factor, recovery codes) as our templates override them."""
    admin = world.users[Role.ADMINISTRATOR]
    url = build_url(route, "own", world, admin)
    signed_in = Client()
    signed_in.force_login(admin)
    for client in (Client(), signed_in):
        response = client.get(url)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        html = response.content.decode()
        assert_strict(policy(response))
        problems = [p for p in scan(html) if "inline <script>" in p or "event handler" in p]
        if INLINE_STYLE.search(html):
            problems.append("inline style")
        assert not problems, f"{url}: {problems}"


def test_two_factor_pages_need_no_inline_script_or_style(db, front_desk):
    """The two-factor pages only render for a user in the right state, so they are walked through here."""
    from clinicdesk.core.tests.mfa import totp_code

    def check(response):
        assert response.status_code == 200, response.request["PATH_INFO"]
        html = response.content.decode()
        assert_strict(policy(response))
        problems = [p for p in scan(html) if "inline <script>" in p or "event handler" in p]
        assert not problems and not INLINE_STYLE.search(html), (response.request["PATH_INFO"], problems)

    client = Client()
    client.post(reverse("account_login"), {"login": front_desk.username, "password": "correct-horse-battery"})
    check(client.get(reverse("account_reauthenticate")))
    client.post(reverse("account_reauthenticate"), {"password": "correct-horse-battery"})
    page = client.get(reverse("mfa_activate_totp"))
    check(page)
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(page.context["form"].secret)})
    for name in ("mfa_index", "mfa_view_recovery_codes", "mfa_generate_recovery_codes", "mfa_deactivate_totp",
                 "usersessions_list", "account_change_password", "account_logout"):
        check(client.get(reverse(name)))
    stage = Client()
    stage.post(reverse("account_login"), {"login": front_desk.username, "password": "correct-horse-battery"})
    check(stage.get(reverse("mfa_authenticate")))

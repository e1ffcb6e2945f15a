"""The permission matrix: every URL pattern and API operation, for anonymous and every role, against
records of the user's own practice and of another practice.

- anonymous: sent to sign in (pages) or 401 (API); never anything else but public pages;
- a role without the permission: 403 (405 where the method is refused first);
- a role with the permission: never 403, and its own records are found (no 404 on a GET);
- another practice's records: 403 or 404 (a body-validation 400/422 on an unsafe call), and no
  response ever carries the other practice's data;
- nothing is ever a 500.

URL kwargs are filled by name from the fixtures; a pattern with a kwarg nobody knows how to fill
fails the test, so a new view cannot slip past the matrix.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinicdesk.core.permissions import role_has

from .conftest import OTHER_MARKER, ROLES, World
from .kwargs import OBJECT_KWARGS, UnfillableKwarg, body_of, build_url, sides
from .urlwalk import UNSAFE_METHODS, Route, all_routes

ROUTES = all_routes()
ANONYMOUS = None


def request(world: World, principal, method: str, url: str, *, api: bool, token: str | None = None):
    client = world.client_as(None if token else principal)
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(url, **extra)
    if api:
        return client.generic(method, url, data="{}", content_type="application/json", **extra)
    return client.generic(method, url, data="", content_type="application/x-www-form-urlencoded", **extra)


def kind_of(route: Route) -> str:
    if route.api_operations:
        return "api"
    access = route.access
    if access == "public":
        return "public"
    if access == "signed_in":
        return "signed_in"
    if access == "bearer_token":
        return "bearer_token"
    if isinstance(access, tuple) and access and access[0] == "requires":
        return "requires"
    if route.is_admin:
        return "admin"
    if route.is_account:
        return "account"
    if route.self_guarded:
        return "self"
    return "undeclared"


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def judge(route: Route, kind: str, codes, principal, role, side, method, response) -> str | None:
    """What is wrong with this response, or None."""
    status = response.status_code
    if status >= 500:
        exc = getattr(response, "exc_info", None)
        return f"server error {status}" + (f": {exc[1]!r}" if exc else "")
    body = body_of(response)
    if OTHER_MARKER in body:
        return f"{status} shows another practice's data"
    unsafe = method in UNSAFE_METHODS
    if kind == "undeclared":
        return "the view declares no access rule (see core.access)"
    if kind == "bearer_token":
        # Only a bearer token of its own kind opens these (the FHIR API): a session or nothing is 401.
        return None if status == 401 else f"{'anonymous' if principal is ANONYMOUS else role} without a token got {status}"
    if principal is ANONYMOUS:
        if kind in ("signed_in", "requires"):
            return None if _is_login_redirect(response) or status == 405 else f"anonymous got {status}, not sign-in"
        if kind == "api":
            return None if status == 401 else f"anonymous API call got {status}, not 401"
        if kind == "admin":
            ok = status in (302, 404) or (route.name == "admin:jsi18n" and status == 200)
            return None if ok else f"anonymous got {status} from the admin"
        return None  # public pages, allauth's sign-in pages
    if kind == "admin":
        ok = status in (302, 403, 404) or (route.name == "admin:jsi18n" and status == 200)
        return None if ok else f"{role} (not a superuser) got {status} from the admin"
    if kind not in ("signed_in", "requires", "api"):
        return None
    allowed = all(role_has(role, c) for c in codes)
    if side != "own":
        accepted = (400, 403, 404, 405, 422) if unsafe else (403, 404, 405)
        return None if status in accepted else f"another practice's record gave {status}"
    if not allowed:
        return None if status in (403, 405) else f"{role} lacks {', '.join(codes)} but got {status}"
    if status in (401, 403):
        return f"{role} has {', '.join(codes) or 'sign-in'} but got {status}"
    if method == "GET" and status == 404 and any(k in OBJECT_KWARGS for k in route.kwarg_names):
        return f"{role} got 404 for their own practice's record (are the kwargs filled right?)"
    return None


def cases(route: Route):
    """(method, codes, api?) to try on this route."""
    kind = kind_of(route)
    if kind == "api":
        for op in route.api_operations:
            for method in op.methods:
                yield method, tuple(op.codes or ()), True
        return
    codes = route.access[1] if kind == "requires" else ()
    yield "GET", tuple(codes), False
    yield "POST", tuple(codes), False


@pytest.mark.parametrize("route", ROUTES, ids=[r.label for r in ROUTES])
def test_matrix(route: Route, world: World):
    problems: list[str] = []
    kind = kind_of(route)
    principals = [(ANONYMOUS, "anonymous")] + [(world.users[r], r) for r in ROLES]
    for side in sides(route):
        for principal, role in principals:
            if principal is ANONYMOUS and side != "own":
                continue
            try:
                url = build_url(route, side, world, principal)
            except UnfillableKwarg as exc:
                pytest.fail(f"{route.label}: no fixture fills URL kwarg '{exc}'. Add it to tests/security "
                            f"kwargs.fill() so this view is checked.")
            for method, codes, api in cases(route):
                response = request(world, principal, method, url, api=api)
                problem = judge(route, kind, codes, principal, role, side, method, response)
                if problem:
                    problems.append(f"{method} {url} as {role} ({side}): {problem}")
                # The same call with a personal API token (scoped to everything the role has).
                if api and principal is not ANONYMOUS and method == "GET":
                    response = request(world, principal, method, url, api=True, token=world.tokens[role])
                    problem = judge(route, kind, codes, principal, role, side, method, response)
                    if problem:
                        problems.append(f"{method} {url} as {role} with a token ({side}): {problem}")
    assert not problems, f"{route.label}:\n  " + "\n  ".join(problems)


def test_the_matrix_covers_the_api_and_the_pages():
    """Guards the walker itself: if it stopped seeing the API or the apps, the matrix would prove nothing."""
    labels = {r.label for r in ROUTES}
    assert {"home", "core:user_list", "core:audit_log", "patients:list", "api:me"} <= labels
    assert any(r.api_operations for r in ROUTES if r.label.startswith("api:"))
    assert any(r.kwarg_names for r in ROUTES if r.label.startswith("patients:"))

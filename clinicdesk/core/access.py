"""Deny by default: a view is reachable only if it declares what it needs with one of these decorators.

`DenyByDefaultMiddleware` refuses every view that carries no declaration, so a forgotten check
fails closed.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

ACCESS_ATTR = "clinicdesk_access"


def public(view: Callable) -> Callable:
    """A view anyone may open (health checks, the sign-in page)."""
    setattr(view, ACCESS_ATTR, "public")
    return view


def requires(*codes: str) -> Callable[[Callable], Callable]:
    """A view that needs a signed-in staff member whose role grants every one of `codes`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not all(user.has_perm_code(code) for code in codes):
                raise PermissionDenied(f"Needs {', '.join(codes)}")
            return view(request, *args, **kwargs)

        setattr(wrapped, ACCESS_ATTR, ("requires", codes))
        return wrapped

    return decorator


def signed_in(view: Callable) -> Callable:
    """A view for any signed-in user of an organization (their own profile, tokens, sign-out)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    setattr(wrapped, ACCESS_ATTR, "signed_in")
    return wrapped


def bearer_token(view: Callable) -> Callable:
    """A view that authenticates every request itself from an `Authorization: Bearer` token and checks the
    token's scopes and the user's role before anything is read (the FHIR API); no session is accepted."""
    setattr(view, ACCESS_ATTR, "bearer_token")
    return view


def view_access(view: Callable) -> object | None:
    """The declaration on a function view, or the `clinicdesk_access` attribute of a class-based view."""
    declared = getattr(view, ACCESS_ATTR, None)
    if declared is None and hasattr(view, "view_class"):
        declared = getattr(view.view_class, ACCESS_ATTR, None)
    return declared

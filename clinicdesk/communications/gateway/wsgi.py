"""A lean path for machine-to-machine calls: the local gateway's API and the SMS delivery receipts.

These requests carry no session, no user and no page: the full middleware stack (sessions, auth, allauth,
CSRF, CSP, auditlog, MFA, messages) costs most of their time and does nothing for them. `split_machine_calls`
wraps the site's WSGI application and sends exactly these paths to a Django handler with only the
security and request-context middleware (the same URLconf, the same views). The views, declared public, and check their own credentials: HTTP Basic auth (the gateway's API),
the provider's request signature (receipts). Everything else goes to the full application.
"""

from __future__ import annotations

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

# The path prefixes that take the lean path; nothing under them is a page a person opens.
PREFIXES = ("/sms-gateway/2010-04-01/", "/webhooks/sms/status/")
MIDDLEWARE = ("django.middleware.security.SecurityMiddleware", "clinicdesk.core.middleware.RequestContextMiddleware")


class MachineCallsHandler(WSGIHandler):
    """Django's WSGI handler with only the two middleware machine calls need."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler


def split_machine_calls(application):
    """`application` for every request but the machine calls under PREFIXES, which take the lean handler."""
    lean = MachineCallsHandler()

    def dispatch(environ, start_response):
        if environ.get("PATH_INFO", "").startswith(PREFIXES):
            return lean(environ, start_response)
        return application(environ, start_response)

    return dispatch

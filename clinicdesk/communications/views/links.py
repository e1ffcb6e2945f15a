"""The one public page behind every link in a message (/m/<token>/).

It finds the live link, throttles guessing, and hands the request to the handler registered for the
link's action (confirm, cancel, reschedule, letter, unsubscribe). Handlers never act on GET, so a mail
scanner or a link preview that opens the link changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from clinicdesk.core.access import public
from clinicdesk.core.middleware import client_ip
from clinicdesk.scheduling import throttle

from ..links import link_find, link_lookup
from ..models import ActionLink

LinkHandler = Callable[[HttpRequest, ActionLink, str], HttpResponse]
LINK_HANDLERS: dict[str, LinkHandler] = {}
# For a link that was used or has expired: a page saying what became of it ("already confirmed"), or None
# for the plain problem page.
SpentLinkHandler = Callable[[HttpRequest, ActionLink], HttpResponse | None]
SPENT_LINK_HANDLERS: dict[str, SpentLinkHandler] = {}


def register_link_handler(action: str, handler: LinkHandler, *, spent: SpentLinkHandler | None = None) -> None:
    """Serve links of `action` with `handler(request, link, token)` (called from an AppConfig.ready);
    `spent(request, link)` answers for the same links once used or expired."""
    LINK_HANDLERS[action] = handler
    if spent is not None:
        SPENT_LINK_HANDLERS[action] = spent


def no_store(response: HttpResponse) -> HttpResponse:
    """Link pages show a patient's own details: never cached, never sent on as a referrer."""
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


def link_problem(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return no_store(render(request, "communications/link_problem.html", {"problem": message}, status=status))


@public
@require_http_methods(["GET", "POST"])
def link_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        throttle.hit("verify_ip", client_ip(request))
    except throttle.Throttled as exc:
        response = link_problem(request, "Too many attempts from this connection. Please try again in a few minutes, "
                                         "or call the office.", status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    try:
        link = link_find(token)
    except ValidationError as exc:
        message = exc.message_dict["token"][0]
        spent = link_lookup(token) if "expired" in message or "used" in message else None
        if spent is not None and spent.action in SPENT_LINK_HANDLERS:
            response = SPENT_LINK_HANDLERS[spent.action](request, spent)
            if response is not None:
                return no_store(response)
        return link_problem(request, f"{message} Please call the office if you need help.",
                            status=410 if "expired" in message or "used" in message else 404)
    handler = LINK_HANDLERS.get(link.action)
    if handler is None:
        return link_problem(request, "This link is not valid. Please call the office if you need help.", status=404)
    return no_store(handler(request, link, token))

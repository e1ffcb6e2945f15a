"""What the technology pages share: today's date (the staff pages' own), and the round trip of a form
through its service."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from clinicdesk.staff.views.pages import today

__all__ = ["form_round_trip", "today"]


def form_round_trip(request: HttpRequest, form, save: Callable, *, template: str, context: dict,
                    done: Callable[[object], tuple[str, str]]) -> HttpResponse:
    """GET shows the form; POST parses it and calls `save(form)` (a service). Bad input or a refused change is
    shown on the form with a 400 and changes nothing; success flashes done(result)'s message and redirects."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                result = save(form)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                message, url = done(result)
                messages.success(request, message)
                return redirect(url)
    return render(request, template, {"form": form, **context}, status=status)

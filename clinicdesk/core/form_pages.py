"""The round trip of a page's form through its service: shown, parsed, saved or shown again with the errors."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


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

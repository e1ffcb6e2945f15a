"""Service tickets: the list (still open by default) with CSV, reporting a problem with an asset, a ticket's page
with its timeline and comments, and moving it through its statuses."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm

from .. import selectors
from ..choices import TICKET_MOVES
from ..forms import CommentForm, TicketEditForm, TicketFilterForm, TicketForm, TicketMoveForm
from ..services.tickets import ticket_comment, ticket_move, ticket_open, ticket_update
from .pages import form_round_trip


def t_url(ticket) -> str:
    return reverse("assets:ticket_detail", args=[ticket.pk])


@require_GET
@requires(Perm.ASSETS_VIEW)
def ticket_list(request: HttpRequest) -> HttpResponse:
    form = TicketFilterForm(request.GET or None)
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    rows = selectors.ticket_search(user=request.user, status="" if status == "all" else status,
                                   active_only=not status)
    if request.GET.get("format") == "csv":
        return csv_response("service-tickets.csv", [
            "number", "asset_tag", "asset", "title", "status", "priority", "vendor", "vendor_reference",
            "reported_by", "assigned_to", "opened_at", "resolved_at", "closed_at"], (
            [t.pk, t.asset.tag, t.asset.name, t.title, t.get_status_display(), t.get_priority_display(),
             t.vendor.name if t.vendor else "", t.vendor_reference,
             t.reported_by.get_full_name() if t.reported_by else "",
             t.assigned_to.get_full_name() if t.assigned_to else "", t.created_at, t.resolved_at, t.closed_at]
            for t in rows.iterator(chunk_size=500)))
    page, query = page_of(request, rows)
    return render(request, "assets/ticket_list.html", {
        "form": form, "page": page, "query": query, "can_manage": request.user.has_perm_code(Perm.ASSETS_MANAGE)})


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSETS_VIEW)
def ticket_create(request: HttpRequest, asset_id: int) -> HttpResponse:
    """Anyone on the staff reports a problem with an asset."""
    asset = selectors.asset_get(user=request.user, asset_id=asset_id)
    form = TicketForm(request.POST or None, organization_id=request.user.organization_id)
    return form_round_trip(
        request, form, lambda f: ticket_open(actor=request.user, asset=asset, data=f.service_data()),
        template="assets/simple_form.html",
        context={"asset": asset, "heading": f"Report a problem with {asset.tag} {asset.name}", "form_id": "ticket-form"},
        done=lambda t: (f"Opened ticket #{t.pk}.", t_url(t)))


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSETS_VIEW)
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket and its timeline; a POST adds a comment."""
    ticket = selectors.ticket_get(user=request.user, ticket_id=ticket_id)
    form = CommentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                ticket_comment(actor=request.user, ticket=ticket, body=form.cleaned_data["body"])
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Comment added.")
                return redirect(t_url(ticket) + "#timeline")
    return _detail(request, ticket, comment_form=form, status=status)


def _detail(request: HttpRequest, ticket, *, comment_form=None, move_form=None, status: int = 200) -> HttpResponse:
    moves = TICKET_MOVES[ticket.status]
    move_form = move_form or TicketMoveForm(initial={"to_status": moves[0] if moves else ""})
    move_form.fields["to_status"].choices = [(m.value, m.label) for m in moves]
    return render(request, "assets/ticket_detail.html", {
        "ticket": ticket, "entries": ticket.entries.select_related("author"),
        "comment_form": comment_form or CommentForm(), "move_form": move_form, "moves": moves,
        "can_manage": request.user.has_perm_code(Perm.ASSETS_MANAGE),
    }, status=status)


@require_POST
@requires(Perm.ASSETS_MANAGE)
def ticket_move_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Move the ticket; a move its status does not allow is refused on the form, naming both statuses."""
    ticket = selectors.ticket_get(user=request.user, ticket_id=ticket_id)
    form = TicketMoveForm(request.POST)
    form.fields["to_status"].choices = [(m.value, m.label) for m in TICKET_MOVES[ticket.status]] or [("", "—")]
    if form.is_valid():
        try:
            moved = ticket_move(actor=request.user, ticket=ticket, to_status=form.cleaned_data["to_status"],
                                note=form.cleaned_data["note"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Ticket #{moved.pk} is now {moved.get_status_display().lower()}.")
            return redirect(t_url(moved))
    return _detail(request, ticket, move_form=form, status=400)


@require_http_methods(["GET", "POST"])
@requires(Perm.ASSETS_MANAGE)
def ticket_edit(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Change who works the ticket, its priority and the vendor's case (its status moves only through Move)."""
    ticket = selectors.ticket_get(user=request.user, ticket_id=ticket_id)
    form = TicketEditForm(request.POST or None, organization_id=request.user.organization_id, instance=ticket)
    return form_round_trip(
        request, form, lambda f: ticket_update(actor=request.user, ticket=ticket, data=f.service_data()),
        template="assets/simple_form.html",
        context={"asset": ticket.asset, "heading": f"Ticket #{ticket.pk} {ticket.title}", "form_id": "ticket-edit-form"},
        done=lambda t: (f"Saved ticket #{t.pk}.", t_url(t)))

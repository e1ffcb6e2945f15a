"""Payer rule pages under /insurance/payer-rules/: the list (filters, CSV), a rule's form with each kind explained,
switching a rule off and on, and trying a rule on a claim before it stops real ones."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..choices import PayerRuleKind
from ..forms_payer_rules import PayerRuleFilterForm, PayerRuleForm, RuleTryForm
from ..models import Payer
from ..selectors import payer_rules as selectors
from ..services import payer_rules as services

CSV_HEADER = ["payer", "payer_id", "kind", "codes", "values", "severity", "message", "active"]
RULE_FIELDS = ("payer", "kind", "codes", "values", "message", "severity")


def _kinds() -> list[dict]:
    return [{"value": k, "label": PayerRuleKind(k).label, "what": what, "values": values}
            for k, (what, values) in services.KIND_HELP.items()]


@require_GET
@requires(Perm.PAYERS_MANAGE)
def payer_rule_list(request: HttpRequest) -> HttpResponse:
    """The practice's payer rules, filtered by payer, kind and state; ?format=csv exports what is shown."""
    payers = Payer.objects.filter(organization_id=request.user.organization_id).order_by("name")
    form = PayerRuleFilterForm(request.GET or None, payers=payers)
    rows = selectors.payer_rule_list(user=request.user, **form.filters())
    if request.GET.get("format") == "csv":
        return csv_response("payer-rules.csv", CSV_HEADER, (
            [r.payer.name if r.payer_id else "Every payer", r.payer.payer_identifier if r.payer_id else "",
             r.get_kind_display(), r.codes, r.values, r.get_severity_display(), r.message,
             "yes" if r.is_active else "no"] for r in rows))
    query = request.GET.copy()
    query["format"] = "csv"  # the filter form's export link keeps the filters
    return render(request, "insurance/payer_rules/list.html", {
        "form": form, "rules": rows, "query": query.urlencode(),
    }, status=400 if form.is_bound and form.errors else 200)


def _edit(request: HttpRequest, rule=None, *, payer=None) -> HttpResponse:
    initial = {name: getattr(rule, name) for name in RULE_FIELDS} if rule else {"payer": payer}
    form = PayerRuleForm(request.POST or None, initial=initial, organization_id=request.user.organization_id)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                rule = services.payer_rule_create(organization=request.user.organization, actor=request.user,
                                                  **form.cleaned_data)
                messages.success(request, "Payer rule added; claims scrubbed from now on are checked against it.")
            else:
                services.payer_rule_update(rule=rule, actor=request.user, **form.cleaned_data)
                messages.success(request, "Payer rule saved.")
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("insurance:payer_rule_edit", payer_rule_id=rule.pk)
    return render(request, "insurance/payer_rules/form.html", {
        "form": form, "rule": rule, "kinds": _kinds(), "try_form": RuleTryForm(user=request.user) if rule else None,
    }, status=400 if form.is_bound and form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.PAYERS_MANAGE)
def payer_rule_create(request: HttpRequest) -> HttpResponse:
    payer_id = request.GET.get("payer", "")
    payer = (Payer.objects.filter(organization_id=request.user.organization_id, pk=payer_id).first()
             if payer_id.isdigit() else None)
    return _edit(request, payer=payer)


@require_http_methods(["GET", "POST"])
@requires(Perm.PAYERS_MANAGE)
def payer_rule_edit(request: HttpRequest, payer_rule_id: int) -> HttpResponse:
    return _edit(request, selectors.payer_rule_get(user=request.user, rule_id=payer_rule_id))


@require_POST
@requires(Perm.PAYERS_MANAGE)
def payer_rule_active(request: HttpRequest, payer_rule_id: int) -> HttpResponse:
    """Switch the rule off (active=no) or back on (active=yes)."""
    rule = selectors.payer_rule_get(user=request.user, rule_id=payer_rule_id)
    active = request.POST.get("active") == "yes"
    try:
        services.payer_rule_set_active(rule=rule, actor=request.user, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Rule switched back on." if active else
                         "Rule switched off; the scrubber skips it until it is switched back on.")
    back = reverse("insurance:payer_rule_edit", kwargs={"payer_rule_id": rule.pk})
    return redirect(back if request.POST.get("next") != "list" else reverse("insurance:payer_rule_list"))


@require_GET
@requires(Perm.PAYERS_MANAGE, Perm.CLAIMS_VIEW)
def payer_rule_try(request: HttpRequest, payer_rule_id: int) -> HttpResponse:
    """Run the rule on one claim (by its number) and show what it finds; nothing is saved, the claim's read is
    audited."""
    rule = selectors.payer_rule_get(user=request.user, rule_id=payer_rule_id)
    try_form = RuleTryForm(request.GET, user=request.user)
    tried = None
    if try_form.is_valid():
        claim = try_form.cleaned_data["claim"]
        applies, findings = services.payer_rule_try(rule=rule, claim=claim)
        audit_event(action="claim.viewed", actor=request.user, target=claim, patient=claim.patient,
                    summary=f"Payer rule tried on claim {claim.claim_number}")
        tried = {"claim": claim, "applies": applies, "findings": findings}
    form = PayerRuleForm(initial={name: getattr(rule, name) for name in RULE_FIELDS},
                         organization_id=request.user.organization_id)
    return render(request, "insurance/payer_rules/form.html", {
        "form": form, "rule": rule, "kinds": _kinds(), "try_form": try_form, "tried": tried,
    }, status=200 if tried else 400)

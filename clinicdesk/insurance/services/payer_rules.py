"""Writes of the payer rules the scrubber applies: create, change, switch off and on. Each kind has its own shape of
`values`, checked here so that the scrubber never meets a rule it cannot read."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from clinicdesk.core.audit import audit_recorded_as
from clinicdesk.core.models import Organization, User
from clinicdesk.patients.services.records import acting_as

from ..choices import PayerRuleKind, ScrubSeverity
from ..models import Claim, Payer, PayerRule
from .scrubber import Finding, payer_rule_findings

# CPT (five digits, or four and a letter for category II/III: 0001F, 0042T) and HCPCS level II (a letter, four digits).
_PROCEDURE_RE = re.compile(r"^(\d{4}[0-9A-Z]|[A-Z]\d{4})$")
_MODIFIER_RE = re.compile(r"^[A-Z0-9]{2}$")
# The start of an ICD-10-CM code: a letter, then up to six more characters with an optional dot after the third.
_DX_PREFIX_RE = re.compile(r"^[A-Z][0-9][0-9A-Z]?(\.[0-9A-Z]{0,4})?$")
_SPLIT_RE = re.compile(r"[,\s;]+")
MAX_CODES_LENGTH = 300

# What each kind does, in the office's words, and what its values are: shown beside the form and on the list.
KIND_HELP: dict[str, tuple[str, str]] = {
    PayerRuleKind.REQUIRE_MODIFIER: (
        "The payer rejects these procedure codes unless the line carries one of the modifiers you list "
        "(for example 25 on an office visit billed with a procedure, or GP on therapy).",
        "Modifiers: two letters or digits each, comma separated (e.g. GP, 59)."),
    PayerRuleKind.FORBID_CODE: (
        "The payer never pays these codes: the claim is stopped so you can bill the patient or choose a covered code.",
        "No values: leave empty."),
    PayerRuleKind.REQUIRE_AUTH: (
        "The payer pays these codes only with a prior authorisation on file that covers the service date and still "
        "has units left. Naming appointment types also warns the front desk when such a visit is booked.",
        "Optional: the appointment types that bill these codes, by name, comma separated (e.g. Physical therapy)."),
    PayerRuleKind.MAX_UNITS: (
        "The payer pays at most this many units of each of these codes a day; more on one claim is stopped.",
        "One whole number greater than zero (e.g. 4)."),
    PayerRuleKind.REQUIRE_DIAGNOSIS_PREFIX: (
        "The payer pays these codes only when the line points at a diagnosis starting with one of these prefixes.",
        "Diagnosis prefixes, comma separated (e.g. M54, S33.5)."),
}


def _items(text: str) -> list[str]:
    seen: list[str] = []
    for part in _SPLIT_RE.split((text or "").strip().upper()):
        if part and part not in seen:
            seen.append(part)
    return seen


def _all_match(items: list[str], pattern: re.Pattern, field: str, what: str) -> str:
    """The items joined by commas, or a ValidationError on `field` naming the first that does not fit."""
    bad = [item for item in items if not pattern.match(item)]
    if bad:
        raise ValidationError({field: f"'{bad[0]}' is not {what}."})
    return ",".join(items)


def _codes(text: str) -> str:
    codes = _items(text)
    if not codes:
        raise ValidationError({"codes": "Name at least one procedure code."})
    joined = _all_match(codes, _PROCEDURE_RE, "codes", "a procedure code: five characters, e.g. 97110 (CPT) or J1100 "
                                                       "(HCPCS)")
    if len(joined) > MAX_CODES_LENGTH:
        raise ValidationError({"codes": f"Too many codes for one rule ({len(codes)}); split them over two rules."})
    return joined


def _type_names(organization_id: int, text: str) -> str:
    from clinicdesk.scheduling.models import AppointmentType

    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    known = {t.upper(): t for t in AppointmentType.objects.filter(organization_id=organization_id)
             .values_list("name", flat=True)}
    unknown = [n for n in names if n.upper() not in known]
    if unknown:
        raise ValidationError({"values": f"'{unknown[0]}' is not one of the practice's appointment types."})
    return ", ".join(known[n.upper()] for n in names)


def _values(organization_id: int, kind: str, text: str) -> str:
    """The rule's values in the shape its kind needs, or a ValidationError on `values` that says what is wrong."""
    items = _items(text)
    if kind == PayerRuleKind.REQUIRE_MODIFIER:
        if not items:
            raise ValidationError({"values": "Name the modifier (or modifiers) the payer wants."})
        return _all_match(items, _MODIFIER_RE, "values", "a modifier: two letters or digits, e.g. 25 or GP")
    if kind == PayerRuleKind.FORBID_CODE:
        if items:
            raise ValidationError({"values": "A rule that the payer does not cover the codes takes no values; leave it "
                                             "empty."})
        return ""
    if kind == PayerRuleKind.MAX_UNITS:
        if len(items) != 1 or not items[0].isdigit() or int(items[0]) < 1:
            raise ValidationError({"values": "The unit limit is one whole number greater than zero, e.g. 4."})
        return str(int(items[0]))
    if kind == PayerRuleKind.REQUIRE_DIAGNOSIS_PREFIX:
        if not items:
            raise ValidationError({"values": "Name at least one diagnosis prefix, e.g. M54."})
        return _all_match(items, _DX_PREFIX_RE, "values", "the start of an ICD-10-CM code (a letter and digits, e.g. "
                                                          "M54 or S33.5)")
    if kind == PayerRuleKind.REQUIRE_AUTH:
        return _type_names(organization_id, text)
    raise ValidationError({"kind": "Choose what the rule checks."})


def _checked(organization_id: int, *, payer: Payer | None, kind: str, codes: str, values: str, message: str,
             severity: str) -> dict:
    if payer is not None and payer.organization_id != organization_id:
        raise ValidationError({"payer": "That payer belongs to another practice."})
    if kind not in PayerRuleKind.values:
        raise ValidationError({"kind": "Choose what the rule checks."})
    if severity not in ScrubSeverity.values:
        raise ValidationError({"severity": "Choose whether the rule stops the claim or only warns."})
    errors: dict[str, list[str]] = {}
    checked = {"payer": payer, "kind": kind, "message": (message or "").strip(), "severity": severity}
    for name, check in (("codes", lambda: _codes(codes)), ("values", lambda: _values(organization_id, kind, values))):
        try:
            checked[name] = check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return checked


def _describe(rule: PayerRule) -> str:
    return f"{rule.payer.name if rule.payer_id else 'Every payer'}: {rule.get_kind_display()} ({rule.codes})"[:300]


@transaction.atomic
def payer_rule_create(*, organization: Organization, actor: User, payer: Payer | None, kind: str, codes: str,
                      values: str = "", message: str = "", severity: str = ScrubSeverity.ERROR) -> PayerRule:
    """Add a payer rule; the scrubber applies it to every claim scrubbed from now on."""
    data = _checked(organization.pk, payer=payer, kind=kind, codes=codes, values=values, message=message,
                    severity=severity)
    rule = PayerRule(organization=organization, **data)
    rule.full_clean()
    with acting_as(actor), audit_recorded_as(rule, action="payer_rule.created", actor=actor,
                                             summary=f"Payer rule added: {_describe(rule)}"):
        rule.save()
    return rule


@transaction.atomic
def payer_rule_update(*, rule: PayerRule, actor: User, payer: Payer | None, kind: str, codes: str, values: str = "",
                      message: str = "", severity: str = ScrubSeverity.ERROR) -> PayerRule:
    """Change a payer rule; claims already scrubbed keep their findings until they are scrubbed again."""
    if rule.organization_id != actor.organization_id:
        raise ValidationError({"__all__": "That rule belongs to another practice."})
    data = _checked(rule.organization_id, payer=payer, kind=kind, codes=codes, values=values, message=message,
                    severity=severity)
    changed = [name for name, value in data.items() if getattr(rule, name) != value]
    if not changed:
        return rule
    for name in changed:
        setattr(rule, name, data[name])
    rule.full_clean()
    with acting_as(actor), audit_recorded_as(rule, action="payer_rule.changed", actor=actor,
                                             summary=f"Payer rule changed: {_describe(rule)}"):
        rule.save(update_fields=[*changed, "updated_at"])
    return rule


@transaction.atomic
def payer_rule_set_active(*, rule: PayerRule, actor: User, active: bool) -> PayerRule:
    """Switch a rule off (the scrubber skips it; it is kept for the record) or back on."""
    if rule.organization_id != actor.organization_id:
        raise ValidationError({"__all__": "That rule belongs to another practice."})
    if rule.is_active == active:
        raise ValidationError({"__all__": f"The rule is already {'active' if active else 'switched off'}."})
    rule.is_active = active
    action = "payer_rule.reactivated" if active else "payer_rule.deactivated"
    with acting_as(actor), audit_recorded_as(rule, action=action, actor=actor,
                                             summary=f"Payer rule {'on' if active else 'off'}: {_describe(rule)}"):
        rule.save(update_fields=["is_active", "updated_at"])
    return rule


def payer_rule_try(*, rule: PayerRule, claim: Claim) -> tuple[bool, list[Finding]]:
    """Run one rule on one claim without saving anything: (whether it applies to the claim's payer, its findings)."""
    if rule.organization_id != claim.organization_id:
        raise ValidationError({"claim": "The claim belongs to another practice."})
    applies = rule.payer_id is None or rule.payer_id == claim.payer_id
    return applies, payer_rule_findings(claim, [rule]) if applies else []

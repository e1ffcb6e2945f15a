"""Required code bindings of the elements we produce and accept, checked here because the FHIR models do not
check code values (any string passes as a `code`).

Each entry is an element path (lists walked through) and the codes of its required value set, from the R4
specification.
"""

from __future__ import annotations

from .outcomes import Issue

ADMINISTRATIVE_GENDER = ("male", "female", "other", "unknown")
APPOINTMENT_STATUS = ("proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                      "entered-in-error", "checked-in", "waitlist")
PARTICIPANT_STATUS = ("accepted", "declined", "tentative", "needs-action")
PARTICIPANT_REQUIRED = ("required", "optional", "information-only")
LOCATION_STATUS = ("active", "suspended", "inactive")
LOCATION_MODE = ("instance", "kind")
NAME_USE = ("usual", "official", "temp", "nickname", "anonymous", "old", "maiden")
CONTACT_POINT_SYSTEM = ("phone", "fax", "email", "pager", "url", "sms", "other")
CONTACT_POINT_USE = ("home", "work", "temp", "old", "mobile")
ADDRESS_USE = ("home", "work", "temp", "old", "billing")
IDENTIFIER_USE = ("usual", "official", "temp", "secondary", "old")
SLOT_STATUS = ("busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error")
COVERAGE_STATUS = ("active", "cancelled", "draft", "entered-in-error")  # fm-status
# subscriber-relationship is an extensible binding in R4; we only ever send its own codes, so it is checked too.
SUBSCRIBER_RELATIONSHIP = ("child", "parent", "spouse", "common", "other", "self", "injured")
CLAIM_USE = ("claim", "preauthorization", "predetermination")
REMITTANCE_OUTCOME = ("queued", "complete", "error", "partial")
EVENT_STATUS = ("preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown")
TASK_STATUS = ("draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress", "on-hold",
               "failed", "completed", "entered-in-error")
TASK_INTENT = ("unknown", "proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order",
               "option")
CHARGE_ITEM_STATUS = ("planned", "billable", "not-billable", "aborted", "billed", "entered-in-error", "unknown")
ACCOUNT_STATUS = ("active", "inactive", "entered-in-error", "on-hold", "unknown")
INVOICE_STATUS = ("draft", "issued", "balanced", "cancelled", "entered-in-error")
PRICE_COMPONENT_TYPE = ("base", "surcharge", "deduction", "discount", "tax", "informational")
_GUARANTOR = (("contained.telecom.system", CONTACT_POINT_SYSTEM), ("contained.address.use", ADDRESS_USE))

BINDINGS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Patient": (
        ("gender", ADMINISTRATIVE_GENDER), ("name.use", NAME_USE), ("telecom.system", CONTACT_POINT_SYSTEM),
        ("telecom.use", CONTACT_POINT_USE), ("address.use", ADDRESS_USE), ("identifier.use", IDENTIFIER_USE),
    ),
    "Practitioner": (("gender", ADMINISTRATIVE_GENDER), ("name.use", NAME_USE), ("identifier.use", IDENTIFIER_USE)),
    "Organization": (("identifier.use", IDENTIFIER_USE),),
    "Location": (("status", LOCATION_STATUS), ("mode", LOCATION_MODE), ("telecom.system", CONTACT_POINT_SYSTEM),
                 ("telecom.use", CONTACT_POINT_USE), ("address.use", ADDRESS_USE)),
    "Appointment": (("status", APPOINTMENT_STATUS), ("participant.status", PARTICIPANT_STATUS),
                    ("participant.required", PARTICIPANT_REQUIRED)),
    "PractitionerRole": (("telecom.system", CONTACT_POINT_SYSTEM), ("telecom.use", CONTACT_POINT_USE)),
    "Schedule": (),
    "Slot": (("status", SLOT_STATUS),),
    "Coverage": (("status", COVERAGE_STATUS), ("identifier.use", IDENTIFIER_USE),
                 ("relationship.coding.code", SUBSCRIBER_RELATIONSHIP), ("contained.gender", ADMINISTRATIVE_GENDER),
                 ("contained.name.use", NAME_USE), ("contained.address.use", ADDRESS_USE)),
    # Claim status is fm-status; ExplanationOfBenefit's explanationofbenefit-status has the same four codes.
    "Claim": (("status", COVERAGE_STATUS), ("use", CLAIM_USE), ("identifier.use", IDENTIFIER_USE)),
    "ExplanationOfBenefit": (("status", COVERAGE_STATUS), ("use", CLAIM_USE), ("outcome", REMITTANCE_OUTCOME),
                             ("identifier.use", IDENTIFIER_USE)),
    "Communication": (("status", EVENT_STATUS),),
    "Task": (("status", TASK_STATUS), ("intent", TASK_INTENT)),
    "ChargeItem": (("status", CHARGE_ITEM_STATUS),),
    "Account": (("status", ACCOUNT_STATUS), ("identifier.use", IDENTIFIER_USE), *_GUARANTOR),
    "Invoice": (("status", INVOICE_STATUS), ("lineItem.priceComponent.type", PRICE_COMPONENT_TYPE),
                ("totalPriceComponent.type", PRICE_COMPONENT_TYPE), *_GUARANTOR),
}


def _walk(value, parts: list[str], path: str):
    """(FHIRPath, value) of every element at `parts` below `value`."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, parts, f"{path}[{i}]")
        return
    if not parts:
        yield path, value
        return
    if isinstance(value, dict) and parts[0] in value:
        yield from _walk(value[parts[0]], parts[1:], f"{path}.{parts[0]}")


def code_issues(resource: dict) -> list[Issue]:
    """An issue for every code outside its required value set, naming the element."""
    kind = resource.get("resourceType", "")
    issues = []
    for element, codes in BINDINGS.get(kind, ()):
        for path, value in _walk(resource, element.split("."), kind):
            if value not in codes:
                issues.append(Issue(f"'{value}' is not one of: {', '.join(codes)}.", code="code-invalid", expression=[path]))
    return issues

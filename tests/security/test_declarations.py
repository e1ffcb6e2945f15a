"""Every view says who may open it, and every API operation says what permission it needs.

The deny-by-default middleware already refuses an undeclared view at run time; these tests name
the undeclared ones before anyone tries them, and keep the short lists of public and any-signed-in
views under review.
"""

from clinicdesk.core.api_auth import API_ACCESS_ATTR
from clinicdesk.core.permissions import ALL_PERMISSIONS, Perm
from config.api import api

from .urlwalk import all_routes

ROUTES = all_routes()

# Views anyone may open, and views any signed-in user may open. Adding to these lists is a review decision.
PUBLIC = {"healthz", "admin:login"}
# Online booking by location (throttled, nothing about anyone but provider names and free times) and the
# providers' secret calendar feeds (a revocable token, only its hash stored).
PUBLIC |= {"scheduling_public:booking_page", "scheduling_public:booking_times", "scheduling_public:booking_request",
           "scheduling_public:booking_sent", "scheduling_public:booking_verify", "scheduling_public:calendar_feed"}
# A waitlisted patient's answer to an offer: a secret token, throttled, shows only a time and a place.
PUBLIC |= {"scheduling_public:waitlist_offer_reply"}
# Each person's roster calendar feed (rostering): a revocable key with an HMAC under the site's secret, published
# shifts only.
PUBLIC |= {"rostering_public:feed"}
# Links in messages (communications): one page per token, the handler acts only on POST.
PUBLIC |= {"communications_public:link"}
# The SMS provider's and the mail service's webhooks (each checks the provider's signature: X-Twilio-Signature,
# Mailgun's HMAC), and the local SMS gateway's provider API (checks the account's HTTP Basic auth itself).
PUBLIC |= {"communications_public:sms_status", "communications_public:sms_inbound",
           "communications_public:email_events", "communications_public:sms_gateway:messages",
           "communications_public:sms_gateway:message"}
# The card processor's webhook (checks Stripe-Signature first), and the local card processor's API (checks the
# processor's secret key itself, Authorization: Bearer).
PUBLIC |= {"billing_public:card_webhook", "billing_public:card_processor:payment_methods",
           "billing_public:card_processor:payment_intents", "billing_public:card_processor:payment_intent",
           "billing_public:card_processor:payment_intent_capture", "billing_public:card_processor:payment_intent_cancel",
           "billing_public:card_processor:refunds", "billing_public:card_processor:refund"}
# The local card processor's stored cards, payouts and balance transactions (it checks its own secret key).
PUBLIC |= {"billing_public:card_processor:payment_method", "billing_public:card_processor:payouts",
           "billing_public:card_processor:payout", "billing_public:card_processor:balance_transactions"}
# The e-mailed payment receipt link (billing): a signed, expiring token; asks the date of birth; throttled.
PUBLIC |= {"billing_public:receipt_link"}
# The FHIR API's CapabilityStatement: what the server implements, nothing about anyone (clients read it first).
PUBLIC |= {"fhir:metadata"}
ANY_SIGNED_IN = {"api:openapi-json", "api:openapi-view"}

# Views (a name, or a prefix ending in *) that must require at least this permission; first match wins.
SENSITIVE = [
    ("core:audit_log_export", Perm.AUDIT_EXPORT),
    ("core:audit_log", Perm.AUDIT_VIEW),
    ("core:user_*", Perm.USERS_MANAGE),
    ("core:organization_settings", Perm.PRACTICE_MANAGE),
    ("fhir_tokens:*", Perm.PRACTICE_MANAGE),
    ("patient_record:*", Perm.PATIENT_EXPORT),
    ("patients:document", Perm.DOCUMENT_VIEW),
    ("patients:document_upload", Perm.DOCUMENT_UPLOAD),
    ("patients:*", Perm.PATIENT_VIEW),
    ("scheduling:online_request*", Perm.ONLINE_REQUESTS),
    ("communications:outbox_attachment", Perm.MESSAGES_VIEW),
]


def _matches(label: str, pattern: str) -> bool:
    return label.startswith(pattern[:-1]) if pattern.endswith("*") else label == pattern


def test_every_view_declares_who_may_open_it():
    undeclared = sorted(
        f"{r.label} ({r.module})" for r in ROUTES if r.access is None and not r.self_guarded
    )
    assert not undeclared, "views without @public/@signed_in/@requires:\n  " + "\n  ".join(undeclared)


def test_every_api_operation_declares_its_permission():
    operations = [op for r in ROUTES for op in r.api_operations]
    assert operations, "the URL walk found no API operations"
    undeclared = sorted(op.label for op in operations if not op.codes)
    assert not undeclared, "API operations without @api_requires:\n  " + "\n  ".join(undeclared)
    unknown = sorted(f"{op.label}: {c}" for op in operations for c in op.codes or () if c not in ALL_PERMISSIONS)
    assert not unknown, "API operations requiring codes no role has:\n  " + "\n  ".join(unknown)


def test_the_api_routers_and_the_url_walk_agree():
    """Every operation registered on the API's routers is reachable through the URL patterns the walk sees."""
    api.urls  # noqa: B018  (building the URLs binds the routers)
    registered = {
        op.view_func
        for _, router in api._routers
        for path_view in router.path_operations.values()
        for op in path_view.operations
    }
    walked = {op.view_func for r in ROUTES for op in r.api_operations}
    missing = sorted(f"{f.__module__}.{f.__name__}" for f in registered - walked)
    assert not missing, f"API operations the URL walk does not reach: {missing}"
    for func in registered:
        assert getattr(func, API_ACCESS_ATTR, None), f"{func.__module__}.{func.__name__} has no api_requires"


def test_declared_permission_codes_exist():
    unknown = sorted(
        f"{r.label}: {c}" for r in ROUTES
        if isinstance(r.access, tuple) for c in r.access[1] if c not in ALL_PERMISSIONS
    )
    assert not unknown, "views requiring codes no role has (nobody could open them):\n  " + "\n  ".join(unknown)


def test_public_views_are_only_the_reviewed_ones():
    public = {r.label for r in ROUTES if r.access == "public"}
    assert public <= PUBLIC, f"new public views need a review: {sorted(public - PUBLIC)}"


def test_views_open_to_any_signed_in_user_are_only_the_reviewed_ones():
    signed_in = {r.label for r in ROUTES if r.access == "signed_in"}
    assert signed_in <= ANY_SIGNED_IN, f"new any-signed-in views need a review: {sorted(signed_in - ANY_SIGNED_IN)}"


# Views that take only their own bearer tokens (the FHIR API: token, scopes, role and practice checked per call).
BEARER_TOKEN = {"fhir:type", "fhir:instance", "fhir:export", "fhir:export_status", "fhir:export_file"}


def test_bearer_token_views_are_only_the_reviewed_ones():
    bearer = {r.label for r in ROUTES if r.access == "bearer_token"}
    assert bearer <= BEARER_TOKEN, f"new bearer-token views need a review: {sorted(bearer - BEARER_TOKEN)}"


def test_sensitive_views_require_their_permission():
    problems = []
    for route in ROUTES:
        for pattern, code in SENSITIVE:
            if _matches(route.label, pattern):
                access = route.access
                codes = access[1] if isinstance(access, tuple) else ()
                if code not in codes:
                    problems.append(f"{route.label} declares {access!r}, expected to need {code}")
                break
    assert not problems, "\n".join(problems)

"""Billing pages and webhooks reached without signing in: the pay link and the card processor's callbacks.
Each view checks its own signed token or webhook signature."""

from django.urls import path  # noqa: F401

app_name = "billing_public"

urlpatterns = []

# --- card processor webhooks and the local test processor ---------------------------------------------------
from django.conf import settings  # noqa: E402
from django.urls import include  # noqa: E402

from .views import card_webhooks  # noqa: E402

urlpatterns += [
    path("webhooks/cards/", card_webhooks.card_webhook, name="card_webhook"),
]
if settings.CARD_LOCAL_PROCESSOR:
    urlpatterns += [path("card-processor/", include("clinicdesk.billing.cardprocessor.urls"))]

# --- the pay link ------------------------------------------------------------------------------------------

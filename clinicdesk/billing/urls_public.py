"""Billing pages and webhooks reached without signing in: the pay link and the card processor's callbacks.
Each view checks its own signed token or webhook signature."""

from django.urls import path  # noqa: F401

app_name = "billing_public"

urlpatterns = []

# --- card processor webhooks and the local test processor ---------------------------------------------------

# --- the pay link ------------------------------------------------------------------------------------------

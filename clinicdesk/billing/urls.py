"""Staff pages of billing, under /billing/."""

from django.urls import path  # noqa: F401

app_name = "billing"

urlpatterns = []

# --- code sets and fee schedules ---------------------------------------------------------------------------

# --- encounters, charges and the charge review queue -------------------------------------------------------

# --- patient accounts, payments, receipts and payment plans ------------------------------------------------

# --- statements, day close and reports ---------------------------------------------------------------------

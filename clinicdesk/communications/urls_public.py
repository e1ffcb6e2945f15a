"""Pages and webhooks reached without signing in: links in messages, and the SMS provider's callbacks.
Each view checks its own signed token or webhook signature."""

from django.urls import path  # noqa: F401

app_name = "communications_public"

urlpatterns = []

# --- templates and letters (the secure letter link) ---------------------------------------------------------

# --- outbox, delivery and the SMS gateway's webhooks -------------------------------------------------------

# --- reminders (confirm / cancel / reschedule links) and campaigns (unsubscribe) -------------------------------

"""Staff pages of communications, under /messages/."""

from django.urls import path  # noqa: F401

app_name = "communications"

urlpatterns = []

# --- templates and letters ---------------------------------------------------------------------------------

# --- outbox, delivery and the SMS gateway's webhooks -------------------------------------------------------

# --- reminders, campaigns, the patient timeline and the staff task inbox -----------------------------------

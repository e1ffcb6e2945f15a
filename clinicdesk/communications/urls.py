"""Staff pages of communications, under /messages/."""

from django.urls import path  # noqa: F401

app_name = "communications"

urlpatterns = []

# --- templates and letters ---------------------------------------------------------------------------------

# --- outbox, delivery and the SMS gateway's webhooks -------------------------------------------------------
from .views import outbox  # noqa: E402

urlpatterns += [
    path("outbox/", outbox.outbox_list, name="outbox"),
    path("outbox/export.csv", outbox.outbox_export, name="outbox_export"),
    path("outbox/<str:message_id>/", outbox.outbox_detail, name="outbox_detail"),
    path("outbox/<str:message_id>/send-again/", outbox.outbox_send_again, name="outbox_send_again"),
    path("outbox/<str:message_id>/cancel/", outbox.outbox_cancel, name="outbox_cancel"),
]

# --- reminders, campaigns, the patient timeline and the staff task inbox -----------------------------------

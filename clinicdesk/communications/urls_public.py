"""Pages and webhooks reached without signing in: links in messages, and the SMS provider's callbacks.
Each view checks its own signed token or webhook signature."""

from django.urls import path

from .views import links

app_name = "communications_public"

urlpatterns = [
    # One short path for every link in a message (short matters in a text message).
    path("m/<str:token>/", links.link_page, name="link"),
]

# --- templates and letters (the secure letter link) ---------------------------------------------------------

# --- outbox, delivery and the SMS gateway's webhooks -------------------------------------------------------
from django.conf import settings  # noqa: E402
from django.urls import include  # noqa: E402

from .views import webhooks  # noqa: E402

urlpatterns += [
    path("webhooks/sms/status/", webhooks.sms_status, name="sms_status"),
    path("webhooks/sms/inbound/", webhooks.sms_inbound, name="sms_inbound"),
    path("webhooks/email/events/", webhooks.email_events, name="email_events"),
]
if settings.SMS_LOCAL_GATEWAY:
    urlpatterns += [path("sms-gateway/", include("clinicdesk.communications.gateway.urls"))]

# --- reminders (confirm / cancel / reschedule links) and campaigns (unsubscribe) -------------------------------

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

# --- reminders (confirm / cancel / reschedule links) and campaigns (unsubscribe) -------------------------------

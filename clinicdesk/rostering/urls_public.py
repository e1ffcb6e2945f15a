"""The roster's public address: each person's secret iCalendar feed (/roster-feeds/)."""

from django.urls import path

from .views import requests

app_name = "rostering_public"

urlpatterns = [
    path("roster-feeds/<str:token>.ics", requests.feed, name="feed"),
]

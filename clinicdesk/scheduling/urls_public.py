"""Pages anyone may open: online booking per location (/book/), providers' secret calendar feeds (/feeds/)
and a waitlisted patient's answer to an offer (/waitlist/offer/)."""

from django.urls import path

from .views import front_desk, online

app_name = "scheduling_public"

urlpatterns = [
    path("book/<slug:location_slug>/", online.booking_page, name="booking_page"),
    path("book/<slug:location_slug>/times.json", online.booking_times, name="booking_times"),
    path("book/<slug:location_slug>/request/", online.booking_request, name="booking_request"),
    path("book/<slug:location_slug>/sent/", online.booking_sent, name="booking_sent"),
    path("book/<slug:location_slug>/verify/<slug:token>/", online.booking_verify, name="booking_verify"),
    path("feeds/<slug:token>.ics", online.calendar_feed, name="calendar_feed"),
    # a waitlisted patient's answer to an offer (views/front_desk.py)
    path("waitlist/offer/<slug:offer_token>/", front_desk.waitlist_offer_reply, name="waitlist_offer_reply"),
]

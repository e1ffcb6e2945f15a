"""Staff pages of the schedule, mounted at /schedule/. Each part of the app adds its own block of lines."""

from django.urls import path  # noqa: F401

app_name = "scheduling"

urlpatterns = [
    # calendar, day view, day sheet, flow board (views/calendar.py, views/flow.py)
    # appointments, availability, appointment types (views/appointments.py, views/setup.py)
    # calls, waitlist, recalls (views/front_desk.py)
    # online requests, calendar feeds (views/online.py)
]

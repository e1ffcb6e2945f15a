from django.urls import path

from .views import requests, rosters

app_name = "rostering"

urlpatterns = [
    path("", rosters.period_list, name="period_list"),
    path("new/", rosters.period_create, name="period_create"),
    path("<int:period_id>/", rosters.period_detail, name="period_detail"),
    path("<int:period_id>/solve/", rosters.solve_start, name="solve_start"),
    path("<int:period_id>/runs/<int:run_id>/", rosters.solve_progress, name="solve_progress"),
    path("<int:period_id>/runs/<int:run_id>/cancel/", rosters.solve_cancel, name="solve_cancel"),
    path("<int:period_id>/cell/", rosters.cell_edit, name="cell_edit"),
    path("<int:period_id>/lock/", rosters.cell_lock, name="cell_lock"),
    path("<int:period_id>/publish/", rosters.period_publish, name="period_publish"),
    path("<int:period_id>/new-version/", rosters.period_new_version, name="period_new_version"),
    path("<int:period_id>/hours.csv", rosters.hours_export, name="hours_export"),
    path("mine/", requests.my_shifts, name="my_shifts"),
    path("mine/feed/rotate/", requests.feed_rotate, name="feed_rotate"),
    path("time-off/new/", requests.time_off_new, name="time_off_new"),
    path("time-off/<int:request_id>/decide/", requests.time_off_decide, name="time_off_decide"),
    path("changes/new/", requests.change_new, name="change_new"),
    path("changes/<int:change_id>/accept/", requests.change_accept, name="change_accept"),
    path("changes/<int:change_id>/cancel/", requests.change_cancel, name="change_cancel"),
    path("changes/<int:change_id>/decide/", requests.change_decide, name="change_decide"),
    path("requests/", requests.requests_list, name="requests"),
]

from django.urls import path

from .views import requests, rosters, setup

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
    path("setup/", setup.setup, name="setup"),
    path("setup/shift-types/new/", setup.shift_type_edit, name="shift_type_new"),
    path("setup/shift-types/<int:shift_type_id>/", setup.shift_type_edit, name="shift_type_edit"),
    path("setup/coverage/new/", setup.coverage_need_edit, name="coverage_need_new"),
    path("setup/coverage/<int:need_id>/", setup.coverage_need_edit, name="coverage_need_edit"),
    path("setup/coverage/<int:need_id>/delete/", setup.coverage_need_delete, name="coverage_need_delete"),
    path("setup/contracts/<int:staff_id>/", setup.contract_edit, name="contract_edit"),
]

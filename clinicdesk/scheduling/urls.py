"""Staff pages of the schedule, mounted at /schedule/. Each part of the app adds its own block of lines."""

from django.urls import path

from .views import appointments, calendar, flow, front_desk, imports, online, setup

app_name = "scheduling"

urlpatterns = [
    # calendar, day view, day sheet, flow board (views/calendar.py, views/flow.py)
    path("calendar/", calendar.calendar, name="calendar"),
    path("calendar/events.json", calendar.calendar_events, name="calendar_events"),
    path("calendar/resources.json", calendar.calendar_resources, name="calendar_resources"),
    path("calendar/day.json", calendar.calendar_day, name="calendar_day"),
    path("calendar/patients.json", calendar.calendar_patients, name="calendar_patients"),
    path("calendar/book", calendar.calendar_book, name="calendar_book"),
    path("calendar/appointments/<str:appointment_id>/move", calendar.calendar_move, name="calendar_move"),
    path("day-sheet.pdf", calendar.day_sheet, name="day_sheet"),
    path("flow/", flow.flow_board, name="flow_board"),
    path("flow/<str:appointment_id>/status", flow.flow_status, name="flow_status"),
    path("flow/<str:appointment_id>/check-in/", flow.check_in, name="check_in"),
    path("flow/<str:appointment_id>/check-out/", flow.check_out, name="check_out"),
    # appointments, availability, appointment types (views/appointments.py, views/setup.py)
    path("appointments/find/", appointments.find_slot, name="find_slot"),
    path("appointments/book/", appointments.book, name="book"),
    path("appointments/download/", imports.appointment_download, name="appointment_download"),
    path("appointments/import/", imports.appointment_import, name="appointment_import"),
    path("appointments/<str:appointment_id>/", appointments.appointment_detail, name="appointment"),
    path("appointments/<str:appointment_id>/edit/", appointments.appointment_edit, name="appointment_edit"),
    path("appointments/<str:appointment_id>/cancel/", appointments.appointment_cancel_view, name="appointment_cancel"),
    path("appointments/<str:appointment_id>/status/", appointments.appointment_status, name="appointment_status"),
    path("appointments/<str:appointment_id>/first-free/", appointments.appointment_first_free, name="appointment_first_free"),
    path("setup/types/", setup.type_list, name="setup_types"),
    path("setup/types/new/", setup.type_create, name="setup_type_create"),
    path("setup/types/<int:type_id>/", setup.type_edit, name="setup_type_edit"),
    path("setup/availability/", setup.template_list, name="setup_templates"),
    path("setup/availability/new/", setup.template_create, name="setup_template_create"),
    path("setup/availability/<int:template_id>/", setup.template_edit, name="setup_template_edit"),
    path("setup/availability/<int:template_id>/delete/", setup.template_delete, name="setup_template_delete"),
    path("setup/exceptions/", setup.exception_list, name="setup_exceptions"),
    path("setup/exceptions/new/", setup.exception_create, name="setup_exception_create"),
    path("setup/exceptions/block-day/", setup.block_day, name="setup_block_day"),
    path("setup/exceptions/<int:exception_id>/", setup.exception_affected, name="setup_exception_affected"),
    path("setup/exceptions/<int:exception_id>/delete/", setup.exception_delete, name="setup_exception_delete"),
    path("setup/locations/<int:location_id>/", setup.location_settings, name="setup_location"),
    # calls, waitlist, recalls (views/front_desk.py)
    path("calls/", front_desk.call_list, name="calls"),
    path("calls/export.csv", front_desk.call_export, name="calls_export"),
    path("calls/new/", front_desk.call_log, name="call_log"),
    path("calls/callbacks/", front_desk.callback_queue, name="callbacks"),
    path("calls/<int:call_id>/done/", front_desk.callback_done, name="callback_done"),
    path("calls/<int:call_id>/take/", front_desk.callback_take, name="callback_take"),
    path("waitlist/", front_desk.waitlist, name="waitlist"),
    path("waitlist/new/", front_desk.waitlist_add, name="waitlist_add"),
    path("waitlist/<int:entry_id>/remove/", front_desk.waitlist_remove, name="waitlist_remove"),
    path("waitlist/offers/<int:offer_id>/book/", front_desk.waitlist_offer_book, name="waitlist_offer_book"),
    path("waitlist/offers/<int:offer_id>/decline/", front_desk.waitlist_offer_decline, name="waitlist_offer_decline"),
    path("recalls/", front_desk.recall_list, name="recalls"),
    path("recalls/export.csv", front_desk.recall_export, name="recalls_export"),
    path("recalls/refresh/", front_desk.recalls_refresh, name="recalls_refresh"),
    path("recalls/<int:recall_id>/contacted/", front_desk.recall_contacted, name="recall_contacted"),
    path("recalls/<int:recall_id>/dismiss/", front_desk.recall_dismiss, name="recall_dismiss"),
    path("recalls/rules/", front_desk.recall_rules, name="recall_rules"),
    path("recalls/rules/new/", front_desk.recall_rule_add, name="recall_rule_add"),
    path("recalls/rules/<int:rule_id>/edit/", front_desk.recall_rule_edit, name="recall_rule_edit"),
    # online requests, calendar feeds (views/online.py)
    path("online-requests/", online.online_requests, name="online_requests"),
    path("online-requests/<int:online_request_id>/approve", online.online_request_approve, name="online_request_approve"),
    path("online-requests/<int:online_request_id>/decline", online.online_request_decline, name="online_request_decline"),
    path("calendar-feeds/", online.calendar_feeds, name="calendar_feeds"),
    path("calendar-feeds/new", online.calendar_feed_create, name="calendar_feed_create"),
    path("calendar-feeds/<int:feed_id>/revoke", online.calendar_feed_revoke, name="calendar_feed_revoke"),
]

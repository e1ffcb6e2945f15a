from django.urls import path

from .views import register, tickets, upkeep

app_name = "assets"

urlpatterns = [
    path("", register.asset_list, name="list"),
    path("register.pdf", register.register_pdf, name="register_pdf"),
    path("new/", register.asset_create, name="create"),
    path("<int:asset_id>/", register.asset_detail, name="detail"),
    path("<int:asset_id>/edit/", register.asset_edit, name="edit"),
    path("<int:asset_id>/assign/", register.asset_assign_view, name="assign"),
    path("<int:asset_id>/tickets/new/", tickets.ticket_create, name="ticket_create"),
    path("<int:asset_id>/maintenance/schedule/", upkeep.schedule_create, name="schedule_create"),
    path("<int:asset_id>/maintenance/new/", upkeep.maintenance_create, name="maintenance_create"),
    path("tickets/", tickets.ticket_list, name="ticket_list"),
    path("tickets/<int:ticket_id>/", tickets.ticket_detail, name="ticket_detail"),
    path("tickets/<int:ticket_id>/edit/", tickets.ticket_edit, name="ticket_edit"),
    path("tickets/<int:ticket_id>/move/", tickets.ticket_move_view, name="ticket_move"),
    path("maintenance/", upkeep.maintenance_due, name="maintenance_due"),
    path("alerts/", upkeep.alert_list, name="alerts"),
]

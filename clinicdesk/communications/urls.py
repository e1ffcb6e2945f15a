"""Staff pages of communications, under /messages/."""

from django.urls import path  # noqa: F401

app_name = "communications"

urlpatterns = []

# --- templates and letters ---------------------------------------------------------------------------------

# --- outbox, delivery and the SMS gateway's webhooks -------------------------------------------------------

# --- reminders, campaigns, the patient timeline and the staff task inbox -----------------------------------
from .views import staff_tasks, timeline  # noqa: E402

urlpatterns += [
    path("tasks/", staff_tasks.staff_task_inbox, name="staff_tasks"),
    path("tasks/export.csv", staff_tasks.staff_task_export, name="staff_task_export"),
    path("tasks/new/", staff_tasks.staff_task_create, name="staff_task_create"),
    path("tasks/<int:task_id>/", staff_tasks.staff_task_detail, name="staff_task_detail"),
    path("tasks/<int:task_id>/notes/", staff_tasks.staff_task_note, name="staff_task_note"),
    path("tasks/<int:task_id>/done/", staff_tasks.staff_task_complete, name="staff_task_complete"),
    path("tasks/<int:task_id>/reopen/", staff_tasks.staff_task_reopen, name="staff_task_reopen"),
    path("tasks/<int:task_id>/cancel/", staff_tasks.staff_task_cancel, name="staff_task_cancel"),
    path("tasks/<int:task_id>/assign/", staff_tasks.staff_task_assign, name="staff_task_assign"),
    path("patients/<str:public_id>/timeline.csv", timeline.patient_timeline_export, name="patient_timeline_export"),
]

"""Staff pages of communications, under /messages/."""

from django.urls import path  # noqa: F401

app_name = "communications"

urlpatterns = []

# --- templates and letters ---------------------------------------------------------------------------------
from .views import letters as letter_views  # noqa: E402
from .views import templates as template_views  # noqa: E402

urlpatterns += [
    path("templates/", template_views.template_list, name="template_list"),
    path("templates/new/", template_views.template_create, name="template_create"),
    path("templates/defaults/", template_views.template_defaults, name="template_defaults"),
    path("templates/<int:message_template_id>/", template_views.template_detail, name="template_detail"),
    path("templates/<int:message_template_id>/edit/", template_views.template_edit, name="template_edit"),
    path("templates/<int:message_template_id>/preview/", template_views.template_preview, name="template_preview"),
    path("templates/<int:message_template_id>/active/", template_views.template_set_active, name="template_set_active"),
    path("templates/<int:message_template_id>/versions/<int:version_number>/", template_views.template_version,
         name="template_version"),
    path("letters/", letter_views.letter_list, name="letter_list"),
    path("letters/new/", letter_views.letter_new, name="letter_new"),
    path("letters/<str:letter_id>/", letter_views.letter_detail, name="letter_detail"),
    path("letters/<str:letter_id>/pdf/", letter_views.letter_preview_pdf, name="letter_pdf"),
    path("letters/<str:letter_id>/finalize/", letter_views.letter_finalize, name="letter_finalize"),
    path("letters/<str:letter_id>/print/", letter_views.letter_print, name="letter_print"),
    path("letters/<str:letter_id>/email/", letter_views.letter_email, name="letter_email"),
    path("letterheads/", letter_views.letterhead_list, name="letterhead_list"),
    path("letterheads/new/", letter_views.letterhead_edit, name="letterhead_new"),
    path("letterheads/<int:letterhead_id>/", letter_views.letterhead_edit, name="letterhead_edit"),
    path("signatures/", letter_views.signature_list, name="signature_list"),
    path("signatures/new/", letter_views.signature_edit, name="signature_new"),
    path("signatures/<int:signature_id>/", letter_views.signature_edit, name="signature_edit"),
]

# --- outbox, delivery and the SMS gateway's webhooks -------------------------------------------------------
from .views import outbox  # noqa: E402

urlpatterns += [
    path("outbox/", outbox.outbox_list, name="outbox"),
    path("outbox/export.csv", outbox.outbox_export, name="outbox_export"),
    path("outbox/<str:message_id>/", outbox.outbox_detail, name="outbox_detail"),
    path("outbox/<str:message_id>/attachments/<int:attachment_id>/", outbox.outbox_attachment,
         name="outbox_attachment"),
    path("outbox/<str:message_id>/send-again/", outbox.outbox_send_again, name="outbox_send_again"),
    path("outbox/<str:message_id>/cancel/", outbox.outbox_cancel, name="outbox_cancel"),
]

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

# --- campaigns and recall messages (lead) -------------------------------------------------------------------
from .views import campaigns  # noqa: E402

urlpatterns += [
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/new/", campaigns.campaign_new, name="campaign_new"),
    path("campaigns/recalls/", campaigns.recalls_send, name="recalls_send"),
    path("campaigns/<int:campaign_id>/", campaigns.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/start/", campaigns.campaign_start, name="campaign_start"),
    path("campaigns/<int:campaign_id>/cancel/", campaigns.campaign_cancel, name="campaign_cancel"),
    path("campaigns/<int:campaign_id>/report.csv", campaigns.campaign_report, name="campaign_report"),
]

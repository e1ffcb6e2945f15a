from django.urls import path

from .views import credentials, records, training

app_name = "staff"

urlpatterns = [
    path("", records.staff_list, name="list"),
    path("new/", records.staff_create, name="create"),
    path("import/", records.staff_import, name="import"),
    path("<int:staff_id>/", records.staff_detail, name="detail"),
    path("<int:staff_id>/edit/", records.staff_edit, name="edit"),
    path("<int:staff_id>/offboard/", records.staff_offboard_view, name="offboard"),
    path("<int:staff_id>/credentials/new/", credentials.credential_create, name="credential_create"),
    path("<int:staff_id>/onboarding/apply/", training.checklist_apply_view, name="checklist_apply"),
    path("documents/<int:staff_document_id>/", records.staff_document, name="document"),
    path("credentials/<int:credential_id>/edit/", credentials.credential_edit, name="credential_edit"),
    path("credentials/<int:credential_id>/verify/", credentials.credential_verify_view, name="credential_verify"),
    path("credentials/<int:credential_id>/delete/", credentials.credential_delete_view, name="credential_delete"),
    path("compliance/", credentials.compliance, name="compliance"),
    path("onboarding/", training.onboarding_board, name="onboarding_board"),
    path("onboarding/checklists/", training.checklist_list, name="checklist_list"),
    path("onboarding/tasks/<int:onboarding_task_id>/", training.onboarding_task_toggle, name="onboarding_task"),
    path("training/", training.training_compliance_view, name="training_compliance"),
    path("training/courses/", training.course_list, name="course_list"),
    path("training/courses/new/", training.course_create, name="course_create"),
    path("training/courses/<int:course_id>/edit/", training.course_edit, name="course_edit"),
    path("training/courses/<int:course_id>/assign/", training.course_assign, name="course_assign"),
    path("training/assignments/", training.assignment_list, name="assignment_list"),
    path("training/assignments/<int:assignment_id>/complete/", training.assignment_complete,
         name="assignment_complete"),
    path("me/", records.my_training, name="my_training"),
    path("me/training/<int:my_assignment_id>/complete/", training.my_assignment_complete, name="my_assignment_complete"),
    path("me/documents/<int:my_document_id>/", records.my_document, name="my_document"),
]

from django.urls import path

from .views import batches, eligibility

urlpatterns = [
    path("eligibility/", eligibility.eligibility_day, name="eligibility_day"),
    path("eligibility/check/", eligibility.eligibility_check_now, name="eligibility_check_now"),
    path("eligibility/run/", eligibility.eligibility_run, name="eligibility_run"),
    path("eligibility/<int:check_id>/", eligibility.eligibility_detail, name="eligibility_detail"),
    path("batches/", batches.batch_list, name="batch_list"),
    path("batches/build/", batches.batch_build, name="batch_build"),
    path("batches/follow-up/", batches.batch_follow_up, name="batch_follow_up"),
    path("batches/<int:batch_id>/", batches.batch_detail, name="batch_detail"),
    path("batches/<int:batch_id>/837/", batches.batch_download, name="batch_download"),
    path("batches/<int:batch_id>/send/", batches.batch_send, name="batch_send"),
]

"""Claim pages of the insurance app (included by urls.py under /insurance/)."""

from django.urls import path

from .views import claims

urlpatterns = [
    path("claims/", claims.claim_queue, name="claim_queue"),
    path("claims/denials/", claims.denial_queue, name="denial_queue"),
    path("claims/ready/", claims.ready_to_bill, name="claims_ready"),
    path("claims/print/", claims.claim_print_batch, name="claim_print_batch"),
    path("claims/<str:claim_id>/", claims.claim_detail, name="claim_detail"),
    path("claims/<str:claim_id>/scrub/", claims.claim_scrub_view, name="claim_scrub"),
    path("claims/<str:claim_id>/status/", claims.claim_transition_view, name="claim_transition"),
    path("claims/<str:claim_id>/assign/", claims.claim_assign_view, name="claim_assign"),
    path("claims/<str:claim_id>/note/", claims.claim_note_view, name="claim_note"),
    path("claims/<str:claim_id>/correct/", claims.claim_correct_view, name="claim_correct"),
    path("claims/<str:claim_id>/resend/", claims.claim_resend_view, name="claim_resend"),
    path("claims/<str:claim_id>/appeal/", claims.claim_appeal_view, name="claim_appeal"),
    path("claims/<str:claim_id>/appeal/outcome/", claims.claim_appeal_decide_view, name="claim_appeal_decide"),
    path("claims/<str:claim_id>/cms1500.pdf", claims.claim_cms1500, name="claim_cms1500"),
]

from django.urls import path

from .views import remittances as views

urlpatterns = [
    path("remittances/", views.remittance_list, name="remittance_list"),
    path("remittances/upload/", views.remittance_upload, name="remittance_upload"),
    path("remittances/exceptions/", views.exceptions_queue, name="remittance_exceptions"),
    path("remittances/exceptions/<int:remittance_claim_id>/resolve/", views.exception_resolve,
         name="remittance_exception_resolve"),
    path("remittances/<int:remittance_id>/", views.remittance_detail, name="remittance_detail"),
    path("remittances/claims/<int:remittance_claim_id>/denial/", views.denial_decide, name="remittance_denial_decide"),
]

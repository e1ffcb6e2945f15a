from django.contrib import admin
from django.urls import include, path

from clinicdesk.core import views as core_views

from .api import api

admin.site.site_header = "clinicdesk administration"
# The Django admin is for superusers only; staff work in the application's own pages.
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser
# ...and they sign in through allauth like everyone else (throttled, with the two-factor step).
admin.site.login = core_views.admin_login

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("practice/", include("clinicdesk.core.urls")),
    path("patients/", include("clinicdesk.patients.urls")),
    path("patients/", include("clinicdesk.fhir.urls_record")),
    path("schedule/", include("clinicdesk.scheduling.urls")),
    path("", include("clinicdesk.scheduling.urls_public")),
    path("messages/", include("clinicdesk.communications.urls")),
    path("", include("clinicdesk.communications.urls_public")),
    path("ledger/", include("clinicdesk.ledger.urls")),
    path("billing/", include("clinicdesk.billing.urls")),
    path("insurance/", include("clinicdesk.insurance.urls")),
    path("staff/", include("clinicdesk.staff.urls")),
    path("", include("clinicdesk.billing.urls_public")),
    path("roster/", include("clinicdesk.rostering.urls")),
    path("", include("clinicdesk.rostering.urls_public")),
    path("goals/", include("clinicdesk.goals.urls")),
    path("supplies/", include("clinicdesk.inventory.urls")),
    path("assets/", include("clinicdesk.inventory.assets.urls")),
    path("api/v1/", api.urls),
    path("fhir/R4/", include("clinicdesk.fhir.urls")),
    path("practice/fhir-tokens/", include("clinicdesk.fhir.urls_pages")),
    path("admin/", admin.site.urls),
]

handler403 = "clinicdesk.core.views.permission_denied"
handler404 = "clinicdesk.core.views.not_found"
handler400 = "clinicdesk.core.views.bad_request"
handler500 = "clinicdesk.core.views.server_error"

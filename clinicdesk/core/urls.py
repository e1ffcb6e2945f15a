from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export.csv", views.audit_log_export, name="audit_log_export"),
    path("users/", views.user_list, name="user_list"),
    path("users/new", views.user_create, name="user_create"),
    path("users/<int:user_id>/", views.user_edit, name="user_edit"),
    path("users/<int:user_id>/deactivate", views.user_deactivate, name="user_deactivate"),
    path("users/<int:user_id>/reactivate", views.user_reactivate, name="user_reactivate"),
    path("settings/", views.organization_settings, name="organization_settings"),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<int:token_id>/revoke", views.api_token_revoke, name="api_token_revoke"),
]

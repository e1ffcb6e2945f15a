from django.urls import path

from . import bulk_http, views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    # Before the resource patterns: "$export" is an operation, not a resource type.
    path("$export", bulk_http.export_kickoff, name="export"),
    path("$export/<uuid:export_id>", bulk_http.export_status, name="export_status"),
    path("$export/<uuid:export_id>/<str:file_name>", bulk_http.export_file, name="export_file"),
    path("<str:resource_type>", views.type_endpoint, name="type"),
    path("<str:resource_type>/<str:resource_id>", views.instance_endpoint, name="instance"),
]

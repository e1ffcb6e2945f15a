from django.urls import path

from . import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("<str:resource_type>", views.type_endpoint, name="type"),
    path("<str:resource_type>/<str:resource_id>", views.instance_endpoint, name="instance"),
]

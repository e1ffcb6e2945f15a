"""Pages anyone may open: online booking per location (/book/) and providers' secret calendar feeds (/feeds/)."""

from django.urls import path  # noqa: F401

app_name = "scheduling_public"

urlpatterns = []

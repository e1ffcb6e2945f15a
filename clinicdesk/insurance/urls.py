"""The insurance app's pages: each part keeps its own urls_<part>.py."""

from .urls_coverage import urlpatterns as _coverage

app_name = "insurance"

urlpatterns = [*_coverage]

"""The insurance app's pages: each sub-domain keeps its own urls_<part>.py."""

from .urls_contracts import urlpatterns as _contracts

app_name = "insurance"

urlpatterns = [*_contracts]

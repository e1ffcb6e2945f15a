"""Staff pages of the insurance app, under /insurance/: each sub-domain keeps its own urls_<name>.py."""

from .urls_claims import urlpatterns as _claims

app_name = "insurance"

urlpatterns = [*_claims]

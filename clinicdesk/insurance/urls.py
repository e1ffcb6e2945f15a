from .urls_eligibility import urlpatterns as _eligibility

app_name = "insurance"

urlpatterns = [*_eligibility]

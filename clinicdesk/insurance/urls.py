"""Staff pages of the insurance app, under /insurance/: each sub-domain keeps its own urls_<name>.py."""

from .urls_claims import urlpatterns as _claims
from .urls_contracts import urlpatterns as _contracts
from .urls_coverage import urlpatterns as _coverage
from .urls_eligibility import urlpatterns as _eligibility
from .urls_payer_rules import urlpatterns as _payer_rules
from .urls_remittances import urlpatterns as _remittances

app_name = "insurance"

urlpatterns = [*_coverage, *_eligibility, *_claims, *_remittances, *_contracts, *_payer_rules]
